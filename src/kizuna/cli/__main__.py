"""``python -m kizuna.cli``: the same as the ``kizuna`` command."""

from . import run_main

if __name__ == "__main__":
    run_main()
