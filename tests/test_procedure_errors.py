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
    assert err.startswith("错误：")  # Chinese first; --lang en says "error: "


def test_the_cli_accepts_the_good_file(tmp_path, run_cli):
    code, out, _ = run_cli("validate", write(tmp_path, GOOD))
    assert code == 0 and "通过" in out


# --- bounds, ids and the size of what is echoed ---------------------------------------------


def _licence(extra: str) -> str:
    """GOOD with ``extra`` replacing the licence step's committed limit line."""
    return GOOD.replace("  committed: {days: 3}\n", extra, 1)


BOUNDS = [
    pytest.param(_licence("  committed: {days: 1e308}\n"),
                 r"shop.yaml:12: steps\[0\].committed.days: must be at most 3650, got '1e308'",
                 id="huge-days"),
    pytest.param(_licence("  committed: {days: 1.0e+308}\n"),
                 r"steps\[0\].committed.days: must be at most 3650, got 1e\+308; check the figure",
                 id="huge-float-days"),
    pytest.param(_licence("  committed: {days: true}\n"),
                 r"shop.yaml:12: steps\[0\].committed.days: must be a number, got true",
                 id="boolean-days"),
    pytest.param(_licence("  committed: {days: 3}\n  trips: 100000000000000000000000\n"),
                 r"shop.yaml:13: steps\[0\].trips: must be at most 10000", id="huge-trips"),
    pytest.param(_licence("  committed: {days: 3}\n  trips: true\n"),
                 r"steps\[0\].trips: must be a number, got true", id="boolean-trips"),
    pytest.param(_licence("  committed: {days: 3}\n"
                          "  duration: {kind: lognormal, mean: 1e300, sd: 1e300}\n"),
                 r"steps\[0\].duration.mean: must be at most 3650", id="huge-lognormal"),
    pytest.param(_licence("  committed: {days: 10}\n  statutory: {days: 5}\n"),
                 r"shop.yaml:12: steps\[0\].committed: the committed limit \(10 days\) is longer than the "
                 r"statutory one \(5 days\); commit to at most 5", id="committed-beyond-law"),
    pytest.param(GOOD.replace("id: licence", "id: 审批/盖章").replace("[licence]", "[审批/盖章]"),
                 r"shop.yaml:9: steps\[0\].id: '审批/盖章' is not an id: use 1–200 letters",
                 id="slash-in-step-id"),
    pytest.param(GOOD.replace("id: samr", "id: sa mr"),
                 r"departments\[0\].id: 'sa mr' is not an id", id="space-in-department-id"),
    pytest.param(GOOD.replace("id: id_card", "id: ../card"),
                 r"materials\[0\].id: '../card' is not an id", id="path-in-material-id"),
    pytest.param(GOOD.replace("id: shop", "id: shop.v2"),
                 r"shop.yaml:1: id: 'shop.v2' is not an id", id="dot-in-procedure-id"),
]


@pytest.mark.parametrize("text, message", BOUNDS)
def test_numbers_are_bounded_and_ids_follow_one_pattern(tmp_path, text, message):
    """Days up to ten years, counts up to 10,000, no booleans as numbers, a commitment within
    the statutory limit, and ids that are one URL path segment."""
    with pytest.raises(ProcedureError, match=message):
        load_procedure(write(tmp_path, text))


def test_the_statutory_limit_in_another_unit_is_not_compared(tmp_path):
    """10 working days and 12 calendar days cannot be compared without dates: both stand."""
    text = _licence("  committed: {days: 10}\n  statutory: {days: 12, unit: calendar}\n")
    assert load_procedure(write(tmp_path, text)).steps[0].committed.days == 10


def test_a_step_depending_on_itself_names_it_once(tmp_path):
    """The message names the step, not each letter of its id."""
    text = GOOD.replace("depends_on: [licence]", "depends_on: [food_license]")
    with pytest.raises(DependencyCycle,
                       match=r"shop.yaml:18: steps\[1\].depends_on\[0\]: dependency cycle: "
                             r"food_license → food_license; remove") as info:
        load_procedure(write(tmp_path, text))
    assert info.value.cycle == ["food_license"]


def test_an_error_echoes_only_the_start_of_a_huge_value(tmp_path):
    """A 5 MB value that is wrong gives a short line saying how long it was."""
    huge = "A" * 5_000_000
    text = f'id: shop\nname: 开店\nsteps: "{huge}"\n'
    with pytest.raises(ProcedureError) as info:
        load_procedure(write(tmp_path, text))
    message = str(info.value)
    assert len(message) < 300 and "(5000000 characters)" in message
    assert message.startswith(f"{tmp_path / 'shop.yaml'}:3: steps: must be a list, got 'AAAA")


def test_an_unknown_reference_as_long_as_allowed_is_answered_at_once(tmp_path):
    """A near-miss search over long ids and many steps stays linear (no did-you-mean)."""
    steps = "".join(f"- {{id: s{i}, name: n, department: samr, committed: {{days: 1}}}}\n"
                    for i in range(2000))
    text = (GOOD.split("steps:\n")[0] + "steps:\n" + steps
            + f"- {{id: last, name: n, department: samr, committed: {{days: 1}}, "
              f"depends_on: [{'x' * 200}]}}\n")
    with pytest.raises(UnknownReference, match=r"unknown step or stage 'xxxx"):
        load_procedure(write(tmp_path, text))


def test_more_steps_than_the_cap_are_refused_before_they_are_checked():
    """MAX_STEPS bounds the work one upload can ask for."""
    from process_models.loading import parse_procedure
    from process_models.procedure import MAX_STEPS

    text = "id: big\nname: n\nsteps:\n" + "- {}\n" * (MAX_STEPS + 1)
    with pytest.raises(ProcedureError, match=rf"big.yaml:3: steps: holds more than {MAX_STEPS} "
                                             "entries; split the procedure"):
        parse_procedure(text, file="big.yaml")


def test_more_dependencies_than_the_cap_are_refused():
    from process_models.loading import check_procedure
    from process_models.procedure import MAX_DEPENDENCIES, Procedure

    proc = Procedure.model_validate({
        "id": "big", "name": "n", "departments": [{"id": "d", "name": "d"}],
        "steps": [{"id": "s", "name": "s", "department": "d", "committed": {"days": 1}}],
        "stages": [{"id": "g", "name": "g", "steps": ["s"] * (MAX_DEPENDENCIES + 1)}],
    })
    with pytest.raises(ProcedureError, match=rf"100001 dependencies and stage members; the "
                                             rf"limit is {MAX_DEPENDENCIES}"):
        check_procedure(proc)
