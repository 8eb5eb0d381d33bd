"""The catalog: real procedures in their before-reform form, each citing its sources."""

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from process_models.catalog import CATALOG_DIR, catalog_ids, load_catalog_procedure
from process_models.loading import load_procedure
from process_models.procedure import Basis, Limit, Procedure
from process_models.summary import summarize

REQUIRED = [
    "newborn",
    "restaurant",
    "convenience_store",
    "enterprise_startup",
    "construction_permit",
    "property_transfer",
    "retirement",
    "utility_connection",
]

BUNDLES_2024 = [
    "newborn_window",
    "barber_shop",
    "supermarket",
    "transport_enterprise",
    "employee_hiring",
    "enterprise_info_change",
    "business_deregistration",
    "social_security_card",
    "posthumous",
    "education_enrolment",
    "disability_services",
]
"""The bundles added for 建华区 (its newborn window, 我要开理发店, 我要开超市) and the 2024 first
national batch."""

PRINTED = "报纸报道"
"""How a source without a web address says, in its note, where it appeared."""

NAME_OR_CODE = re.compile(r"[\w\-./]*(?:[/_\d]|\w\.\w)[\w\-./]*", re.ASCII)
"""A file name, a path or a code (restaurant.yaml, DB4112/T, utility_connection): a name in a
Chinese note, not an English word."""

SYSTEM_NAMES = {"aplanmis"}
"""Names of systems a source describes (the approval system whose stage model
construction_permit follows): names in a Chinese title, not English words."""


@pytest.fixture
def procedure(catalog_file: Path) -> Procedure:
    return load_procedure(catalog_file)


def numbers_with_basis(proc: Procedure) -> list[tuple[str, Limit | object]]:
    """Every limit, untimed part, lag and material of ``proc``, named by where it sits."""
    found: list[tuple[str, object]] = []
    for s in proc.steps:
        if s.statutory is not None:
            found.append((f"{s.id}.statutory", s.statutory))
        found.append((f"{s.id}.committed", s.committed))
        found += [(f"{s.id}.untimed.{u.kind}", u) for u in s.untimed]
        found += [(f"{s.id}.depends_on.{d.step}.lag", d.lag) for d in s.depends_on if d.lag]
    found += [(f"materials.{m.id}", m) for m in proc.materials]
    return found


def test_the_catalog_holds_the_required_procedures_and_at_least_sixteen():
    assert set(REQUIRED) | set(BUNDLES_2024) <= set(catalog_ids())
    assert len(catalog_ids()) >= 16


@pytest.mark.parametrize("procedure_id", BUNDLES_2024)
def test_every_number_of_a_new_bundle_states_its_basis(procedure_id):
    """Limits, untimed parts, lags, materials, dependency kinds, trips, 环节 and the
    告知承诺 flag of each added bundle say their basis in the file itself (none is left to
    count as an unstated estimate), and a sourced one names its source."""
    proc = load_catalog_procedure(procedure_id)
    stated = [*numbers_with_basis(proc),
              *((f"{s.id}.depends_on.{d.step}", d) for s in proc.steps for d in s.depends_on)]
    assert [where for where, item in stated if item.basis is None] == []
    assert [where for where, item in stated
            if item.basis is Basis.sourced and not item.source] == []
    figures = [(s.id, figure) for s in proc.steps
               for figure in ("trips", "links", "commitment_allowed")
               if (figure == "trips" and s.trips) or (figure == "links" and s.links != 1)
               or (figure == "commitment_allowed" and s.commitment_allowed is not None)]
    assert [f for f in figures if f[1] not in proc.step(f[0]).provenance] == []


def test_each_file_is_named_for_its_procedure_id_and_is_a_before_form(catalog_file, procedure):
    """Ids are unique because each is its file's stem; the catalog holds before-reform forms."""
    assert procedure.id == catalog_file.stem
    assert procedure.form == "before"


def test_validate_accepts_the_whole_catalog_folder(run_cli):
    code, out, err = run_cli("validate", CATALOG_DIR)
    assert (code, err) == (0, "")
    for pid in catalog_ids():
        assert f"{pid}.yaml：{load_catalog_procedure(pid).name}（{pid}，" in out


