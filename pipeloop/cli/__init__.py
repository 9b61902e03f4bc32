"""The ``pipeloop`` command line: thin click commands that end in ``anyio.run``."""
