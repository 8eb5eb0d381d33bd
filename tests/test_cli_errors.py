"""The CLI's catch-all and ``onething serve``'s refusals, each run as a real subprocess:
our errors are one red line and exit code 2, anything else one line naming the error and
exit code 1, a traceback only on request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test runs the CLI in a child process

ROOT = Path(__file__).resolve().parent.parent

FAILING_COMMAND = """\
import sys
import typer
from api.cli._app import app, run
from process_models.errors import InvalidInput

@app.command()
def fails(kind: str) -> None:
    if kind == "unexpected":
        raise ValueError("day is out of range for month")
    if kind == "domain":
        raise InvalidInput("no such thing", path="--kind")
    if kind == "abort":
        raise typer.Abort()

sys.exit(run(sys.argv[1:]))
"""


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a command run on a fresh data folder, no ``ONETHING_`` leftovers."""
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("ONETHING_")}
    return {**env, "ONETHING_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **extra}


def _run(tmp_path: Path, *args: str, code: str | None = None, **extra: str):
    command = [sys.executable, "-c", code] if code else [
        sys.executable, "-c", "from api.cli import main; main()"]
    return subprocess.run([*command, *args], check=False, cwd=tmp_path,
                          env=_environment(tmp_path, **extra), capture_output=True, text=True,
                          timeout=120)


def _failing(tmp_path: Path, *args: str, **extra: str):
    script = tmp_path / "failing_cli.py"
    script.write_text(FAILING_COMMAND, encoding="utf-8")
    return _run(tmp_path, *args, code=f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                f"exec(open({str(script)!r}).read())", **extra)


def test_an_unexpected_error_is_one_line_naming_its_type_with_exit_code_1(tmp_path):
    result = _failing(tmp_path, "fails", "unexpected")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [(
        "error: ValueError: day is out of range for month (run with --debug for the "
        "traceback)")]


@pytest.mark.parametrize("how", ["option", "variable"])
def test_debug_shows_the_traceback_of_an_unexpected_error(tmp_path, how):
    """``--debug`` before the command, or ``ONETHING_DEBUG=1``, lets the traceback through."""
    args = ("--debug", "fails", "unexpected") if how == "option" else ("fails", "unexpected")
    result = _failing(tmp_path, *args, **({"ONETHING_DEBUG": "1"} if how == "variable" else {}))
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().endswith("ValueError: day is out of range for month")


def test_a_domain_error_stays_one_line_with_exit_code_2(tmp_path):
    result = _failing(tmp_path, "fails", "domain")
    assert (result.returncode, result.stderr.strip()) == (2, "error: --kind: no such thing")


def test_an_abort_at_a_prompt_exits_130_without_a_traceback(tmp_path):
    result = _failing(tmp_path, "fails", "abort")
    assert result.returncode == 130 and "Traceback" not in result.stderr


def test_a_usage_error_is_clicks_message_with_exit_code_2(tmp_path):
    result = _failing(tmp_path, "fails")
    assert result.returncode == 2 and "Missing argument 'kind'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    result = _run(tmp_path, "user", "list",
                  ONETHING_DATABASE_URL="postgresql://postgres:hunter2@127.0.0.1:1/onething")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith("error: cannot use the database "
                           "postgresql+psycopg://postgres:***@127.0.0.1:1/onething: ")
    assert line.endswith("check ONETHING_DATABASE_URL (or --database) and that the database "
                         "server runs")
    assert "hunter2" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_bad_setting_is_one_line_naming_its_variable(tmp_path):
    result = _run(tmp_path, "user", "list", ONETHING_YELLOW_SHARE="5")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: ONETHING_YELLOW_SHARE: Input should be less "
                                     "than 1 (got '5'); fix or unset it")


def test_a_database_url_that_is_not_one_is_one_line(tmp_path):
    result = _run(tmp_path, "user", "list", ONETHING_DATABASE_URL="notaurl://x")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: database URL: 'notaurl://x' is not a "
                                            "database URL")


# --- serve refuses before it starts anything ---------------------------------------------------

WEAK = "the secret is a published example or shorter than 32 characters"


@pytest.mark.parametrize(("args", "environment", "message"), [
    (["--host", "0.0.0.0"], {},
     "no secret is set, and serving an address other than 127.0.0.1 needs one"),
    ([], {"ONETHING_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"},
     "no secret is set, and serving a PostgreSQL database needs one"),
    ([], {"ONETHING_ENVIRONMENT": "production"},
     "no secret is set, and serving production needs one"),
    ([], {"ONETHING_SECRET_KEY": "changethis"}, WEAK),
    (["--host", "0.0.0.0"], {"ONETHING_SECRET_KEY": "x" * 31}, WEAK),
])
def test_serve_refuses_a_missing_or_weak_secret_in_one_line(tmp_path, args, environment,
                                                             message):
    """Only the embedded mode on 127.0.0.1 may use the secret generated into data_dir."""
    result = _run(tmp_path, "serve", "--port", "1", *args, **environment)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: ONETHING_SECRET_KEY: {message}")
    assert not (tmp_path / "onething.db").exists()


def test_serve_on_a_busy_port_says_so_before_touching_the_database(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run(tmp_path, "serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: --port: cannot listen on 127.0.0.1:{port} "
                                            "(Address already in use)")
    assert not (tmp_path / "onething.db").exists()
