"""The applicant's own API and pages: logging in with an SMS code, the applicant's cases,
applying (as an enterprise), uploading a missing material, 好差评 once, and the reports.
One applicant never reaches another's case, file or rating (each test that tries says so).
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api_fixtures import ID_NUMBER, open_restaurant_case

OTHER_ID_NUMBER = "110101199003071233"
CREDIT_CODE = "91110000802100433B"
PHONE = "13812345678"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Outbox:
    """An SmsSender keeping the codes it was asked to send."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def send(self, phone: str, code: str) -> None:
        self.codes.append(code)


@pytest.fixture
def sms(app, tmp_path, monkeypatch) -> Outbox:
    """The app's SMS sender, and uploads kept under a temporary folder."""
    from process_models.settings import settings

    monkeypatch.setattr(settings, "data_dir", tmp_path)
    app.state.sms_sender = outbox = Outbox()
    return outbox


def applicant_headers(client, sms: Outbox, number: str) -> dict[str, str]:
    assert client.post("/api/applicant/code",
                       json={"id_number": number, "phone": PHONE}).status_code == 202
    token = client.post("/api/applicant/token",
                        json={"id_number": number, "code": sms.codes[-1]}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_the_applicant_rates_their_case_once_and_a_bad_rating_gets_a_due_date(
        client, sms, case_id):
    headers = applicant_headers(client, sms, ID_NUMBER)
    assert [c["case_id"] for c in client.get("/api/applicant/cases", headers=headers).json()] \
        == [case_id]
    first = client.post(f"/api/cases/{case_id}/rating", headers=headers,
                        json={"score": 2, "comment": "等待太久"})
    assert first.status_code == 201, first.text
    assert first.json()["score"] == 2 and first.json()["follow_up_due_date"] is not None
    second = client.post(f"/api/cases/{case_id}/rating", headers=headers, json={"score": 5})
    assert second.status_code == 409
    assert second.json()["detail"] == f"case {case_id} was rated already; a case is rated once"


@pytest.mark.parametrize("score", [0, 6, "五"])
def test_a_score_outside_one_to_five_is_422(client, sms, case_id, score):
    headers = applicant_headers(client, sms, ID_NUMBER)
    answer = client.post(f"/api/cases/{case_id}/rating", headers=headers, json={"score": score})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("body.score")


def test_another_applicant_neither_sees_nor_rates_the_case(client, sms, case_id):
    """The other applicant's answer is the one for a case that does not exist."""
    other = applicant_headers(client, sms, OTHER_ID_NUMBER)
    assert client.get("/api/applicant/cases", headers=other).json() == []
    answer = client.post(f"/api/cases/{case_id}/rating", headers=other, json={"score": 1})
    missing = client.post(f"/api/cases/{case_id[:-4]}9999/rating", headers=other,
                          json={"score": 1})
    assert (answer.status_code, missing.status_code) == (404, 404)
    assert ID_NUMBER not in answer.text and "张三" not in answer.text


def test_an_applicant_token_opens_no_staff_route(client, sms, case_id):
    headers = applicant_headers(client, sms, ID_NUMBER)
    assert client.get(f"/api/cases/{case_id}", headers=headers).status_code == 401
    assert client.get("/api/cases", headers=headers).status_code == 401


def test_a_wrong_code_gets_no_token(client, sms):
    client.post("/api/applicant/code", json={"id_number": ID_NUMBER, "phone": PHONE})
    wrong = f"{(int(sms.codes[-1]) + 1) % 10**6:06d}"
    answer = client.post("/api/applicant/token", json={"id_number": ID_NUMBER, "code": wrong})
    assert answer.status_code == 403 and "access_token" not in answer.text


def test_the_report_names_items_and_counts_as_by_hand_in_json_and_xlsx(client, sms, engine,
                                                                       auth):
    """Two restaurant cases rated 5 and 1: satisfaction 1/2, one 差评, none rectified."""
    headers = applicant_headers(client, sms, ID_NUMBER)
    for score in (5, 1):
        case = open_restaurant_case(engine)
        assert client.post(f"/api/cases/{case}/rating", headers=headers,
                           json={"score": score}).status_code == 201
    report = client.get("/api/ratings/report", headers=auth["auditor"]).json()
    assert report["basis"] == "sourced"
    [line] = report["lines"]
    assert (line["name"], line["ratings"], line["bad"], line["satisfaction_rate"],
            line["rectification_rate"]) == ("开办餐饮店一件事", 2, 1, 0.5, 0.0)
    xlsx = client.get("/api/ratings/report", headers=auth["auditor"],
                      params={"format": "xlsx", "group_by": "channel"})
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert rows[0][:2] == ("评价渠道", "评价数") and rows[1][:2] == ("网上", 2)
    assert rows[-1][0] == "合计" and rows[1][7] == "50.0%"


def test_staff_follow_up_a_bad_rating_until_it_leaves_the_list(client, sms, case_id, auth):
    headers = applicant_headers(client, sms, ID_NUMBER)
    client.post(f"/api/cases/{case_id}/rating", headers=headers, json={"score": 1})
    [line] = client.get("/api/ratings/follow-ups", headers=auth["front_desk"]).json()
    assert line["case_id"] == case_id and not line["called_back"]
    for action in ("call_back", "rectify"):
        assert client.post(f"/api/cases/{case_id}/rating/follow-up", headers=auth["front_desk"],
                           json={"action": action, "text": "已处理"}).status_code == 204
    assert client.get("/api/ratings/follow-ups", headers=auth["front_desk"]).json() == []


def test_only_an_admin_decides_an_appeal(client, sms, case_id, auth):
    headers = applicant_headers(client, sms, ID_NUMBER)
    client.post(f"/api/cases/{case_id}/rating", headers=headers, json={"score": 1})
    path = f"/api/cases/{case_id}/rating/follow-up"
    assert client.post(path, headers=auth["clerk"], json={
        "action": "appeal", "text": "评价对象有误"}).status_code == 204
    decision = {"action": "decide_appeal", "upheld": True}
    assert client.post(path, headers=auth["clerk"], json=decision).status_code == 403
    assert client.post(path, headers=auth["admin"], json=decision).status_code == 204


# --- the pages ------------------------------------------------------------------------------------


def page_login(client, sms: Outbox, number: str) -> None:
    form = client.get("/applicant")
    client.post("/applicant/code", data={"id_number": number, "phone": PHONE,
                                         "csrf_token": CSRF.search(form.text).group(1)})
    form = client.get("/applicant")
    answer = client.post("/applicant/login", data={
        "code": sms.codes[-1], "csrf_token": CSRF.search(form.text).group(1)})
    assert answer.status_code == 200 and "我的申请" in answer.text, answer.text


def shown(html: str) -> str:
    """The text a person reads on a page (the main part, without tags)."""
    return re.sub(r"<[^>]+>", " ", html.split("<main>")[1])


def csrf_of(client, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def test_an_enterprise_applies_uploads_the_missing_material_and_rates_on_its_pages(
        client, sms, engine):
    from sqlmodel import Session, select

    from flows.casework.tables import Case

    page_login(client, sms, CREDIT_CODE)
    form = client.get("/applicant/apply/restaurant")
    assert "统一社会信用代码" in form.text and "法定代表人" in form.text
    answer = client.post("/applicant/apply/restaurant", data={
        "name": "某某餐饮有限公司", "legal_representative": "李四", "phone": PHONE,
        "csrf_token": CSRF.search(form.text).group(1)},
        files={"file_registration_form": ("申请书.png", PNG, "image/png")})
    assert "申请已提交" in answer.text, answer.text
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert (case.applicant_kind, case.legal_representative, case.status) == (
        "enterprise", "李四", "awaiting_supplement")
    page = client.get(f"/applicant/cases/{case.id}")
    assert "还需补交的材料" in page.text and case.id not in shown(page.text)
    missing = re.search(r'/applicant/cases/[^/]+/materials/([a-z_]+)"', page.text).group(1)
    answer = client.post(f"/applicant/cases/{case.id}/materials/{missing}",
                         data={"csrf_token": csrf_of(client, f"/applicant/cases/{case.id}")},
                         files={"file": ("scan.exe", b"MZ\x90\0", "image/png")})
    assert "is not a PDF, JPEG or PNG" in answer.text, shown(answer.text)[:600]
    answer = client.post(f"/applicant/cases/{case.id}/materials/{missing}",
                         data={"csrf_token": csrf_of(client, f"/applicant/cases/{case.id}")},
                         files={"file": ("scan.png", PNG, "image/png")})
    assert "材料已上传" in answer.text
    answer = client.post(f"/applicant/cases/{case.id}/rating", data={
        "score": "2", "comment": "材料清单不清楚",
        "csrf_token": csrf_of(client, f"/applicant/cases/{case.id}")})
    assert "感谢您的评价" in answer.text and "不满意" in answer.text
    assert "我们将回访并整改" in answer.text


def test_another_applicant_reaches_neither_the_case_page_nor_its_files(client, sms, engine):
    page_login(client, sms, ID_NUMBER)
    form = client.get("/applicant/apply/restaurant")
    client.post("/applicant/apply/restaurant", data={
        "name": "张三", "csrf_token": CSRF.search(form.text).group(1)},
        files={"file_registration_form": ("申请书.png", PNG, "image/png")})
    case_id = re.search(r'href="/applicant/cases/([^"]+)"', client.get("/applicant").text).group(1)
    own = client.get(f"/applicant/cases/{case_id}")
    file_path = re.search(r'href="(/applicant/cases/[^"]+/files/\d+)"', own.text).group(1)
    assert client.get(file_path).content == PNG
    client.post("/applicant/logout")
    page_login(client, sms, OTHER_ID_NUMBER)
    for path in (f"/applicant/cases/{case_id}", file_path):
        answer = client.get(path)
        assert answer.status_code == 404 and "张三" not in answer.text and PNG not in answer.content


def test_the_notice_page_carries_its_qr_code_without_a_login(client):
    page = client.get("/applicant/notice/newborn")
    assert page.status_code == 200 and "<svg" in page.text and "一次性告知" in page.text
    english = client.get("/applicant/notice/newborn?lang=en")
    assert "<svg" in english.text and "Apply online" in english.text
    assert "网上申请" not in shown(english.text)


def test_the_ratings_page_shows_the_report_and_records_a_call_back(client, sms, case_id,
                                                                    accounts):
    """The admin sees the report by name and the 差评 with its due date, and records the
    call-back from the page; in English, the same page has no Chinese labels of its own."""
    from tests.api_fixtures import PASSWORD

    headers = applicant_headers(client, sms, ID_NUMBER)
    client.post(f"/api/cases/{case_id}/rating", headers=headers,
                json={"score": 1, "comment": "电话 13812345678 没人接"})
    login = client.get("/login")
    client.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/",
                                "csrf_token": CSRF.search(login.text).group(1)})
    page = client.get("/ratings")
    text = shown(page.text)
    assert "开办餐饮店一件事" in text and "非常不满意" in text and "满意率" in text
    answer = client.post(f"/ratings/{case_id}/follow-up", data={
        "action": "call_back", "text": "已回访，致歉", "csrf_token": CSRF.search(page.text).group(1)})
    assert "已记录" in answer.text and "已回访" in shown(answer.text)
    english = shown(client.get("/ratings?lang=en&group_by=channel").text)
    assert "Satisfaction rate" in english and "Web" in english and "满意率" not in english
