"""The auditor's desk and the county view as pages: planned versus actual with its charts
(the figures ``onething audit actual`` prints), the audit chain verified with the first
tampered record named in Chinese, the case history downloaded as XES and OCEL, another
system's log audited from an upload, the county report of an uploaded list and the
portfolio over every bundle. Pages reading the store run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from api.auditing import actual_summary
from api.i18n import MESSAGES
from flows.casework.demo_history import demo_history
from flows.casework.tables import Decision
from process_models.catalog import load_catalog_procedure
from process_models.registry import demo_versions, save_registry

ZH = MESSAGES["zh"]
SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
"""For pages that read no case: the store's two databases are the other tests' business."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def history(engine, client) -> None:
    """Twelve 新生儿出生 cases run through the case handling from 2025-03-03 on."""
    with Session(engine) as session:
        demo_history(session, [load_catalog_procedure("newborn")], cases=12, seed=3)


@pytest.fixture
def auditor(page_login):
    return page_login("auditor")


def _csrf(browser) -> str:
    return CSRF.search(browser.get("/auditor").text).group(1)


def _between(text: str, start: str, end: str) -> str:
    """The page's text from ``start`` to ``end``, HTML entities read."""
    return html.unescape(text.split(start, 1)[1].split(end, 1)[0])


def test_planned_versus_actual_shows_each_chart_beside_its_table_with_its_basis(
        engine, history, auditor):
    """超期率 by month and department, where the days went: the figures of
    ``case_actuals`` (the CLI's), each chart an inline SVG with departments by name, each
    with its case count and the measured basis."""
    text = auditor.get("/auditor").text
    with Session(engine) as session:
        summary = actual_summary(session, as_of=date.today())
    headline = _between(text, 'id="actual-headline">', "<")
    assert f"{summary.cases} 件案件" in headline and f"超期 {summary.overdue_cases} 件" in headline
    assert "本系统案件记录实测" in _between(text, 'id="actual-basis">', "<")
    for chart in ("chart-month", "chart-department", "chart-days", "chart-split"):
        figure = _between(text, f'id="{chart}">', "</figure>")
        assert figure.startswith("<svg") and "实测" in figure, chart
    departments = _between(text, 'id="chart-department">', "</figure>")
    newborn = load_catalog_procedure("newborn")
    assert any(d.name in departments for d in newborn.departments)
    assert not any(f">{d.id}<" in departments for d in newborn.departments), "ids shown"
    months = _between(text, 'id="table-month">', "</table>")
    assert all(m in months for m in summary.by_month)


def test_a_desk_without_cases_says_so(auditor):
    assert ZH["actual.none"] in auditor.get("/auditor").text


def test_the_before_after_table_shows_days_rounded_to_a_tenth(auditor):
    """Calendar-day limits counted in working days are fractions; the page rounds them."""
    table = _between(auditor.get("/auditor").text, "<table", "</table>")
    assert "办理时间" in table and not re.search(r"\d\.\d{2,}", table)


def test_verify_names_the_first_tampered_record_its_case_and_what_broke(
        engine, history, auditor):
    """An intact chain is said to be intact; a decision's reason changed in the database
    names that decision's event, its case by number and 一件事, and the break in Chinese."""
    answer = auditor.post("/auditor/verify", data={"csrf_token": _csrf(auditor)})
    assert "审计链完整" in _between(answer.text, 'id="chain-result">', "<")
    with Session(engine) as session:
        decision_id, case_id = session.exec(
            select(Decision.id, Decision.case_id).order_by(Decision.id)).first()
        session.exec(update(Decision).where(Decision.id == decision_id)
                     .values(reason="改过的理由"))
        session.commit()
    answer = auditor.post("/auditor/verify", data={"csrf_token": _csrf(auditor)})
    result = _between(answer.text, 'id="chain-result">', "<")
    assert "审计链已损坏" in result
    assert case_id in result and "新生儿" in result
    assert ZH["chain.decision_changed"] in result
    assert re.search(r"第 \d+ 条记录", result)


@SQLITE_ONLY
def test_verifying_needs_the_form_token(auditor):
    assert auditor.post("/auditor/verify", data={"csrf_token": "x"}).status_code == 403


@pytest.mark.parametrize(("fmt", "starts"), [("xes", b"<?xml"), ("ocel-json", b"{")])
def test_the_case_history_downloads_as_an_event_log(history, auditor, fmt, starts):
    answer = auditor.get(f"/auditor/export/{fmt}")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.lstrip().startswith(starts)
    if fmt == "ocel-json":
        assert json.loads(answer.content)["events"]


