"""The basis of every number (sourced, estimate, memory, fitted, inferred) reaches every
output: ``show``, ``show --json``, ``export-table`` and back, and ``audit report``."""

from __future__ import annotations

import csv
import json

import pytest

from process_models.catalog import catalog_ids, load_catalog_procedure
from process_models.errors import TableError
from process_models.loading import parse_procedure
from process_models.procedure import Basis
from process_models.provenance import numbers, sourced_line
from process_models.table import procedure_from_table, table_from_procedure
from simulations.planning.scenario import catalog_reform

BARE = """
id: shop
name: 小店
departments: [{id: samr, name: 市场监管局}]
steps:
  - id: licence
    name: 营业执照
    department: samr
    committed: {days: 3}
    trips: 1
  - id: food
    name: 食品经营许可
    department: samr
    committed: {days: 10, basis: S, source: 食品经营许可和备案管理办法 第26条}
    depends_on: [{step: licence, basis: sourced, source: 食品安全法 第35条}]
    trips: 1
    fee_yuan: 0
    commitment_allowed: true
    provenance: {trips: {basis: sourced, source: 四川 办事指南}, commitment_allowed: {basis: memory},
                 fee_yuan: {basis: sourced, source: 四川 办事指南}}
"""


@pytest.fixture
def shop():
    return parse_procedure(BARE)


def test_a_bare_number_still_loads_and_counts_as_an_unstated_estimate(shop):
    """A number without a basis loads as before; every output calls it an estimate."""
    by = {n.where: n for n in numbers(shop)}
    assert by["steps[licence].committed"].basis is Basis.estimate
    assert not by["steps[licence].committed"].stated
    assert by["steps[food].committed"].source == "食品经营许可和备案管理办法 第26条"
    assert by["steps[food].depends_on[licence].kind"].sourced
    assert by["steps[food].trips"].sourced
    assert by["steps[food].commitment_allowed"].basis is Basis.memory
    assert by["steps[food].fee_yuan"].sourced and "steps[licence].fee_yuan" not in by


def test_commitment_allowed_is_unknown_unless_stated_and_truthy_only_when_allowed(shop):
    """告知承诺 is three-valued: true allowed, false not allowed, None (the default) unknown."""
    assert shop.step("licence").commitment_allowed is None
    assert shop.step("food").commitment_allowed is True
    assert not shop.step("licence").commitment_allowed


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_show_json_carries_the_basis_of_every_number(run_cli, procedure_id):
    """``show --json`` gives every limit, untimed part, lag, dependency kind, trips, 环节,
    ``commitment_allowed`` and material count its basis; dropping one fails here."""
    code, out, _ = run_cli("show", procedure_id, "--json")
    basis = json.loads(out)["basis"]
    proc = load_catalog_procedure(procedure_id)
    assert code == 0 and set(basis) == {n.where for n in numbers(proc)}
    assert all(b["basis"] in {x.value for x in Basis} for b in basis.values())
    assert sum(k.endswith(".committed") for k in basis) == len(proc.steps)


def test_show_marks_every_number_without_a_source_and_ends_with_the_sourced_share(run_cli, tmp_path):
    """The step table prints ``3†E`` for an unsourced number, nothing for a sourced one, a
    legend and the line 有来源的承诺时限 n/N."""
    path = tmp_path / "shop.yaml"
    path.write_text(BARE, encoding="utf-8")
    code, out, _ = run_cli("show", path)
    assert code == 0
    assert "3†E" in out and "10†" not in out
    assert "† 无来源" in out and out.rstrip().endswith("有来源的承诺时限 1/2 (50%)")


