"""``python -m pipeloop.cli``: the same as the ``pipeloop`` command."""

from pipeloop.cli.main import main

if __name__ == "__main__":
    main()
