"""The Typer application every command module registers on, and its error handling.

Every :class:`~process_models.errors.OnethingError` becomes one red line on stderr and
exit code 2; nothing prints a traceback. ``onething`` starts fast: :func:`run` imports
only the module of the command it runs (every module for help or an unknown name), and
heavy imports (networkx, Prefect, FastAPI) happen inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import import_module
from typing import Any

import typer

# numpy's OpenBLAS starts a spinning thread per core when imported, ~0.1 s of CPU a
# command; nothing here multiplies matrices. A value in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

app = typer.Typer(
    name="onething",
    help="Model, simulate, run and audit 一件事一次办 approval procedures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _always_a_group() -> None:
    """Keeps ``onething serve`` a subcommand when only the serve module is imported."""


EXIT_BAD_INPUT = 2

#: The module under ``api.cli`` that registers each command and command group, in the
#: order ``onething --help`` lists them.
COMMAND_MODULES = {
    "validate": "procedures", "show": "procedures", "catalog": "procedures",
    "procedure": "procedures",
    "capacity": "capacity", "import-bpmn": "capacity", "export-bpmn": "capacity",
    "simulate": "simulate", "compare": "simulate", "portfolio": "simulate",
    "calendar": "calendar",
    "import-table": "tables", "export-table": "tables",
    "audit": "audit", "fit": "audit", "demo-history": "audit",
    "case": "cases", "worker": "cases",
    "reform": "reform", "advise": "reform",
    "user": "users",
    "serve": "serve",
}


def register_commands(argv: list[str]) -> None:
    """Import the module of the command ``argv`` names, or every command module."""
    named = COMMAND_MODULES.get(argv[0]) if argv else None
    for module in [named] if named else dict.fromkeys(COMMAND_MODULES.values()):
        import_module(f"api.cli.{module}")


def console(stderr: bool = False):
    """A Rich console (imported lazily); wide when output goes to a file or a pipe."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def print_json(data: Any) -> None:
    """Stable JSON on stdout: UTF-8, two-space indent, keys in the order given."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print one red line on stderr and exit with ``code``."""
    console(stderr=True).print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    raise SystemExit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; map our errors to one line and exit code 2."""
    import warnings

    from process_models.errors import OnethingError

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        from rich.markup import escape

        console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(str(message))}")

    warnings.showwarning = show_warning
    register_commands(sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="onething", standalone_mode=False)
    except OnethingError as e:
        from rich.markup import escape

        console(stderr=True).print(f"[red]error:[/red] {escape(str(e))}")
        return EXIT_BAD_INPUT
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # usage errors from the click that Typer bundles
        from typer._click import exceptions as click_exceptions

        if isinstance(e, click_exceptions.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click_exceptions.Abort):
            return 130
        raise
    return 0
