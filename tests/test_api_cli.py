"""``onething user add|list`` and ``onething serve``."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from process_models.settings import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def data_dir(tmp_path, monkeypatch, sqlite_template):
    """The CLI's embedded database in a folder of this test (a copy of the session's
    migrated template, so no command migrates it again)."""
    monkeypatch.setattr(settings, "data_dir", tmp_path)
    shutil.copyfile(sqlite_template, tmp_path / "onething.db")
    return tmp_path


def _add(run_cli, monkeypatch, *args, password="long enough secret"):
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return run_cli("user", "add", *args, "--password-stdin")


def test_user_add_creates_a_clerk_for_its_departments_with_a_hashed_password(
        run_cli, monkeypatch, data_dir):
    from sqlmodel import Session

    from api.security import authenticate
    from flows.casework.store import make_engine

    code, out, _ = _add(run_cli, monkeypatch, "wang", "--role", "clerk",
                        "--department", "police", "--department", "hospital")
    assert code == 0 and "user wang: clerk for police, hospital" in out
    code, out, _ = run_cli("user", "list", "--json")
    assert json.loads(out) == [{"username": "wang", "role": "clerk",
                                "departments": ["police", "hospital"], "active": True}]
    engine = make_engine()
    with Session(engine) as session:
        user = authenticate(session, "wang", "long enough secret")
        assert user is not None and user.password_hash.startswith("$argon2id$")
    engine.dispose()


@pytest.mark.parametrize("args, message", [
    (["li", "--role", "auditr"], ("unknown role 'auditr'; use one of front_desk, clerk, "
                                  "planner, auditor, supervisor, admin (did you mean 'auditor'?)")),
    (["li", "--role", "clerk"], "give at least one with --department"),
    (["li", "--role", "clerk", "--department", "polce"],
     "unknown department 'polce'; no procedure has it (did you mean 'police'?)"),
    (["li", "--role", "planner", "--department", "police"], "only clerks are scoped"),
    (["li li", "--role", "planner"], "username 'li li' must be"),
])
def test_user_add_refuses_bad_input_in_one_line(run_cli, monkeypatch, data_dir, args, message):
    code, _, err = _add(run_cli, monkeypatch, *args)
    assert code == 2 and message in " ".join(err.split())
    assert json.loads(run_cli("user", "list", "--json")[1]) == []


def test_user_add_refuses_a_short_password_and_an_existing_name(run_cli, monkeypatch, data_dir):
    code, _, err = _add(run_cli, monkeypatch, "li", "--role", "auditor", password="short")
    assert code == 2 and "shorter than 8 characters" in err
    assert _add(run_cli, monkeypatch, "li", "--role", "auditor")[0] == 0
    code, _, err = _add(run_cli, monkeypatch, "li", "--role", "admin")
    assert code == 2 and "user 'li' already exists" in err


def test_a_refused_user_add_never_computes_the_password_hash(run_cli, monkeypatch, data_dir):
    """The slow argon2 hash is paid only for an account that is created."""
    import api.security

    hashed: list[str] = []
    real_hash = api.security.hash_password
    monkeypatch.setattr(api.security, "hash_password",
                        lambda password: hashed.append(password) or real_hash(password))
    assert _add(run_cli, monkeypatch, "li", "--role", "auditor")[0] == 0
    assert _add(run_cli, monkeypatch, "li", "--role", "admin")[0] == 2
    assert _add(run_cli, monkeypatch, "wu", "--role", "clerk", "--department", "polce")[0] == 2
    assert len(hashed) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_prints_the_demo_accounts_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {**os.environ, "ONETHING_DATA_DIR": str(tmp_path), "ONETHING_ENVIRONMENT": "development"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as answer:
                    health = json.load(answer)
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.5)
        else:
            pytest.fail("the service did not answer")
        login = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/login/access-token",
            data=b"username=auditor&password=auditor-demo", method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(login) as answer:
            assert json.load(answer)["token_type"] == "bearer"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert health == {"status": "ok", "database": "sqlite"}
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}" in output and "auditor    password auditor-demo" in output
    assert "Application shutdown complete" in output


def test_the_command_table_names_the_module_that_registers_every_command_and_group():
    from api.cli._app import COMMAND_MODULES, app, register_commands

    register_commands([])
    registered = {c.name or c.callback.__name__.replace("_", "-"): c.callback.__module__
                  for c in app.registered_commands}
    registered |= {g.name or g.typer_instance.info.name:
                   g.typer_instance.registered_commands[0].callback.__module__
                   for g in app.registered_groups}
    assert registered == {name: f"api.cli.{module}" for name, module in COMMAND_MODULES.items()}
