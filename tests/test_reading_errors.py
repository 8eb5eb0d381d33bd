"""A file that cannot be read reaches its reader as one line in their language: Chinese on
the pages and at the CLI by default, English with ``?lang=en`` or ``--lang en``; the line
names the file (and line or field), the bad value and the fix, and never a traceback."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.i18n import MESSAGES, error_line
from api.page_kit import page_message
from api.workspace import procedure_from_upload
from process_models._reading import validation_error
from process_models.errors import OnethingError
from process_models.procedure import ID_PATTERN, Unit
from process_models.reading_problems import READING_PROBLEMS
from process_models.table_problems import TABLE_PROBLEMS
from simulations.planning.scenario_problems import SCENARIO_PROBLEMS
from tests.api_fixtures import ACCOUNTS

NUMBER_YAML = """\
id: x
name: 开餐馆
steps:
- {id: a, name: 营业执照, department: samr, committed: {days: 十天}}
departments:
- {id: samr, name: 市场监管局}
"""

BAD_FILES = {
    "bad YAML syntax": (
        "p.yaml", b"id: x\nname: [a\n",
        "p.yaml 第 3 行：YAML 格式有误：'name: [a'；请检查这一行的缩进或引号",
        ("p.yaml:3: malformed YAML: did not find expected ',' or ']'; fix the indentation or "
        "quoting on that line")),
    "an alias": (
        "p.yaml", b"id: &a x\nname: *a\n",
        "p.yaml 第 2 行：name：不允许使用别名（*名称）；请把值完整写出",
        "p.yaml:2: name: aliases (*name) are not allowed; write the value out in full"),
    "a duplicate key": (
        "p.yaml", b"id: x\nid: y\n",
        "p.yaml 第 2 行：id：键 'id' 重复（第 1 行已有）；请只保留一个",
        "p.yaml:2: id: duplicate key 'id' (first on line 1); keep one"),
    "a missing required field": (
        "p.yaml", b"id: x\nsteps: []\n",
        "p.yaml 第 1 行：name：缺少必填项；请补上",
        "p.yaml:1: name: is required but missing"),
    "an extra field": (
        "p.yaml", "id: x\nname: 开餐馆\nnmae: y\nsteps: []\n".encode(),
        "p.yaml 第 3 行：nmae：未知字段 'nmae'；请删去或改正（是不是「name」？）",
        "p.yaml:3: nmae: unknown field 'nmae' (did you mean 'name'?)"),
    "a bad number": (
        "p.yaml", NUMBER_YAML.encode(),
        "p.yaml 第 4 行：steps[0].committed.days：应为数字，实际为 '十天'",
        "p.yaml:4: steps[0].committed.days: must be a number, got '十天'"),
    "an unknown department": (
        "p.yaml", NUMBER_YAML.replace("department: samr", "department: smar")
                             .replace("{days: 十天}", "{days: 10}").encode(),
        "p.yaml 第 4 行：steps[0].department：没有部门 'smar'（是不是「samr」？）",
        "p.yaml:4: steps[0].department: unknown department 'smar' (did you mean 'samr'?)"),
    "a bad BPMN file": (
        "p.bpmn", b"<definitions",
        "p.bpmn 第 1 行：不是格式正确的 XML；请改正文件或重新导出",
        ("p.bpmn:1: not well-formed XML (unclosed token: line 1, column 0); fix the file or "
        "export it again")),
    "a non-workbook .xlsx": (
        "p.xlsx", b"PK not a workbook",
        "p.xlsx：不是可读取的 .xlsx 工作簿；请在 Excel 中打开后重新另存为 .xlsx",
        ("p.xlsx: not a readable .xlsx workbook (BadZipFile); open it in Excel and save it as "
        ".xlsx again")),
    "a bad CSV log": (
        "p.csv", b"case:concept:name,concept:name,time:timestamp\nC1,a,yesterday\n",
        ("p.csv 第 2 行：time:timestamp：'yesterday' 不是时间；请用 ISO 8601 格式，如 "
        "2025-01-24T09:30:00+08:00，或日期如 2025-01-24"),
        ("p.csv:2: time:timestamp: 'yesterday' is not a timestamp; use ISO 8601 such as "
        "2025-01-24T09:30:00+08:00 or a date such as 2025-01-24")),
}
"""What is wrong → (file name, its bytes, the Chinese line, the English line)."""

UPLOADS = {**BAD_FILES, "a too-big file": (
    "p.yaml", b"#" * 2_000_001,
    "p.yaml：文件超过上限 2 MB；请拆分或精简后上传",
    "p.yaml: the file is over 2 MB; split or shorten it")}
"""The bad files as uploaded to the planner's workspace, which takes at most 2 MB."""

AT_THE_CLI = {**BAD_FILES, "a too-big file": (
    "big.csv", b"#" * (21 * 2**20),
    "big.csv：文件有 21 MB，超过事项表的上限（20 MB）；请只保留事项表",
    "big.csv: the file has 21 MB, more than a table may (20 MB); keep only the table in it")}
"""The bad files as the CLI reads them; a step table may hold 20 MB."""

