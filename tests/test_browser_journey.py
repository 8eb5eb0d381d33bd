"""The whole applicant journey in a real browser, across the applicant's 390 px phone and the
staff's screens: an enterprise applies for 企业开办 without one key material and is asked for
it (待补正), uploads it, each department's clerk approves its step in the inbox, the
certificates are issued at once, the applicant checks one on the public page and rates the
case 不满意, and the 差评's follow-up shows on the staff's 好差评 page with its due date.

Every step is checked as a person sees it (Chinese, names not ids, nothing scrolling
sideways on the phone) and saved as ``tests/artifacts/browser/journey-*.png``.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from flows.casework.tables import Case, Certificate, RatingFollowUp
from tests.test_browser import (  # noqa: F401  (browser, engine, log_in: fixtures)
    BROWSER_MARKS,
    CHROMIUM,
    STARTUP,
    _flash,
    _shot,
    _sideways,
    browser,
    engine,
    log_in,
    serve,
)
from tests.test_browser_applicant import PNG, Outbox, _chinese_only, _plain, applicant_on_phone

ENTERPRISE = "某某科技有限公司"

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture(scope="module")
def base_url(engine, prefect_harness, outbox, tmp_path_factory):  # noqa: F811
    """The service of :func:`tests.test_browser.engine` (staff of every department of the
    bundle) with the SMS outbox; uploads under a temporary folder."""
    from api.main import create_app
    from process_models.settings import settings

    data_dir, settings.data_dir = settings.data_dir, tmp_path_factory.mktemp("uploads")
    with serve(create_app(engine, secret_key="browser-tests-" + "k" * 32, demo_accounts=False, relay=False,
                          sms_sender=outbox)) as url:
        yield url
    settings.data_dir = data_dir


def test_an_enterprise_goes_from_its_phone_to_certificates_and_a_followed_up_rating(
        engine, browser, base_url, outbox, log_in, tmp_path):  # noqa: F811
    """补正, decisions, certificates, the public check and the 差评's follow-up, end to end."""
    applicant = applicant_on_phone(browser, base_url, outbox, "journey-00-login-390px")

    # Applying without the first key material: the case waits for it (待补正).
    applicant.goto(f"/applicant/apply/{STARTUP.id}")
    applicant.fill("input[name=name]", ENTERPRISE)
    applicant.fill("input[name=legal_representative]", "李四")
    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    files = applicant.locator("label.file")
    missing = files.filter(has=applicant.locator(".tag.key")).first.inner_text().split()[0]
    for index in range(files.count()):
        label = files.nth(index)
        if label.inner_text().split()[0] != missing:
            label.locator("input[type=file]").set_input_files(str(scan))
    _chinese_only(applicant)
    _shot(applicant, "journey-01-apply-390px")
    applicant.click("button:has-text('提交申请')")
    applicant.wait_for_url(re.compile(r"/applicant/cases/C-\d{8}-\d{4}$"))
    case_id = applicant.url.rsplit("/", 1)[1]
    text = _plain(applicant)
    assert "待补正" in text and "还需补交的材料" in text and missing in text
    _chinese_only(applicant)
    _shot(applicant, "journey-02-supplement-asked-390px")

    # The missing material uploaded: the case is accepted and goes to the departments.
    applicant.locator("form.card input[type=file]").first.set_input_files(str(scan))
    applicant.locator("form.card button").first.click()
    applicant.wait_for_load_state()
    assert "材料已上传" in _plain(applicant) and "还需补交的材料" not in _plain(applicant)
    with Session(engine) as session:
        assert session.get(Case, case_id).status == "accepted"
    _chinese_only(applicant)
    _shot(applicant, "journey-03-uploaded-390px")

    # Each department's clerk approves its step from the inbox, seeing the enterprise's name.
    for number, step in enumerate(STARTUP.steps, start=4):
        clerk = log_in(f"{step.department}_clerk")
        clerk.goto("/inbox")
        row = clerk.locator(f"tr[data-case='{case_id}'][data-step={step.id}]")
        assert ENTERPRISE in row.inner_text()
        assert f"({step.department})" not in clerk.inner_text("header"), "a department's id"
        _shot(clerk, f"journey-{number:02}-inbox-{step.department}")
        row.locator("button.approve").click()
        clerk.wait_for_url(re.compile(r"/inbox$"))
        assert "审批意见已提交" in _flash(clerk)

    # Issued at once: the applicant's page lists every certificate by name.
    with Session(engine) as session:
        assert session.get(Case, case_id).status == "approved"
        issued = session.exec(select(Certificate).where(Certificate.case_id == case_id)).all()
    assert issued
    applicant.goto(f"/applicant/cases/{case_id}")
    text = _plain(applicant)
    assert "已办结" in text or "已批准" in text, text
    for certificate in issued:
        assert certificate.name in text
    _chinese_only(applicant)
    _shot(applicant, "journey-07-certificates-390px")

    # One certificate checked through the public page its QR code leads to.
    applicant.locator(f"a[href$='/certificates/{issued[0].number}']").click()
    assert applicant.locator("#qr svg").count() == 1
    assert _sideways(applicant) == []
    _shot(applicant, "journey-08-certificate-390px")
    applicant.click("#verify-link")
    applicant.wait_for_url(re.compile(rf"/verify/{issued[0].number}\?code="))
    assert "证照有效" in applicant.inner_text("#verdict")
    assert issued[0].name in _plain(applicant) and ENTERPRISE not in applicant.content()
    assert _sideways(applicant) == []
    _shot(applicant, "journey-09-verified-390px")

    # 不满意: the applicant is told of the follow-up and its due date.
    applicant.go_back()
    applicant.click("#back-to-case")
    applicant.wait_for_url(re.compile(rf"/applicant/cases/{case_id}$"))
    applicant.check("input[name=score][value='2']")
    applicant.fill("textarea[name=comment]", "材料清单看不懂")
    applicant.click("button:has-text('提交评价')")
    applicant.wait_for_load_state()
    with Session(engine) as session:
        due = session.exec(select(RatingFollowUp.due_date)
                           .where(RatingFollowUp.case_id == case_id)).one()
    text = _plain(applicant)
    assert "不满意" in text and "我们将回访并整改" in text and str(due) in text
    _chinese_only(applicant)
    _shot(applicant, "journey-10-rated-390px")
    applicant.context.close()

    # The follow-up, on the staff's 好差评 page: the item by name, the score, the due date.
    desk = log_in("desk")
    desk.goto("/ratings")
    line = desk.locator("#follow-ups tr.case").filter(
        has=desk.locator(f"a[href='/cases/{case_id}']"))
    assert line.count() == 1
    assert "可不填" not in desk.inner_text("#follow-ups thead"), "the applicant's form label"
    text = line.inner_text()
    assert "企业开办" in text and "不满意" in text and str(due) in text
    assert not re.search(r"C-\d{8}-\d{4}", _plain(desk)), "a case id is shown"
    _shot(desk, "journey-11-follow-up")
