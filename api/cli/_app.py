"""The Typer application every command module registers on, and its error handling.

Every :class:`~process_models.errors.OnethingError` becomes one red line on stderr and
exit code 2, in the command's language (``--lang``; Chinese by default: ``错误：…``) when
the error names its reason (:func:`api.i18n.error_line`), else in English as the domain
wrote it (``error: …``); any other error one red line naming its type, exit code 1 (a
database that cannot be reached is named by its URL, password hidden); ``--debug`` (or
``ONETHING_DEBUG=1``) shows the traceback instead. ``onething`` starts fast: :func:`run` imports
only the module of the command it runs (every module for help or an unknown name), and
heavy imports (networkx, Prefect, FastAPI) happen inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import import_module
from typing import Annotated, Any

import typer

from api.names import names_of

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
def _always_a_group(
    debug: bool = typer.Option(False, "--debug", help="show the traceback of an unexpected "
                                                      "error (or set ONETHING_DEBUG=1)"),
) -> None:
    """Keeps ``onething serve`` a subcommand when only the serve module is imported.

    ``--debug`` is read by :func:`run`, which handles the errors.
    """


EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 1
DEBUG_OPTION = "--debug"
DEBUG_VARIABLE = "ONETHING_DEBUG"
_SHOWN_CHARS = 300

#: The module under ``api.cli`` that registers each command and command group, in the
#: order ``onething --help`` lists them.
COMMAND_MODULES = {
    "validate": "procedures", "show": "procedures", "catalog": "procedures",
    "procedure": "procedures",
    "capacity": "capacity", "import-bpmn": "capacity", "export-bpmn": "capacity",
    "simulate": "simulate", "compare": "simulate", "portfolio": "simulate",
    "calendar": "calendar",
    "supervision": "supervision", "auto-rule": "supervision", "reform-tasks": "tasks",
    "import-table": "tables", "export-table": "tables",
    "registry": "registry",
    "audit": "audit", "fit": "audit", "demo-history": "audit",
    "discover": "logs", "fidelity": "logs",
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


LangOpt = Annotated[str, typer.Option(
    "--lang", help="language of the labels: zh (default) or en; names stay as written")]


def words(lang: str) -> dict[str, str]:
    """The labels of ``lang``: the pages' dictionary (:mod:`api.i18n`), so the CLI and the
    pages say the same thing; an unknown language is one line naming the choices."""
    from api.i18n import LANGUAGES, messages
    from process_models.errors import InvalidInput, did_you_mean

    if lang not in LANGUAGES:
        raise InvalidInput(f"unknown language '{lang}'; use {' or '.join(LANGUAGES)}",
                           path="--lang", suggestion=did_you_mean(lang, LANGUAGES))
    return messages(lang)


def on_limits(t: dict[str, str], limits: str) -> str:
    """The basis of the figures in words: "按承诺时限计" / "on committed limits"."""
    return t["limits.on"].format(limits=t[f"limits.{limits}"])


def path_names(proc: Any, path: list[str]) -> str:
    """A path of step ids as people read it: the steps' names joined by ``→`` (ids stay in
    JSON)."""
    names = names_of(proc)
    return " → ".join(names.get(step, step) for step in path)


def named(text: str, names: dict[str, str]) -> str:
    """``text`` with every word that is an id of ``names`` replaced by its name.

    >>> named("food_licence → signboard: dependency dropped",
    ...       {"food_licence": "食品经营许可", "signboard": "户外招牌"})
    '食品经营许可 → 户外招牌: dependency dropped'
    """
    import re

    return re.sub(r"[\w+-]+", lambda word: names.get(word[0], word[0]), text)


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


def _debugging(args: list[str]) -> bool:
    """Whether ``--debug`` comes before the command, or ``ONETHING_DEBUG`` is set."""
    before_command = args[:next((i for i, a in enumerate(args) if not a.startswith("-")),
                                len(args))]
    return DEBUG_OPTION in before_command or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def unexpected_error_line(error: BaseException) -> str:
    """One line for an error that is not ours: the database's URL and the fix when it cannot
    be reached, else the error's type and first line.

    >>> unexpected_error_line(ValueError("day is out of range for month"))
    'ValueError: day is out of range for month (run with --debug for the traceback)'
    """
    from flows.casework.store import DATABASE_NOTE

    database = next((note.removeprefix(DATABASE_NOTE) for note in
                     getattr(error, "__notes__", ()) if note.startswith(DATABASE_NOTE)), None)
    first_line = next(iter(str(getattr(error, "orig", None) or error).strip().splitlines()), "")
    if len(first_line) > _SHOWN_CHARS:
        first_line = first_line[:_SHOWN_CHARS] + "…"
    if database is not None:
        return (f"cannot use the database {database}: {first_line}; check "
                f"ONETHING_DATABASE_URL (or --database) and that the database server runs")
    return (f"{type(error).__name__}: {first_line} "
            f"(run with {DEBUG_OPTION} for the traceback)")


def _language(args: list[str]) -> str:
    """The language ``args`` ask for with ``--lang en`` or ``--lang=en`` (the last one
    given), else Chinese; an unknown one is Chinese too (:func:`words` refuses it).

    >>> _language(["validate", "x.yaml", "--lang", "en"]), _language(["show", "x"])
    ('en', 'zh')
    """
    from api.i18n import DEFAULT_LANGUAGE, LANGUAGES

    chosen: str = DEFAULT_LANGUAGE
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "--lang" and i + 1 < len(args) else \
            arg.removeprefix("--lang=") if arg.startswith("--lang=") else None
        if value is not None:
            chosen = value if value in LANGUAGES else DEFAULT_LANGUAGE
    return chosen


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; map our errors to one line and exit code 2, any other error to one
    line and exit code 1."""
    import warnings

    from process_models.errors import OnethingError

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        from rich.markup import escape

        console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(str(message))}")

    args = sys.argv[1:] if argv is None else list(argv)
    debug = _debugging(args)
    warnings.showwarning = show_warning
    try:
        register_commands([a for a in args if a != DEBUG_OPTION])
        app(args=args, prog_name="onething", standalone_mode=False)
    except OnethingError as e:
        from rich.markup import escape

        from api.i18n import error_line, messages

        language = _language(args)
        # the label in the line's language: English when the error names no reason
        worded = bool(e.reason) and f"error.{e.reason}" in messages(language)
        label = messages(language if worded else "en")["error.label"]
        console(stderr=True).print(f"[red]{escape(label)}[/red]{escape(error_line(e, language))}")
        return EXIT_BAD_INPUT
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        from typer._click.exceptions import ClickException
        from typer.exceptions import Abort

        if isinstance(e, ClickException):  # usage errors
            e.show()
            return e.exit_code
        if isinstance(e, Abort):  # Ctrl-C or end of input at a prompt
            return 130
        if debug:
            raise
        from rich.markup import escape

        console(stderr=True).print(f"[red]error:[/red] {escape(unexpected_error_line(e))}")
        return EXIT_UNEXPECTED
    return 0