@pytest.mark.parametrize("headers", ["zh", "en"])
def test_export_table_has_a_basis_column_that_import_reads_back(shop, headers):
    """The 依据 column holds each stated basis and its source; reading it gives them back."""
    table = table_from_procedure(shop, headers=headers)
    assert table[0][-1] == ("依据" if headers == "zh" else "basis")
    assert table[2][-1] == ("承诺=S 食品经营许可和备案管理办法 第26条；跑动=S 四川 办事指南；"
                            "依赖=S 食品安全法 第35条" if headers == "zh" else
                            "committed=S 食品经营许可和备案管理办法 第26条；trips=S 四川 办事指南；"
                            "dependency=S 食品安全法 第35条")
    back = procedure_from_table(table)
    food = next(s for s in back.steps if s.name == "食品经营许可")
    assert (food.committed.basis, food.committed.source) == (
        Basis.sourced, "食品经营许可和备案管理办法 第26条")
    assert food.provenance["trips"].source == "四川 办事指南"
    assert food.depends_on[0].basis is Basis.sourced
    assert table_from_procedure(back, headers=headers) == table


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_export_table_carries_each_dependencys_basis_of_every_catalog_procedure(procedure_id):
    """A step whose dependencies have different bases (a legal one from a law, a practice one
    estimated) gives one 依赖 entry per 前置事项, in order; reading the table gives each back,
    so dropping one fails here."""
    proc = load_catalog_procedure(procedure_id)
    back = procedure_from_table(table_from_procedure(proc))
    names = {s.id: s.name for s in proc.steps} | {s.id: s.name for s in back.steps}
    read = {(s.name, names[d.step]): (d.basis, d.source) for s in back.steps
            for d in s.depends_on}
    stated = {(s.name, names[d.step]): (d.basis, d.source) for s in proc.steps
              for d in s.depends_on if d.step in names}
    assert stated and {k: read.get(k) for k in stated} == stated


def test_a_source_holding_a_separator_is_wrapped_in_the_basis_cell_and_read_back_whole(shop):
    source = "理发店: 营业执照 3–7 working days; 卫生许可 10–15 working days"
    shop.step("food").committed.source = source
    table = table_from_procedure(shop)
    assert f"承诺=S 「{source}」" in table[2][-1]
    assert procedure_from_table(table).steps[1].committed.source == source


def test_a_step_table_refuses_a_count_of_dependency_bases_that_fits_no_prerequisite_list():
    rows = [["事项", "部门", "前置事项", "承诺时限", "依据"], ["营业执照", "市场监管局", "", 3, ""],
            ["备案", "公安局", "营业执照", 1, "依赖=M；依赖=E"]]
    with pytest.raises(TableError, match=r"row 3, 依据: 2 依赖 bases for 1 prerequisites; give "
                                         "one for all, or one per prerequisite in order"):
        procedure_from_table(rows)


@pytest.mark.parametrize(("cell", "message"), [
    ("承诺 S", r"row 2, 依据: cannot read '承诺 S'; write label=basis source"),
    ("时限=S", r"row 2, 依据: cannot read '时限=S'"),
    ("承诺=X", r"row 2, 依据: 'X' is not allowed; use S or E or M or F or I"),
])
def test_a_bad_basis_cell_is_one_line_naming_row_and_fix(cell, message):
    rows = [["事项", "部门", "承诺时限", "依据"], ["营业执照", "市场监管局", 3, cell]]
    with pytest.raises(TableError, match=message):
        procedure_from_table(rows)


def test_audit_report_json_carries_the_basis_of_every_number_and_the_sourced_share(run_cli):
    """Each item states the basis of its statutory and committed limits; each procedure the
    basis of every number before and after; the report ends with the sourced share."""
    code, out, _ = run_cli("audit", "report", "restaurant", "--format", "json")
    data = json.loads(out)
    before = load_catalog_procedure("restaurant")
    assert code == 0
    assert set(data["procedures"][0]["basis"]["before"]) == {n.where for n in numbers(before)}
    after = catalog_reform("restaurant").after
    assert set(data["procedures"][0]["basis"]["after"]) == {n.where for n in numbers(after)}
    assert all(i["committed_before_basis"] in {b.value for b in Basis}
               for i in data["items"] if i["committed_before_days"] is not None)
    assert data["sourced"]["before"] == sourced_line([before]) == "有来源的承诺时限 0/5 (0%)"