@SQLITE_ONLY
def test_an_unknown_export_format_is_refused_with_the_formats_named(auditor):
    answer = auditor.get("/auditor/export/pdf")
    assert answer.status_code == 422 and "xes" in answer.text


def _log(cases: int = 12, *, late_every: int = 3) -> bytes:
    """A CSV log of ``cases`` two-event cases, one every other day from 2025-03-03; every
    ``late_every``-th one takes five days, the others one."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["办件编号", "环节", "时间"])
    for i in range(cases):
        start = datetime(2025, 3, 3, 9) + timedelta(days=2 * i)
        took = 5 if i % late_every == 0 else 1
        writer.writerow([f"B{i}", "受理", start.isoformat()])
        writer.writerow([f"B{i}", "办结", (start + timedelta(days=took)).isoformat()])
    return out.getvalue().encode("utf-8")


def _upload(browser, data: bytes, name: str = "other.csv", **fields: str):
    form = {"csrf_token": _csrf(browser), "case": "办件编号", "activity": "环节",
            "timestamp": "时间", "limit_days": "2", "limit_unit": "calendar", **fields}
    return browser.post("/auditor/log", data=form, files={"log": (name, data, "text/csv")})


@SQLITE_ONLY
def test_an_uploaded_log_gets_the_figures_audit_actual_log_prints(engine, auditor, run_cli,
                                                                  tmp_path):
    """超期率, P50/P90, the months and where the time goes, from the CLI's reader: the same
    share as ``audit actual --log``, with the log as basis."""
    path = tmp_path / "other.csv"
    path.write_bytes(_log())
    code, out, _ = run_cli("audit", "actual", "--log", path, "--case", "办件编号",
                           "--activity", "环节", "--timestamp", "时间", "--limit-days", "2",
                           "--limit-unit", "calendar", "--json")
    assert code == 0
    expected = json.loads(out)
    text = _upload(auditor, _log()).text
    result = _between(text, 'id="log-result">', "</section>")
    assert f"超期率 {100 * expected['overdue_share']:.1f}%" in result
    assert "依据：拟合自日志 other.csv（2025-03-03 至 2025-03-26，12 件案件）" in result
    assert "受理" in _between(result, 'id="log-activities">', "</table>")
    assert "2025-03" in _between(result, 'id="log-months">', "</table>")


@SQLITE_ONLY
@pytest.mark.parametrize(("fields", "name", "says"), [
    ({"timestamp": "提交时间"}, "other.csv", "提交时间"),
    ({"limit_days": ""}, "other.csv", "give the limit once"),
    ({"deadline": "截止"}, "other.csv", "give the limit once"),
    ({"limit_days": "二十"}, "other.csv", "limit_days"),
    ({"limit_unit": "weeks"}, "other.csv", "working or calendar"),
    ({}, "other.pdf", "不认识的文件类型「.pdf」"),
])
def test_a_log_the_desk_cannot_audit_is_one_chinese_line_naming_file_and_fix(
        auditor, fields, name, says):
    answer = _upload(auditor, _log(), name, **fields)
    assert answer.status_code == 422
    line = _between(answer.text, 'id="log-error">', "<")
    assert line.startswith(f"日志 {name} 无法审计") and says in line, line
    assert "/tmp" not in line and "Traceback" not in answer.text


@SQLITE_ONLY
def test_a_log_over_the_size_limit_is_refused_before_it_is_read(auditor, monkeypatch):
    import api.auditing

    monkeypatch.setattr(api.auditing, "MAX_LOG_BYTES", 100)
    line = _between(_upload(auditor, _log()).text, 'id="log-error">', "<")
    assert "文件超过上限 100 B" in line


@SQLITE_ONLY
@pytest.mark.parametrize("path", ["/auditor/export/xes"])
@pytest.mark.parametrize("identity", ["planner", "front_desk"])
def test_only_auditors_and_admins_read_the_case_record_as_a_log(page_login, identity, path):
    assert page_login(identity).get(path).status_code == 403


@SQLITE_ONLY
def test_a_planner_sees_the_before_after_table_but_not_the_case_record(page_login):
    text = page_login("planner").get("/auditor").text
    assert 'data-procedure="newborn"' in text and 'id="actual"' not in text


# --- the county view ------------------------------------------------------------------------


@SQLITE_ONLY
def test_the_county_page_draws_its_departments_by_name(auditor):
    text = auditor.get("/county").text
    chart = _between(text, 'id="chart-online">', "</figure>")
    assert chart.startswith("<svg") and "县公安局" in chart and "1038 项事项" in chart


@SQLITE_ONLY
def test_an_uploaded_county_list_gets_its_own_report(auditor, tmp_path):
    """A list written as the county keeps it (CSV) comes back as its report, against the
    uploaded before-version."""
    before, after = demo_versions(120, seed=5)
    save_registry(after, tmp_path / "县清单.csv")
    save_registry(before, tmp_path / "改革前.csv")
    answer = auditor.post("/county", data={"csrf_token": _csrf(auditor)}, files={
        "items": ("县清单.csv", (tmp_path / "县清单.csv").read_bytes(), "text/csv"),
        "before": ("改革前.csv", (tmp_path / "改革前.csv").read_bytes(), "text/csv")})
    assert answer.status_code == 200
    assert "政务服务事项120项" in _between(answer.text, 'id="headline">', "<")
    assert "对照改革前承诺时限" in answer.text


@SQLITE_ONLY
def test_a_county_list_with_a_bad_row_is_refused_with_the_row_named(auditor, tmp_path):
    _, after = demo_versions(60, seed=5)
    save_registry(after, tmp_path / "县清单.csv")
    lines = (tmp_path / "县清单.csv").read_text("utf-8-sig").splitlines()
    header = next(csv.reader([lines[1]]))   # under the list's title line
    row = next(csv.reader([lines[4]]))
    row[header.index("承诺时限")] = "很快"
    lines[4] = ",".join(row)
    answer = auditor.post("/county", data={"csrf_token": _csrf(auditor)}, files={
        "items": ("县清单.csv", "\n".join(lines).encode(), "text/csv")})
    assert answer.status_code == 422
    line = _between(answer.text, 'id="upload-error">', "<")
    assert line.startswith("清单无法读取") and "县清单.csv" in line and "很快" in line, line
    assert "/tmp" not in line


@SQLITE_ONLY
def test_the_portfolio_counts_every_bundle_before_and_after(auditor):
    from simulations.planning.audit_report import audit_report, load_pairs

    totals = audit_report(load_pairs([])).totals
    text = auditor.get("/portfolio").text
    assert totals.headline() in text
    chart = _between(text, 'id="chart-portfolio">', "</figure>")
    assert chart.startswith("<svg") and "新生儿" in chart and f"{totals.items} 个一件事" in chart


@SQLITE_ONLY
def test_the_front_desk_may_not_read_the_portfolio(page_login):
    assert page_login("front_desk").get("/portfolio").status_code == 403


def test_every_break_the_chain_tells_apart_has_words_in_both_languages():
    """The page says what broke from ``chain.<kind>``; a kind raised without words would
    show its code."""
    import inspect

    from flows.casework import audit_chain

    raised = set(re.findall(r'"(\w+)"(?:, [\w.]+)?\)', inspect.getsource(audit_chain)))
    assert set(audit_chain.BREAKS) <= raised
    for words in MESSAGES.values():
        assert {f"chain.{kind}" for kind in audit_chain.BREAKS} <= words.keys()


@SQLITE_ONLY
@pytest.mark.parametrize(("path", "keys"), [
    ("/auditor", ["actual.title", "actual.none", "chain.verify", "logaudit.title",
                  "logaudit.limit_days", "export.ocel"]),
    ("/county", ["county.upload", "county.chart_online", "county.upload_before"]),
    ("/portfolio", ["portfolio.chart", "portfolio.saved"])])
def test_the_desk_speaks_english_when_asked(auditor, path, keys):
    """The new sections' words come from the dictionary, in the visitor's language."""
    text = html.unescape(auditor.get(f"{path}?lang=en").text)
    for key in keys:
        assert MESSAGES["en"][key].split("{")[0] in text and ZH[key] not in text, key
    assert MESSAGES["en"]["notice.print"] in text


@SQLITE_ONLY
def test_the_api_audits_an_uploaded_log_as_the_page_does(client, auth):
    """``POST /api/audit/log``: the figures of ``audit actual --log`` as JSON, basis fitted."""
    answer = client.post("/api/audit/log", headers=auth["auditor"], data={
        "case": "办件编号", "activity": "环节", "timestamp": "时间", "limit_days": "2",
        "limit_unit": "calendar"}, files={"file": ("other.csv", _log(), "text/csv")})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["basis"] == "fitted" and result["cases"] == 12
    assert result["overdue_cases"] == 4 and result["overdue_share"] == round(4 / 12, 4)