def test_show_prints_every_step_id(catalog_file, procedure, run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # a narrow terminal would shorten long ids with '…'
    code, out, _ = run_cli("show", catalog_file.stem)
    assert code == 0
    missing = [s.id for s in procedure.steps if s.id not in out]
    assert not missing


def test_catalog_overview_has_one_row_per_procedure(run_cli):
    import json

    code, out, _ = run_cli("catalog", "--json")
    assert code == 0
    assert [row["id"] for row in json.loads(out)] == catalog_ids()


def test_every_procedure_cites_sources_with_addresses(procedure):
    """Every source has a web address, or is a printed report whose note says so."""
    assert procedure.sources
    assert [src.title for src in procedure.sources
            if not src.url and PRINTED not in (src.note or "")] == []


def test_published_figures_name_their_source(procedure):
    """A published before/after set says where it comes from, and the procedure cites it."""
    if procedure.published is None:
        pytest.skip("no published figures")
    assert procedure.published.source.strip()
    assert procedure.sources
    given = [*procedure.published.before.model_dump(exclude_none=True),
             *procedure.published.after.model_dump(exclude_none=True)]
    assert given, "a published set with no figures"


def test_every_number_carries_its_basis(procedure):
    """Limits, untimed parts, lags and materials say whether they are sourced, estimated or
    remembered, so nobody cites an estimate as fact."""
    missing = [where for where, item in numbers_with_basis(procedure) if item.basis is None]
    assert not missing


def test_sourced_numbers_sit_in_procedures_that_cite_sources(procedure):
    sourced = [where for where, item in numbers_with_basis(procedure)
               if item.basis is Basis.sourced]
    assert not sourced or procedure.sources


def test_before_model_reproduces_the_published_before_figures(procedure):
    """The before model's own counts equal the published BEFORE figures within the declared
    tolerance. ``elapsed_working_days`` is compared with the sequential days (committed limits
    plus untimed parts and lags, one step after another): a before model is a chain (see the
    next test), so that is also its critical-path length. ``summed_limit_days`` is compared with
    the summed committed limits; the counts with the summary's counts."""
    published = procedure.published
    if published is None or not published.before.model_dump(exclude_none=True):
        pytest.skip("no published before figures")
    s = summarize(procedure)
    modelled = {"elapsed_working_days": s.sequential_working_days}
    off = {}
    for figure, expected in published.before.model_dump(exclude_none=True).items():
        actual = modelled[figure] if figure in modelled else getattr(s, figure)
        if actual != pytest.approx(expected, rel=published.tolerance):
            off[figure] = (expected, actual)
    assert not off, f"published before → modelled: {off}"


def test_before_model_with_a_published_elapsed_time_runs_one_step_after_another(procedure):
    """Before the reform every step waited for the one before it: the dependencies (legal and
    practice, through stages too) order all steps in one chain, so its critical path is the
    sequential time and a reform that parallelises practice dependencies can shorten it."""
    import networkx as nx

    from process_models.graph import to_graph

    published = procedure.published
    if published is None or published.before.elapsed_working_days is None:
        pytest.skip("no published before elapsed time")
    g = to_graph(procedure)
    steps = {s.id for s in procedure.steps}
    order = [n for n in nx.topological_sort(g) if n in steps]
    unordered = [(a, b) for a, b in pairwise(order) if not nx.has_path(g, a, b)]
    assert not unordered


def test_materials_output_by_a_step_come_after_that_step(procedure):
    """A step that needs another step's output waits for it (directly or through others)."""
    import networkx as nx

    from process_models.graph import to_graph

    g = to_graph(procedure)
    outputs = {m.id: m.from_step for m in procedure.materials if m.from_step}
    early = [(s.id, mid) for s in procedure.steps for mid in s.materials
             if mid in outputs and not nx.has_path(g, outputs[mid], s.id)]
    assert not early


def test_every_sourced_number_in_the_catalog_names_its_source(procedure):
    """A number marked sourced names its source: a law, or a document the file cites."""
    from process_models.provenance import numbers

    titles = " ".join(s.title for s in procedure.sources)
    sourced = [n for n in numbers(procedure) if n.sourced]
    assert [n.where for n in sourced if not n.source] == []
    assert [n.source for n in sourced if n.source not in titles and "法" not in n.source] == []


def test_an_immediate_item_has_no_committed_days_and_no_limit_claims_statutory_zero(procedure):
    """A 即办件 is decided the same day (committed 0); a local 当场办理 commitment is not a
    statutory limit of 0 days."""
    assert [s.id for s in procedure.steps
            if s.kind.value == "即办件" and s.committed.days > 0] == []
    assert [s.id for s in procedure.steps if s.statutory and s.statutory.days == 0] == []


def test_every_dependency_states_the_basis_of_its_kind(procedure):
    """Whether the law or only habit orders two steps is a claim too: every dependency says
    whether its kind is sourced, remembered or estimated, and a practice dependency (the order
    the model chose) is never presented as sourced."""
    deps = [(s.id, d) for s in procedure.steps for d in s.depends_on]
    assert [f"{sid} ← {d.step}" for sid, d in deps if d.basis is None] == []
    assert [f"{sid} ← {d.step}" for sid, d in deps
            if d.kind.value == "practice" and d.basis is Basis.sourced] == []


def parts_with_notes(thing: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every part of a definition that carries a note (the procedure, its sources, published
    figures, materials, steps, limits and untimed parts), named by where it sits."""
    if isinstance(thing, BaseModel):
        fields = type(thing).model_fields
        if "note" in fields:
            yield where or "procedure", thing
        for name in fields:
            yield from parts_with_notes(getattr(thing, name), f"{where}.{name}")
    elif isinstance(thing, (list, tuple)):
        for i, x in enumerate(thing):
            yield from parts_with_notes(x, f"{where}[{getattr(x, 'id', i)}]")
    elif isinstance(thing, dict):
        for key, x in thing.items():
            yield from parts_with_notes(x, f"{where}[{key}]")


def english_words(text: str) -> set[str]:
    """The English words of ``text``: runs of two letters or more, names aside (file names,
    paths, codes, catalog procedure ids and system names)."""
    return (set(re.findall(r"[A-Za-z]{2,}", NAME_OR_CODE.sub(" ", text)))
            - set(catalog_ids()) - SYSTEM_NAMES)


@pytest.mark.parametrize(("text", "words"), [
    ("同 restaurant.yaml 中的户外招牌设施设置", set()),
    ("三门峡 DB4112/T 318—2023；见 utility_connection", set()),
    ("barber_shop、restaurant 已采用 3 天", set()),
    ("数据共享 (data sharing)", {"data", "sharing"}),
    ("各阶段时限均为估计 estimates.", {"estimates"})])
def test_english_words_leave_out_names_and_codes(text, words):
    assert english_words(text) == words


def test_every_note_of_a_catalog_procedure_reads_chinese(procedure):
    """Pages and reports show a definition's ``note`` to Chinese readers: no English word in
    one (the limits a step takes from the catalog registry included)."""
    english = {where: english_words(part.note) for where, part in parts_with_notes(procedure)
               if part.note}
    assert {where: words for where, words in english.items() if words} == {}


def test_an_english_note_sits_beside_a_chinese_one(procedure):
    """``note_en`` is the English of a note (shown with ``?lang=en``): it sits beside a note,
    reads English and differs from it."""
    parts = [(where, part) for where, part in parts_with_notes(procedure) if part.note_en]
    assert [where for where, part in parts
            if not part.note or part.note_en == part.note
            or not english_words(part.note_en)] == []


def test_the_catalog_keeps_the_english_of_its_notes():
    """The notes that were written in English keep it in ``note_en``: the restaurant's
    material notes, its steps' and its published figures' among them."""
    restaurant = load_catalog_procedure("restaurant")
    assert restaurant.material("operator_id").note_en == "data sharing"
    assert restaurant.step("signboard").note_en.startswith("the sign shows the registered name")
    assert restaurant.published.note_en.startswith("trips 6 → 1 and 环节 17 → 2 are inferred")
    assert sum(part.note_en is not None for proc_id in catalog_ids()
               for _, part in parts_with_notes(load_catalog_procedure(proc_id))) >= 150


def test_every_source_title_of_a_catalog_procedure_reads_chinese(procedure):
    """A number names its source by the source's title (or its start), and the planner's
    依据 column and the reports show that to Chinese readers: no English word in a title."""
    assert {src.title: english_words(src.title) for src in procedure.sources
            if english_words(src.title)} == {}


def test_an_english_title_sits_beside_a_chinese_one(procedure):
    """``title_en`` is the English of a title (shown with ``?lang=en``): it reads English and
    differs from the title."""
    assert [src.title for src in procedure.sources if src.title_en is not None
            and (src.title_en == src.title or not english_words(src.title_en))] == []


def test_the_catalog_keeps_the_english_of_its_titles():
    """The titles that were written in English keep it in ``title_en``."""
    restaurant = load_catalog_procedure("restaurant")
    assert [src.title_en for src in restaurant.sources][1] == \
        'Xinhua digest of the 四川 reform ("17 steps to 2")'
    assert sum(src.title_en is not None for proc_id in catalog_ids()
               for src in load_catalog_procedure(proc_id).sources) >= 60


def test_every_note_of_the_catalog_registry_reads_chinese_and_keeps_its_english():
    """The registry's own note, its items' and their limits' read Chinese; the English that
    was there sits beside each in ``note_en``."""
    from process_models.bundles import named_registry

    parts = list(parts_with_notes(named_registry("catalog"), "registry"))
    assert {where: english_words(part.note) for where, part in parts
            if part.note and english_words(part.note)} == {}
    assert [where for where, part in parts if part.note_en
            and (not part.note or part.note_en == part.note
                 or not english_words(part.note_en))] == []
    assert named_registry("catalog").item("seal").note_en == (
        "used by enterprise_info_change, enterprise_startup, supermarket, transport_enterprise")
