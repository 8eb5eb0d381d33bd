"""一件事 bundles on the catalog registry: an item is defined once, every bundle that names it
follows the registry, a portfolio counts shared items and departments once."""

from __future__ import annotations

import pytest
import yaml

from process_models import bundles
from process_models.catalog import CATALOG_DIR, catalog_ids, load_catalog
from process_models.errors import ProcedureError, UnknownReference
from process_models.loading import dump_procedure, parse_procedure
from process_models.registry import dump_registry

REGISTRY = bundles.named_registry("catalog")
FILLED = ("name", "department", "kind", "statutory", "committed")


def raw_steps():
    """(procedure id, step as written) for every catalog step that names a registry item."""
    for pid in catalog_ids():
        data = yaml.safe_load((CATALOG_DIR / f"{pid}.yaml").read_text(encoding="utf-8"))
        yield from ((pid, s) for s in data["steps"] if "item" in s)


@pytest.fixture
def registry_with(tmp_path, monkeypatch):
    """Point ``registry: catalog`` at a changed copy of the catalog registry."""
    def change(code: str, committed_days: float):
        registry = REGISTRY.model_copy(deep=True)
        item = registry.item(code)
        item.committed = item.committed.model_copy(update={"days": committed_days})
        path = tmp_path / "registry.yaml"
        path.write_text(dump_registry(registry), encoding="utf-8")
        monkeypatch.setitem(bundles.REGISTRY_FILES, "catalog", path)
    return change


@pytest.mark.parametrize("code", [i.code for i in REGISTRY.items])
def test_changing_an_items_committed_limit_changes_every_bundle_using_it_and_nothing_else(
        registry_with, code):
    """Each step naming the item (and not stating a limit of its own) takes the new
    committed limit; every other number of the catalog stays as it was."""
    before = {p.id: p for p in load_catalog()}
    registry_with(code, 0.5)
    after = {p.id: p for p in load_catalog()}
    changed = {(pid, s.id) for pid, p in after.items() for s, old in
               zip(p.steps, before[pid].steps, strict=True) if s != old}
    expected = {(pid, s["id"]) for pid, s in raw_steps()
                if s["item"] == code and "committed" not in s}
    assert changed == expected and expected
    for pid, sid in changed:
        new, old = after[pid].step(sid), before[pid].step(sid)
        assert new.committed.days == 0.5
        assert new.model_copy(update={"committed": old.committed}) == old


def test_shared_items_reach_several_bundles():
    """The registry holds items more than one bundle uses: 印章刻制 reaches three."""
    users = {}
    for pid, s in raw_steps():
        users.setdefault(s["item"], set()).add(pid)
    assert users["seal"] == {"enterprise_info_change", "enterprise_startup", "supermarket",
                             "transport_enterprise"}
    assert sum(len(u) > 1 for u in users.values()) >= 7


def test_a_bundle_restates_what_the_registry_gives_only_as_its_own_dated_state():
    """Only enterprise_startup (the 2018 before-state) states limits the registry gives,
    each with a note saying why; no catalog file restates a name or department."""
    restated = {(pid, s["id"], k) for pid, s in raw_steps() for k in FILLED if k in s}
    assert restated == {("enterprise_startup", "establishment_registration", "statutory"),
                        ("enterprise_startup", "establishment_registration", "committed"),
                        ("enterprise_startup", "seal", "committed"),
                        ("enterprise_startup", "tax_invoice", "committed")}
    assert all(s["committed"]["note"].startswith("本件事自定的时限")
               and s["committed"]["note_en"].startswith("this bundle's own")
               for pid, s in raw_steps() if "committed" in s)


def test_catalog_departments_are_the_registrys_one_set():
    """Every catalog procedure's departments are the registry's, by id and by name."""
    names = {d.id: d for d in REGISTRY.departments}
    for proc in load_catalog():
        assert proc.registry == "catalog"
        assert all(names[d.id] == d for d in proc.departments)


def test_a_step_names_its_registry_items_name_department_and_limits():
    """The registry's figures arrive with their basis and source."""
    proc = parse_procedure("id: x\nname: 示例\nregistry: catalog\nsteps:\n"
                           "- {id: tax, item: tax_invoice}\n")
    step = proc.step("tax")
    assert (step.name, step.department, step.committed.days, step.committed.basis.value) == (
        "涉税事项办理及申领发票、税控设备", "tax", 2, "sourced")
    assert "32号" in step.committed.source
    assert [d.name for d in proc.departments] == ["税务局"]


@pytest.mark.parametrize(("text", "error", "match"), [
    ("registry: catalog\nsteps:\n- {id: s, item: seel}\n", UnknownReference,
     r"x.yaml:5: steps\[0\].item: registry 'catalog' has no item 'seel' \(did you mean 'seal'\?\)"),
    ("registry: catalgo\nsteps:\n- {id: s, item: seal}\n", UnknownReference,
     r"x.yaml:3: registry: unknown registry 'catalgo'.*\(did you mean 'catalog'\?\)"),
    ("steps:\n- {id: s, item: seal}\n", ProcedureError,
     r"steps\[0\].item: names registry item 'seal' but the procedure names no registry"),
])
def test_a_bad_registry_reference_is_one_located_line(text, error, match):
    """Unknown codes and registries get a did-you-mean."""
    with pytest.raises(error, match=match):
        parse_procedure("id: x\nname: 示例\n" + text, file="x.yaml")


def test_a_stored_version_keeps_the_department_names_it_was_written_with():
    """What a file states wins over the registry, so a registry rename leaves old versions
    readable and unchanged."""
    proc = parse_procedure("id: x\nname: 示例\nregistry: catalog\n"
                           "departments: [{id: police, name: 公安派出所}]\n"
                           "steps:\n- {id: s, item: seal}\n")
    assert [(d.id, d.name) for d in proc.departments] == [("police", "公安派出所")]


def test_an_unknown_item_code_at_the_cli_is_one_line_and_exit_2(run_cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nname: 示例\nregistry: catalog\nsteps:\n- {id: s, item: seel}\n",
                    encoding="utf-8")
    code, _, err = run_cli("validate", path)
    assert code == 2 and "did you mean 'seal'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("pid", catalog_ids())
def test_a_reformed_bundle_round_trips_with_what_it_changed(pid):
    """The after-version states what the reform changed (即办, a shorter or no statutory
    limit) and loads back equal, though the registry would fill those fields otherwise."""
    from flows.casework.definitions import catalog_after, catalog_version

    for proc in (catalog_version(pid, "before"), catalog_after(pid)):
        if proc is not None:
            assert parse_procedure(dump_procedure(proc)) == proc


def test_portfolio_counts_shared_items_and_departments_once(run_cli, tmp_path):
    """newborn (9 steps, 6 departments) and newborn_window (its 3 registry items, 3 of the
    same departments): 12 steps and 9 departments added up, 9 items and 6 departments once."""
    from simulations.planning.metrics import portfolio

    for pid in ("newborn", "newborn_window"):
        (tmp_path / f"{pid}.yaml").write_text(
            (CATALOG_DIR / f"{pid}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = run_cli("portfolio", tmp_path)
    assert code == 0 and "6个部门、9个事项，其中3个事项为多个一件事共用" in out
    totals = portfolio([p for p in load_catalog() if p.id in ("newborn", "newborn_window")])
    assert (totals.before["steps"], totals.before["departments"]) == (12, 9)
    assert totals.distinct_before == {"departments": 6, "items": 9, "shared_items": 3}
