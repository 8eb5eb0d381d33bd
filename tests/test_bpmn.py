"""BPMN 2.0 interchange: modeler files load, procedures round-trip, bad files fail clearly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from process_models.errors import BpmnError, UnknownReference
from process_models.loading import load_procedure
from simulations.capacity.plans import StaffPlan
from simulations.capacity.service_centre import simulate_capacity
from simulations.interchange.bpmn import (
    bpmn_graph,
    bpmn_procedure,
    load_bpmn,
    procedure_bpmn,
    read_bpmn,
)
from tests.strategies import procedures

DATA = Path(__file__).parent / "data" / "bpmn"


def test_every_catalog_procedure_round_trips_through_bpmn(catalog_file):
    """Limits, materials, dependency kinds and every other field survive export + import."""
    proc = load_procedure(catalog_file)
    assert bpmn_procedure(read_bpmn(procedure_bpmn(proc))) == proc


@pytest.mark.slow   # 60 random procedures, seconds
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(procedures())
def test_any_valid_procedure_round_trips_through_bpmn(proc):
    assert bpmn_procedure(read_bpmn(procedure_bpmn(proc))) == proc


def test_an_exported_file_has_lanes_a_diagram_and_our_extensions(tmp_path):
    from process_models.catalog import load_catalog_procedure

    newborn = load_catalog_procedure("newborn")
    xml = procedure_bpmn(newborn)
    lanes, steps = len(newborn.departments), len(newborn.steps)
    assert xml.count("<bpmn:lane ") == lanes
    assert xml.count("<bpmn:userTask ") == steps
    assert xml.count("<bpmndi:BPMNShape ") == (lanes + steps + 2
                                               + xml.count("<bpmn:parallelGateway "))
    assert '"committed": {"days": 5' in xml and '"materials": ["mother_id"' in xml


def test_a_bpmn_io_file_with_lanes_and_parallel_gateways_imports_as_a_procedure():
    proc = bpmn_procedure(load_bpmn(DATA / "bpmnio_parallel.bpmn"))
    assert [s.id for s in proc.steps] == ["Activity_licence", "Activity_food", "Activity_fire"]
    assert {d.id: d.name for d in proc.departments} == {"Lane_samr": "市场监管局",
                                                        "Lane_fire": "消防救援大队"}
    assert proc.step("Activity_fire").department == "Lane_fire"
    assert proc.step("Activity_food").predecessors == ["Activity_licence"]
    assert proc.step("Activity_fire").predecessors == ["Activity_licence"]
    assert proc.step("Activity_food").committed.basis.value == "estimate"


def test_a_camunda_file_with_a_choice_is_refused_as_a_procedure_naming_the_gateway():
    with pytest.raises(BpmnError, match="exclusive gateway 'Gateway_merge' \\(and 1 more\\)"
                                        ".*onething capacity FILE.bpmn"):
        bpmn_procedure(load_bpmn(DATA / "camunda_exclusive.bpmn"))


def test_a_camunda_file_with_a_rework_loop_simulates_with_its_branch_probabilities():
    graph = bpmn_graph(load_bpmn(DATA / "camunda_exclusive.bpmn"))
    probabilities = {f.id: f.probability for f in graph.outgoing("Gateway_complete")}
    assert probabilities == {"Flow_0d": 0.8, "Flow_0e": None}   # the rest: 0.2
    result = simulate_capacity([graph], start=date(2025, 3, 3), end=date(2025, 3, 14), seed=1,
                               staff=StaffPlan({"Lane_window": 2, "Lane_planning": 2}))
    assert result.procedures["Process_permit"].cases > 0
    assert set(result.departments) == {"Lane_window", "Lane_planning"}


def test_a_dangling_sequence_flow_is_one_error_naming_the_flow():
    with pytest.raises(BpmnError, match="sequence flow 'Flow_5' targetRef='Gateway_joni' names "
                                        "no task.*did you mean 'Gateway_join'"):
        load_bpmn(DATA / "dangling_flow.bpmn")


def test_an_unsupported_element_is_one_error_naming_it_and_its_id():
    with pytest.raises(BpmnError, match="boundary_event.bpmn: unsupported BPMN element "
                                        "<boundaryEvent id='Event_overdue'>"):
        load_bpmn(DATA / "boundary_event.bpmn")


@pytest.mark.parametrize("text, message", [
    ("<definitions", "not well-formed XML"),
    ("<html/>", "not a BPMN 2.0 <definitions>"),
    ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>', "no process with tasks"),
])
def test_files_that_are_not_bpmn_are_one_error(text, message):
    with pytest.raises(BpmnError, match=message):
        read_bpmn(text)


def test_a_graph_without_a_start_event_is_refused():
    xml = ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">'
           '<process id="p"><task id="t"/></process></definitions>')
    with pytest.raises(BpmnError, match="0 start events"):
        bpmn_graph(read_bpmn(xml))


def test_a_flow_graph_names_unknown_elements_with_a_suggestion():
    from simulations.capacity.model import Event, Flow, ProcessGraph

    with pytest.raises(UnknownReference, match="sequence flow 'f' targetRef 'ned'.*'end'"):
        ProcessGraph("p", "p", (Event("start", "start"), Event("end", "end")),
                     (Flow("f", "start", "ned"),))


def test_ids_that_are_not_xml_names_become_unique_xml_ids_and_come_back():
    """BPMN ids must be XML names; ours may hold Chinese, '-' or a leading digit."""
    import re
    import xml.etree.ElementTree as ET

    from process_models.loading import parse_procedure

    proc = parse_procedure("""
id: odd
name: 奇特编号
departments: [{id: 市场监管, name: 市场监管局}, {id: 2nd, name: 第二}]
steps:
  - {id: 营业执照, name: 营业执照, department: 市场监管, committed: {days: 3}}
  - {id: 1-food, name: 食品, department: 2nd, committed: {days: 5}, depends_on: [营业执照]}
  - {id: 1_food, name: 另一, department: 2nd, committed: {days: 1}, depends_on: [营业执照]}
""")
    xml = procedure_bpmn(proc)
    ids = [el.get("id") for el in ET.fromstring(xml).iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[^\W\d][\w.\-]*", i) for i in ids)
    assert bpmn_procedure(read_bpmn(xml)) == proc
