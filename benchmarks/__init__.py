"""pipeloop's benchmark suite: runner policies side by side, and pipeloop against Kedro.

Run it with ``python -m benchmarks --help``; see ``benchmarks/README.md`` for what each
workload measures and the latest figures. Not part of the installed package.
"""
