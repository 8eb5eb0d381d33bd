"""``onething case`` at a 一件事 window: the reformed bundle, 告知承诺 with its 核查, 容缺
promises, and the case read in Chinese (English with ``--lang en``), names not ids."""

from __future__ import annotations

import json
import re

import pytest

from flows import casework

pytestmark = pytest.mark.usefixtures("prefect_harness")

ID_NUMBER = "11010519491231002X"
RESTAURANT = casework.window_procedure("restaurant", "before")
LETTER = "本人承诺经营场所及设施符合食品安全要求，如有不实，愿承担撤销许可的后果。"


@pytest.fixture(autouse=True)
def database(tmp_path, monkeypatch):
    """Every test on its own SQLite file, chosen by settings as in production."""
    from process_models.settings import settings

    monkeypatch.setattr(settings, "database_url", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setattr(settings, "prefect_mode", "embedded")


def cli(run_cli, *args) -> str:
    code, out, err = run_cli(*args)
    assert code == 0, err
    return out


def opened(run_cli, procedure: str, *options: str, materials=()) -> str:
    out = cli(run_cli, "case", "open", procedure, "--name", "张三", "--id-number", ID_NUMBER,
              *options, *[a for m in materials for a in ("-m", m)], "--json")
    return json.loads(out)["case_id"]


def shown(run_cli, case_id: str) -> dict:
    return json.loads(cli(run_cli, "case", "show", case_id, "--json"))


@pytest.fixture
def restaurant_case(run_cli) -> str:
    """A restaurant case on the before-version, every material brought, its business
    licence and health certificates approved: the food licence is pending."""
    everything = [item.material_id for item in casework.notification_list(RESTAURANT)]
    case_id = opened(run_cli, "restaurant", "--version", "before", materials=everything)
    for step in ("business_licence", "health_certificate"):
        cli(run_cli, "case", "decide", case_id, step, "approve", "--department",
            RESTAURANT.step(step).department)
    return case_id


def test_case_open_newborn_runs_the_reformed_bundle_and_before_only_when_asked(run_cli):
    after = shown(run_cli, opened(run_cli, "newborn"))
    before = shown(run_cli, opened(run_cli, "newborn", "--version", "before"))
    assert (after["procedure_version"], [s["step_id"] for s in after["steps"]]) == (
        "after-2023", ["newborn_bundle"])
    assert before["procedure_version"] == "before-2023" and len(before["steps"]) > 1


def test_a_published_version_is_what_the_window_opens(run_cli):
    """Publishing is the one act that changes what live cases run, in the audit trail."""
    cli(run_cli, "procedure", "publish", "newborn", "before", "--by", "管理员")
    assert shown(run_cli, opened(run_cli, "newborn"))["procedure_version"] == "before-2023"


def test_a_signed_commitment_decides_the_step_and_a_failed_check_revokes_its_licence(
        run_cli, restaurant_case):
    """End to end: signed at the window, the 核查 task is listed with its due date; the case
    runs to its certificates; a failed 核查 revokes the food licence and says why."""
    out = cli(run_cli, "case", "sign", restaurant_case, "food_licence", "--text", LETTER,
              "--signed-by", "张三")
    assert "食品经营许可 (餐饮服务) 已签署告知承诺书并当场办结，核查期限 20" in out
    tasks = json.loads(cli(run_cli, "case", "checks", "--department", "samr", "--json"))
    assert [(t["case_id"], t["step_id"]) for t in tasks] == [(restaurant_case, "food_licence")]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", tasks[0]["check_due_date"])
    for step in ("signboard", "fire_inspection"):
        cli(run_cli, "case", "decide", restaurant_case, step, "approve", "--department",
            RESTAURANT.step(step).department)
    assert shown(run_cli, restaurant_case)["status"] == "approved"
    cli(run_cli, "case", "check", restaurant_case, "food_licence", "failed", "--department",
        "samr", "--reason", "现场核查无消毒设施")
    revoked = [c for c in shown(run_cli, restaurant_case)["certificates"] if c["revoked_at"]]
    assert [(c["name"], c["revoked_reason"]) for c in revoked] == [
        ("食品经营许可证", "核查未通过: 现场核查无消毒设施")]
    assert "已撤销：核查未通过" in cli(run_cli, "case", "show", restaurant_case)


@pytest.mark.parametrize(("args", "message"), [
    (["case", "sign", "{case}", "signboard", "--text", "x", "--signed-by", "张三"],
     "cannot be decided under 告知承诺: not marked"),
    (["case", "check", "{case}", "food_licence", "passed", "--department", "samr"],
     "no commitment was signed"),
    (["case", "promise", "{case}", "lease_contract", "2025-13-01"], "is not a date"),
    (["case", "promise", "{case}", "lease_contract", "2099-01-01"], "it is 'received'"),
])
def test_bad_window_input_is_one_line_and_exit_code_2(run_cli, restaurant_case, args, message):
    code, out, err = run_cli(*[restaurant_case if a == "{case}" else a for a in args])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_a_promise_beyond_the_bounds_is_refused_naming_the_latest_date(run_cli):
    """容缺: an owed material's promised date at most 20 working days away."""
    proc = casework.window_procedure("restaurant", "before")
    notice = casework.notification_list(proc)
    owed = next(i.material_id for i in notice if not i.key)
    case_id = opened(run_cli, "restaurant", "--version", "before",
                     materials=[i.material_id for i in notice if i.key])
    code, _out, err = run_cli("case", "promise", case_id, owed, "2099-01-01")
    assert code == 2 and "outside the 容缺 bounds" in err and "promise a date from" in err


@pytest.mark.parametrize("command", ["show", "list"])
def test_case_show_and_list_speak_chinese_with_names_and_english_with_lang_en(run_cli, command):
    """Labels in Chinese, steps and departments by name; ids only in ``--json``."""
    case_id = opened(run_cli, "restaurant", "--version", "before")
    args = ["case", command, *([case_id] if command == "show" else [])]
    chinese, english = cli(run_cli, *args), cli(run_cli, *args, "--lang", "en")
    assert "待补正" in chinese and "Awaiting supplement" in english
    assert RESTAURANT.name in chinese
    ids = {s.id for s in RESTAURANT.steps} | {d.id for d in RESTAURANT.departments} | {
        "awaiting_supplement", "yellow", "restaurant"}
    assert not {word for word in re.findall(r"[\w-]+", chinese + english) if word in ids}
    if command == "show":
        assert RESTAURANT.step("food_licence").name in chinese
