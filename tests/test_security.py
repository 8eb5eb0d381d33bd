"""Security of the service as an attacker would try it: no known signing secret, no files
outside the catalog through the pages, sessions and tokens that end at logout, login rate
limiting that survives restarts and counts spraying, and bodies capped before login.

The app runs on the ``engine`` fixture's database (SQLite and PostgreSQL) through the real
ASGI stack; the proxy-header test starts ``onething serve`` itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import itsdangerous
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

import api.security
from api.i18n import MESSAGES
from api.main import create_app
from api.security import LoginLimiter
from flows.casework.accounts import LoginFailure, User
from process_models.settings import SECRET_FILE, Settings, settings
from tests.api_fixtures import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ID_NUMBER = "11010519491231002X"


def _csrf(page) -> str:
    return CSRF.search(page.text).group(1)


def _login(client, username: str, password: str = PASSWORD):
    return client.post("/api/login/access-token",
                       data={"username": username, "password": password})


def _page_login(client, username: str, password: str = PASSWORD, **extra: str):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _csrf(client.get("/login")), **extra},
                       follow_redirects=False)


# --- the secret ---------------------------------------------------------------------------------


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The settings of a fresh embedded install: the default secret, data in tmp_path."""
    monkeypatch.setattr(settings, "data_dir", tmp_path)
    monkeypatch.setattr(settings, "secret_key", Settings.model_fields["secret_key"].default)
    return tmp_path


