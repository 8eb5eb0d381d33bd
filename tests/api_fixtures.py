"""Fixtures of the HTTP API tests: the app on the ``engine`` fixture's database, accounts,
bearer tokens, and cases opened through the domain for the routes to act on.

Cases opened here use the catalog's 开办餐饮店 (``restaurant``): five steps one after
another, four departments (market regulation twice, CDC, urban management, fire), every
step issuing a certificate; one 容缺 material (the staff photo) is left owed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

from api.main import create_app
from api.security import create_access_token, hash_password
from flows import casework
from flows.casework.accounts import add_user
from process_models.catalog import load_catalog_procedure

SECRET_KEY = "api-tests-" + "k" * 32
PASSWORD = "correct horse battery staple"
PROCEDURE_ID = "restaurant"
ID_NUMBER = "11010519491231002X"
DEFERRED_MATERIAL = "staff_photo"
STEPS = ["business_licence", "health_certificate", "food_licence", "signboard",
         "fire_inspection"]

def small_procedure_yaml(procedure_id: str) -> str:
    """A one-step procedure as YAML, for upload tests."""
    return f"""\
id: {procedure_id}
name: 开店
version: "1"
departments: [{{id: samr, name: 市场监管局}}]
materials: [{{id: id_card, name: 身份证}}]
steps:
  - {{id: licence, name: 营业执照, department: samr, committed: {{days: 3}}, materials: [id_card]}}
"""


ACCOUNTS = {
    "front_desk": ("desk", "front_desk", []),
    "clerk": ("samr_clerk", "clerk", ["samr"]),
    "other_clerk": ("cdc_clerk", "clerk", ["cdc"]),
    "planner": ("planner", "planner", []),
    "auditor": ("auditor", "auditor", []),
    "supervisor": ("supervisor", "supervisor", []),
    "admin": ("admin", "admin", []),
}
"""Test identity → (username, role, departments); ``other_clerk`` decides CDC steps only."""


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of :data:`PASSWORD` (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def app(engine):
    """The service on the test database, without demo accounts, and without the outbox
    relay, so that the rows a test leaves pending stay as it left them
    (``tests/test_service.py`` runs the relay)."""
    return create_app(engine, secret_key=SECRET_KEY, demo_accounts=False, relay=False)


@pytest.fixture
def client(app, prefect_harness):
    """A TestClient of :func:`app` (start-up migrations run), Prefect on the test harness."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def accounts(engine, password_hash) -> dict[str, int]:
    """Identity → user id of one account per entry of :data:`ACCOUNTS`, password
    :data:`PASSWORD`."""
    made = {}
    with Session(engine) as session:
        for identity, (username, role, departments) in ACCOUNTS.items():
            made[identity] = add_user(session, username, password_hash=password_hash,
                                      role=role, departments=departments,
                                      now=datetime.now(UTC)).id
    return made


@pytest.fixture
def auth(accounts) -> dict[str, dict[str, str]]:
    """Identity → ``Authorization`` header with a bearer token of that account."""
    return {identity: {"Authorization": "Bearer " + create_access_token(
        user_id, secret_key=SECRET_KEY)} for identity, user_id in accounts.items()}


def open_restaurant_case(engine, *, all_materials: bool = False) -> str:
    """Open a ``restaurant`` case through the domain: accepted, the business licence step
    pending, the staff photo owed under 容缺 unless ``all_materials``."""
    proc = load_catalog_procedure(PROCEDURE_ID)
    materials = [i.material_id for i in casework.notification_list(proc)
                 if all_materials or i.material_id != DEFERRED_MATERIAL]
    with Session(engine) as session:
        case = casework.open_case(
            session, proc, casework.Applicant("张三", ID_NUMBER, address="北京市东城区",
                                              phone="13812345678"),
            materials, now=datetime.now(UTC))
        return case.id


@pytest.fixture
def case_id(engine, client) -> str:
    """An accepted ``restaurant`` case (opened after the app migrated the database)."""
    return open_restaurant_case(engine)


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: equal snapshots mean nothing changed."""
    with Session(engine) as session:
        return {table.name: sorted(map(tuple, session.execute(table.select()).all()), key=repr)
                for table in SQLModel.metadata.sorted_tables}


@pytest.fixture
def page_login(app, client, accounts):
    """Identity → a TestClient logged in to the web pages as that account (its own cookies)."""
    import re

    token = re.compile(r'name="csrf_token" value="([^"]+)"')

    def _login(identity: str) -> TestClient:
        browser = TestClient(app)
        form = browser.get("/login")
        answer = browser.post("/login", data={
            "username": ACCOUNTS[identity][0], "password": PASSWORD,
            "csrf_token": token.search(form.text).group(1), "next": "/"},
            follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return browser

    return _login

