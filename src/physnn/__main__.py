"""``python -m physnn``: the same as the ``physnn`` command."""

from physnn.cli import main

if __name__ == "__main__":
    main()