def test_a_token_and_a_cookie_signed_with_the_old_default_secret_are_refused(
        embedded, engine, accounts, prefect_harness):
    """A fresh app signs with a secret of its own, never the published 'changethis'."""
    admin = accounts["admin"]
    key = hashlib.sha256(b"onething access token|changethis").digest()
    token = jwt.encode({"sub": str(admin), "ep": 0,
                        "exp": datetime.now(UTC) + timedelta(days=3650)}, key, algorithm="HS256")
    cookie = itsdangerous.TimestampSigner("changethis").sign(base64.b64encode(json.dumps(
        {"user_id": admin, "epoch": 0, "csrf": "x", "since": int(time.time()),
         "seen": int(time.time())}).encode())).decode()
    with TestClient(create_app(engine, demo_accounts=False, relay=False)) as client:
        assert client.get("/api/users/me",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 401
        client.cookies.set("onething_session", cookie)
        answer = client.get("/board", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_generated_secret_is_private_to_its_owner_and_reused(embedded, engine, accounts,
                                                                 prefect_harness):
    """Generated into data_dir on the first start, mode 0600, the same after a restart: a
    token of the first app works on the second."""
    with TestClient(create_app(engine, demo_accounts=False, relay=False)) as client:
        token = _login(client, "admin").json()["access_token"]
    secret_file = embedded / SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    written = secret_file.read_text()
    with TestClient(create_app(engine, demo_accounts=False, relay=False)) as client:
        assert client.get("/api/users/me",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert secret_file.read_text() == written and len(written.strip()) >= 32


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_demo_accounts_are_never_created_on_postgresql(engine, prefect_harness):
    with TestClient(create_app(engine, secret_key="s" * 40, demo_accounts=True, relay=False)):
        pass
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []


# --- files outside the catalog and server paths -------------------------------------------------


@pytest.fixture
def leak(tmp_path) -> Path:
    """A procedure file outside the catalog holding a secret, and one that is no procedure."""
    (tmp_path / "leak.yaml").write_text(
        "id: leak\nname: DB_PASSWORD=hunter2\nversion: '1'\n"
        "departments: [{id: d, name: d}]\nmaterials: []\n"
        "steps: [{id: s, name: s, department: d, committed: {days: 1}}]\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text("database: {password: hunter2}\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def pages(app, client, accounts):
    """Identity → a TestClient logged in to the pages as that account."""

    def _as(username: str) -> TestClient:
        browser = TestClient(app)
        assert _page_login(browser, username).status_code == 303
        return browser

    return _as


@pytest.mark.parametrize("page", ["/desk", "/planner", "/desk/notice/"])
def test_the_pages_read_no_file_outside_the_catalog_and_show_no_server_path(pages, leak, page):
    """A traversing or overlong procedure id is an unknown procedure (404), never a file read,
    a 500 or the install folder in the page."""
    browser = pages("admin")
    relative = os.path.relpath(leak, ROOT / "process_models" / "catalog")
    ids = [f"{relative}/leak", f"{relative}/config", f"{leak}/leak", "A" * 300]
    for procedure_id in ids:
        answer = (browser.get(page + procedure_id) if page.endswith("/")
                  else browser.get(page, params={"procedure_id": procedure_id}))
        assert answer.status_code == 404, (procedure_id, answer.text[:300])
        assert "hunter2" not in answer.text and "database" not in answer.text
        assert str(ROOT) not in answer.text.replace(procedure_id, "")


# --- sessions and tokens end at logout ------------------------------------------------------------


def test_a_session_cookie_stops_working_after_logout(app, client, accounts):
    browser = TestClient(app)
    assert _page_login(browser, "desk").status_code == 303
    cookie = browser.cookies.get("onething_session")
    desk = browser.get("/desk")
    assert desk.status_code == 200
    assert browser.post("/logout", data={"csrf_token": _csrf(desk)},
                        follow_redirects=False).headers["location"] == "/login"
    replay = TestClient(app, cookies={"onething_session": cookie})
    answer = replay.get("/desk", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/desk"


def test_logging_out_ends_the_accounts_bearer_tokens_and_a_new_login_works(client, accounts):
    token = _login(client, "auditor").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/logout", headers=headers).status_code == 204
    answer = client.get("/api/users/me", headers=headers)
    assert answer.status_code == 401 and "logged out" in answer.json()["detail"]
    fresh = {"Authorization": f"Bearer {_login(client, 'auditor').json()['access_token']}"}
    assert client.get("/api/users/me", headers=fresh).status_code == 200


def test_a_deactivated_account_loses_its_page_session(app, client, accounts, engine):
    browser = TestClient(app)
    assert _page_login(browser, "auditor").status_code == 303
    with Session(engine) as session:
        user = session.get(User, accounts["auditor"])
        user.active = False
        session.add(user)
        session.commit()
    assert browser.get("/auditor", follow_redirects=False).status_code == 303


@pytest.fixture
def later(monkeypatch):
    """Move the pages' clock on by ``seconds``."""

    def _later(seconds: float) -> None:
        now = time.time() + seconds
        monkeypatch.setattr(api.security.time, "time", lambda: now)

    return _later


def test_an_idle_session_ends_and_the_login_page_says_why(app, client, accounts, later):
    browser = TestClient(app)
    assert _page_login(browser, "desk").status_code == 303
    later(settings.session_idle_minutes * 60 - 60)
    assert browser.get("/desk").status_code == 200
    later(settings.session_idle_minutes * 60 + 5)     # idle since the last request
    answer = browser.get("/desk")
    assert answer.url.path == "/login"
    assert MESSAGES["zh"]["login.expired"] in answer.text


def test_a_desk_form_sent_after_the_session_ended_comes_back_filled_in(app, client, accounts,
                                                                       engine, later):
    """The login page carries what was typed; after logging in the form shows it again (no
    'Method Not Allowed', nothing opened until the clerk sends it)."""
    browser = TestClient(app)
    assert _page_login(browser, "desk").status_code == 303
    desk = browser.get("/desk", params={"procedure_id": "newborn"})
    later(settings.session_idle_minutes * 60 + 5)
    answer = browser.post("/desk/cases", data={
        "csrf_token": _csrf(desk), "procedure_id": "newborn", "name": "张三",
        "id_number": ID_NUMBER, "phone": "13812345678", "address": "北京市东城区",
        "submitted": ["application_form"]})
    assert answer.status_code == 401 and "<form method=\"post\" action=\"/login\"" in answer.text
    assert MESSAGES["zh"]["login.expired"] in answer.text
    resume = re.search(r'name="resume" value="([^"]+)"', answer.text).group(1)
    back = _page_login(browser, "desk", resume=resume.replace("&#34;", '"'))
    assert back.status_code == 200
    for typed in ("张三", ID_NUMBER, "13812345678", "北京市东城区"):
        assert f'value="{typed}"' in back.text
    assert re.search(r'value="application_form" checked', back.text)
    with Session(engine) as session:
        assert session.exec(select(User).where(User.username == "desk")).one()
        from flows.casework.tables import Case
        assert session.exec(select(Case)).all() == []


@pytest.mark.parametrize("stale", ["session", "csrf"])
def test_a_decisions_reason_comes_back_after_an_ended_session_or_a_stale_form(
        app, client, accounts, engine, later, stale):
    """The clerk finds the reason typed and the materials ticked on the step it was for."""
    from flows import casework
    from process_models.catalog import load_catalog_procedure

    proc = load_catalog_procedure("restaurant")
    with Session(engine) as session:
        case_id = casework.open_case(
            session, proc, casework.Applicant("张三", ID_NUMBER),
            [i.material_id for i in casework.notification_list(proc)], now=datetime.now(UTC)).id
    browser = TestClient(app)
    assert _page_login(browser, "samr_clerk").status_code == 303
    page = browser.get(f"/cases/{case_id}")
    if stale == "session":
        later(settings.session_idle_minutes * 60 + 5)
    answer = browser.post(f"/cases/{case_id}/steps/business_licence/decision", data={
        "csrf_token": _csrf(page) if stale == "session" else "stale", "outcome": "supplement",
        "reason": "营业执照申请表缺少法人签字", "materials": ["articles"],
        "back": f"/cases/{case_id}"})
    if stale == "session":
        resume = re.search(r'name="resume" value="([^"]+)"', answer.text).group(1)
        answer = _page_login(browser, "samr_clerk", resume=resume.replace("&#34;", '"'))
    assert answer.status_code == 200
    assert 'value="营业执照申请表缺少法人签字"' in answer.text
    assert re.search(r'value="articles" checked', answer.text)
    assert "<details open>" in answer.text
    with Session(engine) as session:
        from flows.casework.tables import Decision
        assert session.exec(select(Decision)).all() == []


def test_a_stale_desk_form_comes_back_with_what_was_typed_in_chinese(app, client, accounts,
                                                                     engine):
    browser = TestClient(app)
    assert _page_login(browser, "desk").status_code == 303
    answer = browser.post("/desk/cases", data={
        "csrf_token": "from-before-logging-in-again", "procedure_id": "newborn",
        "name": "张三", "id_number": ID_NUMBER})
    assert answer.status_code == 403
    assert MESSAGES["zh"]["error.csrf"] in answer.text and "CSRF" not in answer.text
    assert 'value="张三"' in answer.text and f'value="{ID_NUMBER}"' in answer.text


# --- login rate limiting -------------------------------------------------------------------------


def test_failed_logins_survive_a_restart_of_the_service(engine, accounts, prefect_harness):
    """The failures are rows in the database: a new process (or a second one) counts them."""
    with TestClient(create_app(engine, secret_key="s" * 40, demo_accounts=False, relay=False)) as first:
        for _ in range(5):
            assert _login(first, "desk", "guess").status_code == 401
    with TestClient(create_app(engine, secret_key="s" * 40, demo_accounts=False, relay=False)) as second:
        answer = _login(second, "desk")
        assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


def test_spraying_many_usernames_from_one_address_is_limited(client, app, accounts):
    app.state.login_limiter = LoginLimiter(address_attempts=4)
    for n in range(4):
        assert _login(client, f"nobody{n}", "guess").status_code == 401
    assert _login(client, "planner").status_code == 429


def test_old_failures_are_forgotten_so_the_table_stays_small(engine, accounts):
    clock = iter([1000.0, 1001.0, 2000.0])
    limiter = LoginLimiter(window_seconds=300, clock=lambda: next(clock))
    with Session(engine) as session:
        limiter.failed(session, "x" * 5000, "10.0.0.1")
        limiter.failed(session, "y", "10.0.0.2")
        limiter.failed(session, "z", "10.0.0.3")
        rows = session.exec(select(LoginFailure)).all()
    assert [(row.username, row.address) for row in rows] == [("z", "10.0.0.3")]


# --- request bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_a_body_over_the_limit_is_refused_before_logging_in(client, streamed):
    """413, with or without a Content-Length, before the token is even looked at."""
    size = settings.max_request_bytes + 1
    body = (b"x" * 65536 for _ in range(size // 65536 + 1)) if streamed else b"x" * size
    answer = client.post("/api/cases", content=body,
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"the request body is over {settings.max_request_bytes} "
                                       "bytes; send less"}


@pytest.mark.parametrize(("lang", "line"), [
    ("", "提交的内容超过上限 2.1 MB；请拆分或精简后再提交"),
    ("?lang=en", "what you sent is over 2.1 MB; split or shorten it and send it again")])
def test_a_page_sent_too_much_answers_a_page_in_its_language(client, lang, line):
    """A browser posting a file over the limit to a page reads why on a page, not JSON."""
    answer = client.post(f"/workspace{lang}", content=b"x" * (settings.max_request_bytes + 1),
                         headers={"Content-Type": "multipart/form-data; boundary=x",
                                  "Accept": "text/html,application/xhtml+xml"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert f'<p class="flash error" role="alert">{line}</p>' in answer.text


def test_the_request_limit_leaves_room_for_the_largest_upload_and_its_form():
    from api.workspace import MAX_UPLOAD_BYTES

    assert settings.max_request_bytes >= MAX_UPLOAD_BYTES + 64 * 1024


# --- the real server: proxy headers ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a real `onething serve` in a child process
def test_rotating_x_forwarded_for_does_not_get_around_the_limit(tmp_path):
    """uvicorn believes no proxy header unless ONETHING_FORWARDED_ALLOW_IPS names the proxy."""
    env = {**{k: v for k, v in os.environ.items() if not k.upper().startswith("ONETHING_")},
           "ONETHING_DATA_DIR": str(tmp_path), "ONETHING_ENVIRONMENT": "test",
           "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-c", "from api.cli import main; main()"]
    subprocess.run([*cli, "user", "add", "planner2", "--role", "planner", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.5)
        codes = [httpx.post(f"{base}/api/login/access-token",
                            data={"username": "planner2", "password": f"wrong{n}"},
                            headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
                 for n in range(7)]
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert codes == [401] * 5 + [429] * 2
