"""Every catalog procedure has a reform scenario; each published figure says how it is reproduced."""

import re
from pathlib import Path

import pytest

from process_models.catalog import CATALOG_DIR, catalog_ids, load_catalog_procedure
from process_models.loading import dump_procedure, parse_procedure
from simulations.planning.scenario import (
    REPRODUCED_BY,
    TARGET_ARGUMENTS,
    catalog_reform,
    catalog_scenario_path,
    load_scenario,
    reform,
)


@pytest.fixture(params=catalog_ids())
def procedure_id(request) -> str:
    return request.param


def test_each_scenario_is_written_for_its_procedure_and_justifies_every_lever(procedure_id):
    scenario = load_scenario(catalog_scenario_path(procedure_id))
    assert scenario.procedure == procedure_id
    assert scenario.source
    assert all(call.note for call in scenario.levers)


@pytest.mark.parametrize("path", sorted((Path(CATALOG_DIR) / "reforms").glob("*.yaml")),
                         ids=lambda path: path.stem)
def test_each_reform_note_reads_chinese_and_keeps_its_english_in_note_en(path):
    """Notes are shown on Chinese pages: no English word in them (a file name such as
    construction_permit.yaml is a name, not a word); the English goes in ``note_en``."""
    scenario = load_scenario(path)
    notes = [scenario.note or "", *(call.note or "" for call in scenario.levers)]
    words = {word for note in notes
             for word in re.findall(r"[A-Za-z]{5,}", re.sub(r"[\w.]+\.yaml", "", note))}
    assert not words


def test_each_published_after_figure_says_how_it_is_reproduced(procedure_id):
    """Every published figure carries its kind (value or ceiling), its source and how it is
    reproduced; a figure counts as reproduced by mechanism exactly when the scenario without
    its target levers meets it, and by a sourced limit only when the targets are needed."""
    result = catalog_reform(procedure_id)
    if result.before.published is None:  # a bundle no source gives figures for claims none
        assert result.checks == [] and result.reproduces
        return
    assert any(c.published_after is not None for c in result.checks), "nothing to reproduce"
    alone = catalog_reform_by_mechanisms(procedure_id)
    for check, mechanism in zip(result.checks, alone.checks, strict=True):
        entry = check.as_dict()
        assert entry["kind"] in ("value", "ceiling") and entry["source"]
        if check.published_after is None:
            assert entry["reproduced_by"] is None
            continue
        assert entry["reproduced_by"] in REPRODUCED_BY
        assert (check.reproduced_by in ("mechanism", "definition")) == bool(mechanism.within)
        assert (check.reproduced_by == "sourced_limit") == bool(check.within
                                                                and not mechanism.within)


def test_no_catalog_scenario_holds_an_unsourced_target_lever(procedure_id):
    """A lever argument that types in a number (compress, a merge's links) needs the
    published commitment it comes from."""
    scenario = load_scenario(catalog_scenario_path(procedure_id))
    unsourced = [(call.lever, arg) for call in scenario.levers
                 for arg in TARGET_ARGUMENTS.get(call.lever, ()) if arg in call.args
                 and not call.source]
    assert unsourced == []


def catalog_reform_by_mechanisms(procedure_id: str):
    """The catalog reform with its target levers removed."""
    scenario = load_scenario(catalog_scenario_path(procedure_id)).mechanisms_only()
    return reform(load_catalog_procedure(procedure_id), scenario)


def test_the_mechanisms_alone_reproduce_these_published_figures():
    """Builds each catalog reform without its target levers and prints which published
    after-figures the mechanisms alone reproduce (run with ``-s`` to read the table)."""
    rows = [("procedure", "figure", "published", "mechanisms alone", "with targets",
             "reproduced_by")]
    for pid in catalog_ids():
        full, alone = catalog_reform(pid), catalog_reform_by_mechanisms(pid)
        for check, mechanism in zip(full.checks, alone.checks, strict=True):
            if check.published_after is None:
                continue
            bound = "≤" if check.kind == "ceiling" else ""
            inferred = " (inferred)" if check.inferred else ""
            rows.append((pid, check.figure, f"{bound}{check.published_after:g}{inferred}",
                         f"{mechanism.computed_after:g} {'yes' if mechanism.within else 'no'}",
                         f"{check.computed_after:g}", check.reproduced_by))
            assert mechanism.reproduced_by in ("mechanism", "definition", "none")
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    print("\n" + "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)) for r in rows))
    assert len(rows) > 1


def test_each_reformed_procedure_is_valid_and_round_trips(procedure_id):
    result = catalog_reform(procedure_id)
    assert result.after.form == "after"
    assert parse_procedure(dump_procedure(result.after)) == result.after


def test_the_reform_leaves_the_catalog_procedure_unchanged(procedure_id):
    before = load_catalog_procedure(procedure_id)
    result = catalog_reform(procedure_id)
    assert result.before == before
    assert result.comparison.after.elapsed_working_days <= (
        result.comparison.before.elapsed_working_days)
