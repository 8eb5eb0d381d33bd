"""An auditor at the desk in a real browser: planned versus actual with its charts, the audit
chain verified (intact, then with one tampered record named), another system's log uploaded
and audited, the county view; in Chinese, names not ids, nothing scrolling sideways at
390 px. Screenshots go to ``tests/artifacts/browser/auditor-*.png``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from api.security import hash_password
from flows.casework.accounts import add_user
from flows.casework.demo_history import demo_history
from flows.casework.tables import Case
from process_models.catalog import load_catalog_procedure
from tests.test_browser import (  # noqa: F401  (browser, engine, log_in: fixtures)
    BROWSER_MARKS,
    CHROMIUM,
    PASSWORD,
    _shot,
    _sideways,
    browser,
    engine,
    log_in,
    serve,
)

pytestmark = BROWSER_MARKS

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def base_url(engine, prefect_harness):  # noqa: F811
    """The service, started once the database holds an auditor and 30 cases of 新生儿出生
    run through the case handling; without the outbox relay, which would work through the
    history's hundreds of pending rows on the same SQLite file while the auditor logs in
    (the auditor changes no case)."""
    from api.main import create_app

    with Session(engine) as session:
        add_user(session, "auditor", password_hash=hash_password(PASSWORD), role="auditor",
                 now=datetime.now(UTC))
        demo_history(session, [load_catalog_procedure("newborn")], cases=30, seed=7)
    with serve(create_app(engine, secret_key="browser-tests-" + "k" * 32,
                          demo_accounts=False, relay=False)) as url:
        yield url


@pytest.fixture(scope="module")
def auditor(log_in):  # noqa: F811
    """The auditor's page, logged in."""
    return log_in("auditor")


def _chinese(page, selector: str = "main") -> None:
    """No English word and no case id in what the page shows at ``selector``."""
    text = re.sub(r"\S+\.csv", "", page.inner_text(selector))   # the uploaded file's name
    words = re.findall(r"[A-Za-z]{3,}", text.replace("XES", "").replace("OCEL", "")
                       .replace("JSON", "").replace("CSV", "").replace("YAML", "")
                       .replace("XLSX", "").replace("onething", ""))
    assert not words, words


def _both_widths(page, name: str) -> None:
    assert _sideways(page) == [], "at 1280 px"
    _shot(page, f"auditor-{name}")
    page.set_viewport_size(PHONE)
    assert _sideways(page) == [], "at 390 px"
    _shot(page, f"auditor-{name}-390px")
    page.set_viewport_size(WIDE)


def _log_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["办件编号", "环节", "时间"])
    for i in range(20):
        start = datetime(2025, 4, 1, 9) + timedelta(days=i)
        writer.writerow([f"W{i}", "受理", start.isoformat()])
        writer.writerow([f"W{i}", "审核", (start + timedelta(hours=20)).isoformat()])
        writer.writerow([f"W{i}", "办结", (start + timedelta(days=1 + i % 4)).isoformat()])
    return out.getvalue().encode()


def test_an_auditor_walks_planned_versus_actual_the_chain_and_a_log(engine, auditor,  # noqa: F811
                                                                    tmp_path):
    page = auditor
    page.goto("/auditor")
    assert page.locator("#chart-month svg rect").count() > 0
    assert page.locator("#chart-department svg text").count() > 0
    assert "超期率" in page.inner_text("#actual-headline")
    assert "实测" in page.inner_text("#actual-basis")
    _chinese(page, "#actual")
    _both_widths(page, "actual")

    page.click("#verify")
    page.wait_for_load_state()
    assert "审计链完整" in page.inner_text("#chain-result")
    with Session(engine) as session:
        case_id = session.exec(select(Case.id).order_by(Case.id)).first()
        session.exec(update(Case).where(Case.id == case_id).values(applicant_name="李四改"))
        session.commit()
    page.click("#verify")
    page.wait_for_load_state()
    broken = page.inner_text("#chain-result")
    assert "审计链已损坏" in broken and case_id in broken and "新生儿" in broken, broken
    assert "申请人或事项被修改" in broken
    page.locator("#chain").scroll_into_view_if_needed()
    _both_widths(page, "chain-broken")

    path = tmp_path / "其他系统.csv"
    path.write_bytes(_log_csv())
    page.fill("input[name=case]", "办件编号")
    page.fill("input[name=activity]", "环节")
    page.fill("input[name=timestamp]", "时间")
    page.fill("input[name=limit_days]", "2")
    page.set_input_files("input[name=log]", str(path))
    page.click("#audit-log")
    page.wait_for_load_state()
    result = page.inner_text("#log-result")
    assert "超期率" in result and "P50" in result and "其他系统.csv" in result
    assert page.locator("#log-result svg rect").count() > 0
    _chinese(page, "#log-audit")
    page.locator("#log-audit").scroll_into_view_if_needed()
    _both_widths(page, "log")

    page.set_input_files("input[name=log]", str(path))
    page.fill("input[name=timestamp]", "提交时间")
    page.click("#audit-log")
    page.wait_for_load_state()
    assert page.inner_text("#log-error").startswith("日志 其他系统.csv 无法审计")


def test_the_county_view_and_the_portfolio(auditor):
    page = auditor
    page.goto("/county")
    assert "县公安局" in page.inner_text("#chart-online")
    _both_widths(page, "county")
    page.goto("/portfolio")
    assert page.locator("#chart-portfolio svg rect").count() > 0
    _chinese(page)
    _both_widths(page, "portfolio")
