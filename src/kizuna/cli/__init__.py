"""The ``kizuna`` command: ``run``, ``draw`` and ``info`` on OpenQASM 2 files; ``devices``.

``main(argv)`` runs the command in-process and returns the exit status: 0 on success, 1 for
an error Kizuna or the file system reports (one ``kizuna: error: ...`` line on stderr, no
traceback), 2 for a usage error (click's usage message). ``run_main()`` is the console-script
entry point. Data goes to stdout, notes and errors to stderr; ``--json`` prints one JSON
document. Set ``KIZUNA_DEBUG=1`` to see the traceback of an unexpected error.

typer and rich are imported in this package only: ``import kizuna`` never
loads them. Nothing in Kizuna imports this package.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

__all__ = ["main", "run_main"]


def _version() -> str:
    try:
        import kizuna

        return kizuna.__version__
    except (ImportError, AttributeError):  # pragma: no cover - a broken install
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("kizuna")
        except PackageNotFoundError:
            return "unknown"


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"kizuna {_version()}\n")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Kizuna: run, draw and inspect OpenQASM 2 circuits."""


def _build_app() -> typer.Typer:
    from . import devices, draw, info, net, qec, qkd, run, sense, service

    app = typer.Typer(
        name="kizuna",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    app.command("run")(run.run)
    app.command("draw")(draw.draw)
    app.command("info")(info.info)
    app.command("devices")(devices.devices)
    app.add_typer(net.app, name="net")
    app.add_typer(qec.app, name="qec")
    app.add_typer(qkd.app, name="qkd")
    app.add_typer(sense.app, name="sense")
    app.command("serve")(service.serve)
    app.command("worker")(service.worker)
    app.command("submit")(service.submit)
    app.command("jobs")(service.jobs)
    app.command("result")(service.result)
    app.command("cancel")(service.cancel)
    app.add_typer(service.admin_app, name="admin")
    return app


def _click_exceptions():
    """The exceptions module of the click that typer runs on (recent typer vendors click)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


def _error(message: str) -> int:
    message = " ".join(str(message).split("\n"))  # one line, whatever the message holds
    sys.stderr.write(f"kizuna: error: {message}\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the ``kizuna`` command with ``argv`` (default ``sys.argv[1:]``); return the exit
    status instead of exiting.

    Example:
        >>> main(["--version"])  # doctest: +ELLIPSIS
        kizuna ...
        0
    """
    from kizuna.errors import KizunaError

    from ._common import CliError

    click_errors = _click_exceptions()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        command = typer.main.get_command(_build_app())
        rv = command.main(args=args, prog_name="kizuna", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click_errors.UsageError as e:
        e.show()
        return e.exit_code
    except click_errors.ClickException as e:
        e.show()
        return e.exit_code
    except typer.Abort:
        return _error("aborted")
    except (CliError, KizunaError) as e:
        return _error(str(e))
    except KeyboardInterrupt:
        sys.stderr.write("kizuna: interrupted\n")
        return 130
    except MemoryError as e:
        return _error(f"out of memory: {e}")
    except OSError as e:
        return _error(f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}")
    except Exception as e:  # an unexpected failure is still one line, unless debugging
        if os.environ.get("KIZUNA_DEBUG"):
            raise
        return _error(f"internal error: {type(e).__name__}: {e} (set KIZUNA_DEBUG=1 for the traceback)")


def run_main() -> None:
    """Console-script entry point: ``sys.exit(main())``."""
    sys.exit(main())
