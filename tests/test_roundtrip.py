"""Round trips lose nothing: YAML → model → YAML for every field, and step tables."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from process_models.loading import dump_procedure, parse_procedure
from process_models.procedure import Procedure
from process_models.table import procedure_from_table, table_from_procedure
from process_models.table_files import read_table, write_table
from tests.strategies import procedures

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _stated(limit) -> tuple | None:
    return limit and (limit.days, limit.unit, limit.basis, limit.source)


def table_view(proc: Procedure) -> list[tuple]:
    """What a step table holds of each step, by name (ids are derived on import), the
    bases its 依据 column gives included."""
    steps = {s.id: s.name for s in proc.steps}
    departments = {d.id: d.name for d in proc.departments}
    materials = {m.id: m.name for m in proc.materials}
    return [
        (
            s.name, departments[s.department],
            [(steps[d.step], d.kind, d.basis, d.source) for d in s.depends_on],
            _stated(s.statutory), _stated(s.committed),
            [materials[m] for m in s.materials], s.trips, s.provenance.get("trips"), s.kind,
            s.note,
        )
        for s in proc.steps
    ]


@pytest.mark.slow   # 100 random procedures, seconds
@SETTINGS
@given(procedures())
def test_yaml_round_trip_keeps_every_field(proc):
    """Parsing runs check_procedure too, so this also checks the generated procedures."""
    assert parse_procedure(dump_procedure(proc)) == proc


TABLE_SAFE = procedures(table_safe=True, with_stages=False, with_lags=False, with_untimed=False,
                        with_distributions=False, with_metadata=False)


@pytest.mark.slow   # 100 random procedures, seconds
@SETTINGS
@given(TABLE_SAFE)
def test_model_to_table_to_model_keeps_what_a_table_holds(proc):
    back = procedure_from_table(table_from_procedure(proc), procedure_id=proc.id, name=proc.name)
    assert table_view(back) == table_view(proc)


@pytest.mark.slow   # 100 random procedures, seconds
@SETTINGS
@given(TABLE_SAFE)
def test_table_to_model_to_table_gives_the_same_cells(proc):
    for headers in ("zh", "en"):
        table = table_from_procedure(proc, headers=headers)
        assert table_from_procedure(procedure_from_table(table), headers=headers) == table


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(proc=TABLE_SAFE)
def test_table_files_round_trip_through_csv_and_xlsx(tmp_path, proc):
    """Text cells come back as text, numbers as numbers, in both file formats."""
    for name in ("steps.csv", "steps.xlsx"):
        write_table(table_from_procedure(proc), tmp_path / name)
        back = procedure_from_table(read_table(tmp_path / name))
        assert table_view(back) == table_view(proc)
