"""The applicant's pages in a real browser on a 390 px phone: log in with an SMS code, apply
for 开办餐饮店 without one key material (待补正), upload it, and rate the case 不满意; the
follow-up's due date is shown. Screenshots go to ``tests/artifacts/browser/``; no case id,
no English in Chinese mode, nothing scrolling sideways.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.test_browser import BROWSER_MARKS, TIMEOUT_MS, _shot, _sideways, serve
from tests.test_browser import browser as chromium  # noqa: F401  (a fixture: the browser)

CREDIT_CODE = "91110000802100433B"
PHONE = "13812345678"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PHONE_VIEWPORT = {"width": 390, "height": 844}

pytestmark = BROWSER_MARKS


class Outbox:
    """An SmsSender keeping the codes it was asked to send."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def send(self, phone: str, code: str) -> None:
        self.codes.append(code)


@pytest.fixture(scope="module")
def service(tmp_path_factory, sqlite_template, prefect_harness):
    """The service on uvicorn (a thread of this process, on the Prefect harness) and its SMS
    outbox; uploads under a temporary folder."""
    from api.main import create_app
    from flows.casework.store import make_engine
    from process_models.settings import settings

    folder = tmp_path_factory.mktemp("applicant")
    shutil.copyfile(sqlite_template, folder / "onething.db")
    engine = make_engine(f"sqlite:///{folder / 'onething.db'}")
    data_dir, settings.data_dir = settings.data_dir, folder
    sms = Outbox()
    with serve(create_app(engine, secret_key="browser-tests-" + "k" * 32, demo_accounts=False, relay=False,
                          sms_sender=sms)) as url:
        yield url, sms
    settings.data_dir = data_dir
    engine.dispose()


def _plain(page) -> str:
    return page.inner_text("main")


def _chinese_only(page) -> None:
    text = _plain(page)
    assert not re.search(r"C-\d{8}-\d{4}", text), "a case id is shown"
    assert not re.search(r"[A-Za-z]{4,}", text.replace("PDF", "").replace("JPG", "")
                         .replace("PNG", "")), text
    assert _sideways(page) == []


def applicant_on_phone(browser, base_url: str, sms: Outbox, shot: str):
    """A page of a new 390 px browser context, the enterprise logged in with the SMS code;
    the filled-in login form is saved as screenshot ``shot``."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport=PHONE_VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/applicant")
    page.fill("input[name=id_number]", CREDIT_CODE)
    page.fill("input[name=phone]", PHONE)
    page.click("form[action='/applicant/code'] button")
    page.fill("input[name=code]", sms.codes[-1])
    _chinese_only(page)
    _shot(page, shot)
    page.click("form[action='/applicant/login'] button")
    assert "我的申请" in _plain(page)
    return page


def test_an_enterprise_applies_on_a_phone_uploads_the_missing_material_and_rates(
        chromium, service, tmp_path):  # noqa: F811  (the fixture imported above)
    base_url, sms = service
    page = applicant_on_phone(chromium, base_url, sms, "11-applicant-login-390px")
    context = page.context

    page.goto("/applicant/apply/restaurant")
    page.fill("input[name=name]", "某某餐饮有限公司")
    page.fill("input[name=legal_representative]", "李四")
    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    inputs = page.locator("input[type=file]")
    for index in range(1, inputs.count()):   # all but the first material: 待补正
        inputs.nth(index).set_input_files(str(scan))
    _chinese_only(page)
    _shot(page, "12-applicant-apply-390px")
    page.click("button:has-text('提交申请')")
    assert "申请已提交" in _plain(page) and "待补正" in _plain(page)
    _chinese_only(page)
    _shot(page, "13-applicant-awaiting-supplement-390px")

    page.locator("form.card input[type=file]").first.set_input_files(str(scan))
    page.locator("form.card button").first.click()
    assert "材料已上传" in _plain(page) and "还需补交的材料" not in _plain(page)

    page.check("input[name=score][value='2']")
    page.fill("textarea[name=comment]", "材料清单看不懂")
    page.click("button:has-text('提交评价')")
    text = _plain(page)
    assert "感谢您的评价" in text and "不满意" in text and "我们将回访并整改" in text
    _chinese_only(page)
    _shot(page, "14-applicant-rated-390px")
    page.goto(f"{page.url}?lang=en")
    text = _plain(page)
    assert "Dissatisfied" in text and "Progress" in text and "办理进度" not in text
    assert _sideways(page) == []
    _shot(page, "15-applicant-rated-en-390px")
    context.close()
