"""Bad procedure files give one line naming the file, line, field, bad value and fix."""

import pytest

from process_models import (
    DependencyCycle,
    DuplicateId,
    OnethingError,
    ProcedureError,
    ProcedureSyntaxError,
    UnknownReference,
    load_procedure,
)

GOOD = """\
id: shop
name: 开店
departments:
- {id: samr, name: 市场监管局}
- {id: fire, name: 消防救援机构}
materials:
- {id: id_card, name: 身份证}
steps:
- id: licence
  name: 营业执照
  department: samr
  committed: {days: 3}
  materials: [id_card]
- id: food_license
  name: 食品经营许可
  department: samr
  committed: {days: 10}
  depends_on: [licence]
- id: fire_check
  name: 消防安全检查
  department: fire
  committed: {days: 10}
  depends_on: [food_license]
"""


def write(tmp_path, text, name="shop.yaml", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_good_file_loads(tmp_path):
    assert [s.id for s in load_procedure(write(tmp_path, GOOD)).steps] == [
        "licence", "food_license", "fire_check"]


BAD = [
    pytest.param(
        GOOD.replace("depends_on: [licence]", "depends_on: [licnse]"), UnknownReference,
        r"shop.yaml:18: steps\[1\].depends_on\[0\]: unknown step or stage 'licnse' "
        r"\(did you mean 'licence'\?\)", id="unknown-step"),
    pytest.param(
        GOOD.replace("department: fire", "department: fier"), UnknownReference,
        r"shop.yaml:21: steps\[2\].department: unknown department 'fier' \(did you mean 'fire'\?\)",
        id="unknown-department"),
    pytest.param(
        GOOD.replace("materials: [id_card]", "materials: [id_crad]"), UnknownReference,
        r"steps\[0\].materials\[0\]: unknown material 'id_crad' \(did you mean 'id_card'\?\)",
        id="unknown-material"),
    pytest.param(
        GOOD.replace("committed: {days: 10}\n  depends_on: [licence]",
                     "committed: {days: -3}\n  depends_on: [licence]"), ProcedureError,
        r"shop.yaml:17: steps\[1\].committed.days: must be at least 0, got -3", id="negative"),
    pytest.param(
        GOOD.replace("committed: {days: 3}", "committed: {days: three}"), ProcedureError,
        r"steps\[0\].committed.days: must be a number, got 'three'", id="non-numeric"),
    pytest.param(
        GOOD.replace("id: fire_check", "id: licence"), DuplicateId,
        r"steps\[2\].id: duplicate step id 'licence' \(already used by steps\[0\]\)",
        id="duplicate-id"),
    pytest.param(
        GOOD.replace("depends_on: [licence]", "depends_on: [licence, {step: licence}]"),
        DuplicateId, r"steps\[1\].depends_on\[1\]: 'licence' is listed twice; keep one entry",
        id="duplicate-dependency"),
    pytest.param(
        GOOD.replace("depends_on: [licence]", "depends_on: [fire_check]"), DependencyCycle,
        r"dependency cycle: food_license → fire_check → food_license", id="cycle"),
    pytest.param(
        GOOD.replace("  committed: {days: 3}", "  comitted: {days: 3}"), ProcedureError,
        r"steps\[0\].comitted: unknown field 'comitted' \(did you mean 'committed'\?\)",
        id="misspelt-field"),
    pytest.param(
        GOOD.replace("  committed: {days: 3}\n", ""), ProcedureError,
        r"steps\[0\].committed: is required but missing", id="missing-field"),
    pytest.param(
        GOOD.replace("  committed: {days: 3}", "  committed: {days: 3, unit: weeks}"),
        ProcedureError, r"steps\[0\].committed.unit: 'weeks' is not allowed; use one of",
        id="bad-unit"),
    pytest.param(
        "id: shop\nname: 开店\nsteps: []\n", ProcedureError,
        r"shop.yaml:3: steps: the procedure has no steps", id="empty-procedure"),
    pytest.param("", ProcedureError, r"shop.yaml: the file is empty", id="empty-file"),
    pytest.param(
        GOOD.replace("- id: licence\n  name:", "- id: licence\n name:"), ProcedureSyntaxError,
        r"shop.yaml:10: malformed YAML", id="malformed-yaml"),
]


@pytest.mark.parametrize("text, error, message", BAD)
def test_each_kind_of_bad_input_names_its_place_and_fix(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        load_procedure(write(tmp_path, text))


def test_cycle_error_names_every_step_in_the_cycle(tmp_path):
    text = GOOD.replace("  materials: [id_card]", "  materials: [id_card]\n  depends_on: [fire_check]")
    with pytest.raises(DependencyCycle) as info:
        load_procedure(write(tmp_path, text))
    assert set(info.value.cycle) == {"licence", "food_license", "fire_check"}


def test_a_gbk_file_is_refused_with_advice_to_save_as_utf8(tmp_path):
    with pytest.raises(ProcedureSyntaxError, match="not UTF-8.*GBK/GB18030.*save the file as UTF-8"):
        load_procedure(write(tmp_path, GOOD, encoding="gbk"))


@pytest.mark.parametrize("error", [UnknownReference, DuplicateId, DependencyCycle])
def test_every_procedure_error_is_a_onething_error_and_a_value_error(error):
    assert issubclass(error, OnethingError) and issubclass(error, ValueError)


@pytest.mark.parametrize("text, message", [b.values[::2] for b in BAD[:4]] + [
    (GOOD.replace("depends_on: [licence]", "depends_on: [fire_check]"), "dependency cycle")])
def test_cli_prints_one_line_and_exits_2(tmp_path, run_cli, text, message):
    code, _, err = run_cli("validate", write(tmp_path, text))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: ")


def test_the_cli_accepts_the_good_file(tmp_path, run_cli):
    code, out, _ = run_cli("validate", write(tmp_path, GOOD))
    assert code == 0 and "ok" in out