def test_audit_report_table_csv_and_html_show_the_basis_and_the_sourced_share(run_cli, tmp_path):
    """The table closes with the sourced share before and after (then the chain's anchor); the CSV's items carry a 依据
    column; the HTML's totals give the sourced share."""
    code, out, _ = run_cli("audit", "report", "newborn")
    assert code == 0 and "；改革后有来源的承诺时限 0/1 (0%)\n" in out
    code, _, _ = run_cli("audit", "report", "newborn", "--format", "csv", "-o", tmp_path / "r.csv")
    rows = list(csv.reader((tmp_path / "r.csv").open(encoding="utf-8-sig")))
    assert "依据(法定/改革前/改革后)" in rows[0]
    assert rows[4][-1] == "—/有来源/—"   # 出生登记: no statutory limit, before sourced, merged after
    code, _, _ = run_cli("audit", "report", "newborn", "--format", "html",
                         "-o", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "有来源的承诺时限 2/9 (22%)" in page and "有来源的承诺时限 0/1 (0%)" in page


PUBLISHED = """
id: shop
name: 小店
status: published
departments: [{id: samr, name: 市场监管局}]
steps:
  - id: licence
    name: 营业执照
    department: samr
    committed: {days: 3, basis: sourced, source: 办事指南}
    trips: 1
    provenance:
      trips: {basis: sourced, source: 办事指南}
      links: {basis: sourced, source: 办事指南}
      commitment_allowed: {basis: sourced, source: 证照分离 清单}
"""


@pytest.mark.parametrize(("text", "code", "said"), [
    (PUBLISHED, 0, "通过"),
    (PUBLISHED.replace("source: 证照分离 清单", "source: null"), 2,
     ("steps[licence].commitment_allowed: None is sourced, no source; a file with status: "
     "published needs basis: sourced and a source for every number")),
    (PUBLISHED.replace("basis: sourced, source: 办事指南}\n    trips", "}\n    trips"), 2,
     "steps[licence].committed: 3.0 is estimate (no basis stated), no source;"),
    (BARE, 0, "通过"),
])
def test_validate_strict_refuses_an_unsourced_number_only_in_a_published_file(
        run_cli, tmp_path, text, code, said):
    """``status: published`` claims published data: ``validate --strict`` then needs
    ``basis: sourced`` and a source on every number; other files pass as before."""
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    assert run_cli("validate", path)[0] == 0
    got, out, err = run_cli("validate", "--strict", path)
    assert got == code and said in out + err.replace("\n", " ")


@pytest.mark.parametrize(("allowed", "fees", "joint"), [
    ((True, True), (0, 0), (True, 0)),
    ((True, None), (10, None), (True, 10)),
    ((True, False), (None, None), (False, None)),
    ((None, False), (None, None), (False, None)),
    ((None, None), (None, None), (None, None)),
])
def test_a_merged_step_keeps_its_members_known_commitment_and_adds_the_fees(
        shop, allowed, fees, joint):
    """联审 of two steps: 告知承诺 not allowed when either member does not, allowed when one
    does and neither does not, else unknown; the fee is the members' fees added up (none
    when neither gives one)."""
    from simulations.planning.reforms import merge

    steps = [s.model_copy(update={"commitment_allowed": a, "fee_yuan": f, "depends_on": []})
             for s, a, f in zip(shop.steps, allowed, fees, strict=True)]
    after, _ = merge(shop.model_copy(update={"steps": steps}), ["licence", "food"], id="joint")
    assert (after.step("joint").commitment_allowed, after.step("joint").fee_yuan) == joint


def test_portfolio_ends_with_the_sourced_share_and_carries_it_in_json(run_cli, tmp_path):
    """``portfolio`` closes with the sourced share before (and after, for pairs)."""
    from process_models.catalog import CATALOG_DIR

    code, out, _ = run_cli("portfolio", CATALOG_DIR)
    procs = [load_catalog_procedure(i) for i in catalog_ids()]
    assert code == 0 and out.rstrip().endswith("改革前" + sourced_line(procs))
    code, out, _ = run_cli("portfolio", CATALOG_DIR, "--json")
    assert json.loads(out)["sourced"] == {"before": sourced_line(procs), "after": None}


@pytest.mark.parametrize(("overhead", "basis", "source"), [
    (0, Basis.sourced, "食品经营许可和备案管理办法 第26条"), (2, None, None)])
def test_a_merged_limit_keeps_its_longest_members_basis_only_without_overhead(
        shop, overhead, basis, source):
    """The joint limit is the longest member's, basis and source included; with coordination
    days added it is the model's own figure and states no basis (an estimate)."""
    from simulations.planning.reforms import merge

    steps = [s.model_copy(update={"depends_on": []}) for s in shop.steps]
    after, _ = merge(shop.model_copy(update={"steps": steps}), ["licence", "food"], id="joint",
                     overhead_days=overhead)
    committed = after.step("joint").committed
    assert (committed.basis, committed.source) == (basis, source)