COMMANDS = {".yaml": ["validate"], ".bpmn": ["import-bpmn", "-o", "out.yaml"],
            ".xlsx": ["import-table"], ".csv": ["audit", "actual", "--limit-days", "5", "--log"]}
"""The command that reads each kind of file (a big CSV is read as a step table)."""

NAMES = re.compile(r"p\.\w+|big\.csv|time:timestamp|(steps|materials)\[0\]\.\w+(\.\w+)?|nmae"
                   r"|name|id|pert|empirical|low|mode|high|samples|from_step"
                   r"|YYYY-MM-DD|ISO 8601|xlsx|Excel|YAML|XML|UTF-8|MB|'[^']*'|「[^」]*」")
"""What a Chinese line may spell in Latin letters: file and field names, formats, values."""


def is_chinese_line(line: str) -> bool:
    """One line with no English word left once names, formats and values are taken out."""
    return "\n" not in line and not re.search(r"[A-Za-z]{2,}", NAMES.sub("", line))


@pytest.mark.parametrize(("name", "data", "zh", "en"), UPLOADS.values(), ids=UPLOADS)
def test_a_bad_upload_is_worded_in_the_pages_language(name, data, zh, en):
    """The workspace page's line for a refused file: Chinese, English with ?lang=en."""
    with pytest.raises(OnethingError) as refused:
        procedure_from_upload(name, data)
    assert (page_message(refused.value, "zh"), page_message(refused.value, "en")) == (zh, en)
    assert is_chinese_line(zh)


@pytest.mark.parametrize(("name", "data", "zh", "en"), AT_THE_CLI.values(), ids=AT_THE_CLI)
def test_a_bad_file_is_one_chinese_line_at_the_cli_and_english_with_lang_en(
        run_cli, tmp_path, monkeypatch, name, data, zh, en):
    """Exit code 2 and one line, no traceback, in the language ``--lang`` asks for."""
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(data)
    command = ["import-table", name] if name == "big.csv" else [
        *COMMANDS[Path(name).suffix], name]
    for lang, line in (("zh", f"错误：{zh}"), ("en", f"error: {en}")):
        code, _, err = run_cli(*command, "--lang", lang)
        assert (code, err.strip()) == (2, line)
    assert run_cli(*command)[2].strip() == f"错误：{zh}"


PROBLEMS = {**READING_PROBLEMS, **TABLE_PROBLEMS, **SCENARIO_PROBLEMS}
"""Every reason a file's error may carry → its English line."""


@pytest.mark.parametrize("reason", PROBLEMS)
def test_every_reading_problem_is_worded_in_both_languages(reason):
    """Each reason a reader raises (a procedure, a step table, a scenario) has its Chinese
    line, and its English line is the one the error itself carries."""
    assert MESSAGES["en"][f"error.{reason}"] == PROBLEMS[reason]
    assert re.search(r"[\u4e00-\u9fff]", MESSAGES["zh"][f"error.{reason}"])


def test_no_reason_means_two_things():
    """A reason names one problem: the readers' lists of reasons share none."""
    assert len(PROBLEMS) == len(READING_PROBLEMS) + len(TABLE_PROBLEMS) + len(SCENARIO_PROBLEMS)


@pytest.mark.parametrize(("name", "data", "zh", "en"),
                         [UPLOADS[k] for k in ("bad YAML syntax", "a bad number",
                                               "a non-workbook .xlsx", "a bad CSV log")],
                         ids=["syntax", "number", "xlsx", "log"])
def test_the_workspace_page_shows_a_refused_file_in_the_readers_language(
        client, auth, name, data, zh, en):
    """The page itself, as a planner sees it after uploading (the flash line)."""
    from tests.test_workspace import CSRF, logged_in

    planner = logged_in(client, ACCOUNTS["planner"][0])
    csrf = CSRF.search(planner.get("/workspace").text).group(1)
    for lang, line in (("zh", zh), ("en", en)):
        page = planner.post(f"/workspace?lang={lang}", data={"csrf_token": csrf},
                            files={"file": (name, data, "application/octet-stream")})
        assert page.status_code == 422
        assert f'<p class="flash error" role="alert">{line}</p>' in html.unescape(page.text)
        assert "Traceback" not in page.text


LIMITS_YAML = NUMBER_YAML.replace("committed: {days: 十天}",
                                  "committed: {days: 10}, statutory: {days: 5}")

