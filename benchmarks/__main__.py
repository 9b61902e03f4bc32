"""``python -m benchmarks``.

Nothing is imported outside the guard: pipeloop's ParallelRunner workers re-import the main
module, and a worker should not pay for the benchmark machinery it never uses.
"""

if __name__ == "__main__":
    import sys

    from benchmarks.run import main

    sys.exit(main())