OUR_CHECKS = {
    "a committed limit over the statutory one": (
        "p.yaml", LIMITS_YAML.encode(),
        "p.yaml 第 4 行：steps[0].committed：承诺时限（10 天）长于法定时限（5 天）；请承诺不超过 5 天",
        ("p.yaml:4: steps[0].committed: the committed limit (10 days) is longer than the "
         "statutory one (5 days); commit to at most 5")),
    "the same in a step table": (
        "p.csv", "事项,部门,法定时限,承诺时限\n营业执照,市场监管局,5,10\n".encode(),
        "p.csv：第 2 行「承诺时限」：承诺时限（10 天）长于法定时限（5 天）；请承诺不超过 5 天",
        ("p.csv: row 2, 承诺时限: the committed limit (10 days) is longer than the statutory "
         "one (5 days); commit to at most 5")),
    "a distribution without its parameters": (
        "p.yaml", LIMITS_YAML.replace("statutory: {days: 5}", "duration: {kind: pert, low: 1}")
                             .encode(),
        "p.yaml 第 4 行：steps[0].duration：pert 分布需要 mode, high",
        "p.yaml:4: steps[0].duration: a pert distribution needs mode, high"),
    "a distribution out of order": (
        "p.yaml", LIMITS_YAML.replace("statutory: {days: 5}",
                                      "duration: {kind: pert, low: 3, mode: 1, high: 2}").encode(),
        "p.yaml 第 4 行：steps[0].duration：pert 分布须满足 low ≤ mode ≤ high，实际为 3、1、2",
        "p.yaml:4: steps[0].duration: pert needs low <= mode <= high, got 3, 1, 2"),
    "an empirical distribution without samples": (
        "p.yaml", LIMITS_YAML.replace("statutory: {days: 5}",
                                      "duration: {kind: empirical, samples: []}").encode(),
        "p.yaml 第 4 行：steps[0].duration.samples：empirical 分布至少需要一个样本（samples）",
        ("p.yaml:4: steps[0].duration.samples: an empirical distribution needs at least one "
         "sample")),
    "a step's material without its step": (
        "p.yaml", LIMITS_YAML.replace("steps:", "materials:\n- {id: m, name: 证明, provider: step}"
                                               "\nsteps:").encode(),
        "p.yaml 第 4 行：materials[0].from_step：由事项产出的要件须用 from_step 写明产出它的事项",
        ("p.yaml:4: materials[0].from_step: a material provided by a step needs from_step (the "
         "step that provides it)")),
}
"""Our own validators' checks → (file name, its bytes, the Chinese line, the English line)."""


@pytest.mark.parametrize(("name", "data", "zh", "en"), OUR_CHECKS.values(), ids=OUR_CHECKS)
def test_our_own_checks_are_worded_in_the_readers_language_on_the_page_and_at_the_cli(
        run_cli, tmp_path, monkeypatch, name, data, zh, en):
    """A check of our own validators has its reason, so neither the page nor the CLI shows
    its English line to a Chinese reader."""
    with pytest.raises(OnethingError) as refused:
        procedure_from_upload(name, data)
    assert (page_message(refused.value, "zh"), page_message(refused.value, "en")) == (zh, en)
    assert is_chinese_line(zh)
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(data)
    command = ["import-table" if name.endswith(".csv") else "validate", name]
    for lang, line in (("zh", f"错误：{zh}"), ("en", f"error: {en}")):
        assert run_cli(*command, "--lang", lang)[::2] == (2, f"{line}\n")


class _Fields(BaseModel):
    """A field of each kind our definitions hold, for pydantic's error types."""

    model_config = ConfigDict(extra="forbid")
    count: int = 0
    days: Annotated[float, Field(ge=0, le=3650)] = 0
    unit: Unit = Unit.working
    mode: Literal["fixed", "pert"] = "fixed"
    name: Annotated[str, Field(max_length=5)] = ""
    links: Annotated[list[int], Field(max_length=2)] = []
    flag: bool = False
    id: Annotated[str, Field(pattern=ID_PATTERN)] = "a"


@pytest.mark.parametrize(("data", "reason", "zh"), [
    ({"count": "两"}, "not_whole_number", "count：应为整数，实际为 '两'"),
    ({"days": -1}, "at_least", "days：应不小于 0，实际为 -1"),
    ({"days": 4000}, "at_most", "days：应不大于 3650，实际为 4000；请核对数字"),
    ({"unit": "weeks"}, "not_one_of", "unit：'weeks' 不是可选的值；请填 'working'、'calendar'"),
    ({"mode": "pret"}, "not_one_of",
     "mode：'pret' 不是可选的值；请填 'fixed'、'pert'（是不是「pert」？）"),
    ({"name": "营业执照办理"}, "text_too_long", "name：'营业执照办理' 超过 5 个字符；请缩短"),
    ({"links": [1, 2, 3]}, "too_many_entries", "links：超过 2 项；请拆分流程"),
    ({"flag": "也许"}, "not_bool", "flag：应为 true 或 false，实际为 '也许'"),
    ({"links": 3}, "not_list", "links：应为列表，实际为 3"),
    ({"id": "a b"}, "not_an_id", "id：'a b' 不是有效的标识"),
], ids=lambda v: v if isinstance(v, str) and v.isascii() else None)
def test_each_pydantic_error_type_is_worded_in_chinese_by_its_type(data, reason, zh):
    """pydantic's own wording ("Input should be ...") never reaches a reader: each type our
    definitions can raise has a reason, worded with the field and the bad value."""
    with pytest.raises(ValidationError) as refused:
        _Fields.model_validate(data)
    error = validation_error(refused.value, _Fields, file="p.yaml")
    assert error.reason == reason
    assert error_line(error, "zh").startswith(f"p.yaml：{zh}")
    assert "should" not in error_line(error, "en")
