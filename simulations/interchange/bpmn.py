"""BPMN 2.0 import and export: procedures in and out of bpmn.io / Camunda Modeler.

What maps to what:

- tasks of every kind (``task``, ``userTask``, ``manualTask``, ``serviceTask`` ...) are steps;
- lanes are departments;
- sequence flows are dependencies (a parallel gateway joining several flows is a step
  with several dependencies);
- exclusive gateways are choices with branch probabilities; they have no place in a
  :class:`~process_models.procedure.Procedure` (steps only depend on each other), so
  :func:`bpmn_procedure` refuses them and :func:`bpmn_graph` keeps them for the
  capacity simulator;
- our limits, materials and the rest of a step live in ``onething:`` extension elements
  (JSON inside), so a procedure exported and imported again is equal to the original.

Anything else (sub-processes, boundary events, inclusive or event-based gateways ...) is
refused with one error naming the element and its id; so is a flow whose end names no
element.

>>> from process_models.catalog import load_catalog_procedure
>>> newborn = load_catalog_procedure("newborn")
>>> bpmn_procedure(read_bpmn(procedure_bpmn(newborn))) == newborn
True
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from process_models.errors import BpmnError, ProcedureError, did_you_mean, shown
from process_models.loading import check_procedure, procedure_data, validation_error
from process_models.procedure import Procedure
from process_models.reading_problems import reading_error
from simulations.capacity.model import Duration, Event, Flow, Gateway, ProcessGraph, Task

__all__ = [
    "BPMN_NS",
    "ONETHING_NS",
    "BpmnElement",
    "BpmnFlow",
    "BpmnModel",
    "bpmn_graph",
    "bpmn_procedure",
    "load_bpmn",
    "procedure_bpmn",
    "read_bpmn",
    "save_bpmn",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
ONETHING_NS = "https://onething.dev/schema/bpmn/1"

TASK_TAGS = frozenset({"task", "userTask", "manualTask", "serviceTask", "scriptTask",
                       "businessRuleTask", "sendTask", "receiveTask"})
GATEWAY_TAGS = frozenset({"exclusiveGateway", "parallelGateway"})
EVENT_TAGS = frozenset({"startEvent", "endEvent"})
_IGNORED_TAGS = frozenset({"extensionElements", "documentation", "textAnnotation", "association",
                           "group", "dataObject", "dataObjectReference", "dataStoreReference",
                           "property", "ioSpecification"})
DEFAULT_WORK_SECONDS = 3600.0
"""Work time of a task whose file says nothing about it (one hour)."""


def _q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


@dataclass(frozen=True)
class BpmnElement:
    """A flow node: task, gateway or event; ``extension`` is its ``onething:`` data."""

    id: str
    tag: str
    name: str
    lane: str | None = None
    extension: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BpmnFlow:
    """A sequence flow; ``extension`` holds dependency kind, lag and branch probability."""

    id: str
    source: str
    target: str
    name: str = ""
    extension: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BpmnModel:
    """One BPMN process as read: elements, flows, lanes and our extension data.

    ``lanes`` maps lane id to ``(name, department id)``; ``qbp`` is the BIMP simulation
    block when the file has one.
    """

    id: str
    name: str
    elements: tuple[BpmnElement, ...]
    flows: tuple[BpmnFlow, ...]
    lanes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    procedure: Mapping[str, Any] | None = None
    file: str | None = None
    qbp: ET.Element | None = None

    def element(self, element_id: str) -> BpmnElement:
        """The element with ``element_id``."""
        for e in self.elements:
            if e.id == element_id:
                return e
        raise reading_error("bpmn_no_element", {"value": shown(element_id)}, kind=BpmnError,
                            file=self.file,
                            suggestion=did_you_mean(element_id, [e.id for e in self.elements]))


# --- reading --------------------------------------------------------------------------------


def _extension(node: ET.Element, name: str, file: str | None) -> Any:
    ext = node.find(_q("extensionElements"))
    if ext is None:
        return None
    item = ext.find(_q(name, ONETHING_NS))
    if item is None:
        return None
    try:
        return json.loads(item.text or "{}")
    except json.JSONDecodeError as e:
        raise reading_error("bpmn_extension", {"name": name, "element": shown(node.get("id")),
                                               "problem": e.msg},
                            kind=BpmnError, file=file) from None


def read_bpmn(source: str | os.PathLike[str], *, file: str | None = None) -> BpmnModel:
    """Read a BPMN 2.0 file (a path) or XML text.

    >>> read_bpmn('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">'
    ...           '<process id="p"><task id="t"/><subProcess id="sp1"/></process>'
    ...           '</definitions>')
    Traceback (most recent call last):
    ...
    process_models.errors.BpmnError: unsupported BPMN element <subProcess id='sp1'>; onething reads tasks, exclusive and parallel gateways, start and end events, lanes and sequence flows: replace or remove it
    """
    text = str(source)
    if not text.lstrip().startswith("<"):
        from process_models.loading import read_text

        file = file or str(source)
        text = read_text(source)
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        raise reading_error("bpmn_not_xml", {"problem": str(e)}, kind=BpmnError, file=file,
                            line=line) from None
    if _local(root.tag) != (BPMN_NS, "definitions"):
        raise reading_error("bpmn_not_definitions", {"tag": _local(root.tag)[1]},
                            kind=BpmnError, file=file)
    processes = [p for p in root.findall(_q("process"))
                 if any(_local(c.tag)[1] in TASK_TAGS for c in p)]
    if not processes:
        raise reading_error("bpmn_no_process", kind=BpmnError, file=file)
    if len(processes) > 1:
        ids = ", ".join(p.get("id", "?") for p in processes)
        raise reading_error("bpmn_processes", {"count": len(processes), "ids": ids},
                            kind=BpmnError, file=file)
    process = processes[0]
    elements: list[BpmnElement] = []
    flows: list[BpmnFlow] = []
    lanes: dict[str, tuple[str, str]] = {}
    lane_of: dict[str, str] = {}
    for lane in process.iter(_q("lane")):
        lid = lane.get("id", "")
        dept = (_extension(lane, "department", file) or {}).get("id") or lid
        lanes[lid] = (lane.get("name") or lid, dept)
        for ref in lane.findall(_q("flowNodeRef")):
            lane_of[(ref.text or "").strip()] = lid
    for child in process:
        ns, tag = _local(child.tag)
        cid = child.get("id", "")
        if ns != BPMN_NS or tag in _IGNORED_TAGS or tag == "laneSet":
            continue
        if tag == "sequenceFlow":
            flows.append(BpmnFlow(cid, child.get("sourceRef", ""), child.get("targetRef", ""),
                                  child.get("name") or "",
                                  _extension(child, "dependency", file)))
        elif tag in TASK_TAGS | GATEWAY_TAGS | EVENT_TAGS:
            ext = _extension(child, "step" if tag in TASK_TAGS else "stage", file)
            elements.append(BpmnElement(cid, tag, child.get("name") or "", lane_of.get(cid), ext))
        else:
            raise reading_error("bpmn_unsupported", {"tag": tag, "element": cid},
                                kind=BpmnError, file=file)
    ids = [e.id for e in elements]
    known = set(ids)
    for f in flows:
        for end, ref in (("sourceRef", f.source), ("targetRef", f.target)):
            if ref not in known:
                raise reading_error("bpmn_loose_flow", {"flow": shown(f.id), "end": end,
                                                        "value": shown(ref)},
                                    kind=BpmnError, file=file,
                                    suggestion=did_you_mean(ref, ids))
    qbp = next((el for el in root.iter() if _local(el.tag)[1] == "processSimulationInfo"), None)
    return BpmnModel(process.get("id", "process"), process.get("name") or "", tuple(elements),
                     tuple(flows), lanes, _extension(process, "procedure", file), file, qbp)


def load_bpmn(path: str | os.PathLike[str]) -> BpmnModel:
    """Read a BPMN file (see :func:`read_bpmn`)."""
    return read_bpmn(path, file=str(path))


# --- BPMN → procedure -----------------------------------------------------------------------


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_")
    return s or "process"


def _department(model: BpmnModel, element: BpmnElement) -> str:
    return model.lanes[element.lane][1] if element.lane in model.lanes else "unassigned"


def _predecessors(model: BpmnModel, element_id: str) -> list[tuple[str, BpmnFlow]]:
    """Steps (or stages) a task depends on, through parallel joins; with the leaving flow."""
    by_id = {e.id: e for e in model.elements}
    out: list[tuple[str, BpmnFlow]] = []
    for f in model.flows:
        if f.target != element_id:
            continue
        src = by_id[f.source]
        if src.tag in TASK_TAGS:
            out.append((src.id, f))
        elif src.tag == "parallelGateway" and src.extension and "id" in src.extension:
            out.append((src.extension["id"], f))
        elif src.tag == "parallelGateway":
            out.extend(_predecessors(model, src.id))
    return out


def bpmn_procedure(model: BpmnModel) -> Procedure:
    """The procedure a gateway-free or parallel-only model stands for.

    Our extension elements give limits, materials and the rest back exactly; a foreign
    model gets departments from its lanes and a committed limit of one working day per
    step (basis ``estimate``), to be set by the planner.
    """
    choices = [e.id for e in model.elements if e.tag == "exclusiveGateway"]
    if choices:
        more = f" (and {len(choices) - 1} more)" if len(choices) > 1 else ""
        raise reading_error("bpmn_choice", {"gateway": shown(choices[0]), "more": more,
                                            "count": len(choices)},
                            kind=BpmnError, file=model.file)
    data: dict[str, Any] = dict(model.procedure or {})
    data.setdefault("id", _slug(model.id))
    data.setdefault("name", model.name or model.id)
    if "departments" not in data:
        depts = {dept: name for name, dept in model.lanes.values()}
        if any(e.lane not in model.lanes for e in model.elements if e.tag in TASK_TAGS):
            depts.setdefault("unassigned", "未分配 (no lane)")
        data["departments"] = [{"id": d, "name": n} for d, n in depts.items()]
    step_ids = {e.id: (e.extension or {}).get("id", e.id)   # our id, when not an XML name
                for e in model.elements if e.tag in TASK_TAGS}
    steps = []
    for e in model.elements:
        if e.tag not in TASK_TAGS:
            continue
        step: dict[str, Any] = {"id": e.id, "name": e.name or e.id,
                                "department": _department(model, e)}
        step.update(e.extension or {"committed": {
            "days": 1, "basis": "estimate", "note": "no limit in the BPMN file; set it"}})
        deps = []
        for source, f in _predecessors(model, e.id):
            ext = dict(f.extension or {})
            ext.pop("probability", None)
            deps.append({"step": step_ids.get(source, source), **ext})
        if deps:
            step["depends_on"] = deps
        steps.append(step)
    data["steps"] = steps
    try:
        proc = Procedure.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, Procedure, file=model.file, error_class=BpmnError) from None
    return check_procedure(proc, file=model.file)


# --- BPMN → process graph -------------------------------------------------------------------


def bpmn_graph(model: BpmnModel, *, work: Mapping[str, Duration] | None = None,
               pools: Mapping[str, str] | None = None,
               probabilities: Mapping[str, float] | None = None) -> ProcessGraph:
    """The process graph of any supported model, exclusive gateways and loops included.

    A model our export wrote (no exclusive gateways) maps through its procedure, so limits
    and work times follow :func:`simulations.capacity.service_centre.procedure_graph`. Otherwise
    ``work`` (task id → seconds), ``pools`` (task id → staff pool) and ``probabilities``
    (flow id → branch probability) fill in what the file lacks; the defaults are
    :data:`DEFAULT_WORK_SECONDS`, the task's lane, and the probability in the flow's
    ``onething:dependency`` or an equal split.
    """
    if model.procedure is not None and not any(e.tag == "exclusiveGateway"
                                               for e in model.elements):
        from simulations.capacity.service_centre import procedure_graph

        return procedure_graph(bpmn_procedure(model))
    work = work or {}
    pools = pools or {}
    probabilities = probabilities or {}
    nodes: list = []
    for e in model.elements:
        if e.tag in TASK_TAGS:
            nodes.append(Task(e.id, e.name or e.id, pool=pools.get(e.id, _department(model, e)),
                              work=work.get(e.id, Duration("fixed", (DEFAULT_WORK_SECONDS,)))))
        elif e.tag in GATEWAY_TAGS:
            nodes.append(Gateway(e.id, "exclusive" if e.tag == "exclusiveGateway"
                                 else "parallel", e.name))
        else:
            nodes.append(Event(e.id, "start" if e.tag == "startEvent" else "end", e.name))
    flows = tuple(
        Flow(f.id, f.source, f.target,
             probabilities.get(f.id, (f.extension or {}).get("probability")))
        for f in model.flows)
    names = {dept: name for name, dept in model.lanes.values()}
    try:
        return ProcessGraph(_slug(model.id), model.name or model.id, tuple(nodes), flows,
                            pool_names=names)
    except ProcedureError as e:
        raise BpmnError(e.message, file=model.file, suggestion=e.suggestion, reason=e.reason,
                        values=e.values) from None


# --- procedure → BPMN -----------------------------------------------------------------------

_TASK_W, _TASK_H, _GAP_X, _LANE_H, _LANE_X = 120, 80, 60, 140, 160


def procedure_bpmn(proc: Procedure) -> str:
    """BPMN 2.0 XML for ``proc``, with lanes, a diagram and our extension elements.

    Steps are user tasks in their department's lane; several dependencies meet at a
    parallel gateway; steps that start at once fork from a parallel gateway; a dependency
    on a stage goes through a gateway that joins the stage's milestones.

    >>> from process_models.catalog import load_catalog_procedure
    >>> xml = procedure_bpmn(load_catalog_procedure("newborn"))
    >>> xml.count("<bpmn:userTask "), "onething:step" in xml
    (9, True)
    """
    ET.register_namespace("bpmn", BPMN_NS)
    ET.register_namespace("bpmndi", BPMNDI_NS)
    ET.register_namespace("dc", DC_NS)
    ET.register_namespace("di", DI_NS)
    ET.register_namespace("onething", ONETHING_NS)
    xml_id = _XmlIds()
    fixed = {k: xml_id(k) for k in ("StartEvent_1", "EndEvent_1", "Gateway_fork",
                                    "Gateway_end", "LaneSet_1")}
    step_xid = {s.id: xml_id(s.id) for s in proc.steps}
    lane_xid = {d.id: xml_id(f"Lane_{d.id}") for d in proc.departments}
    defs = ET.Element(_q("definitions"), {
        "id": xml_id(f"Definitions_{proc.id}"), "targetNamespace": ONETHING_NS,
        "exporter": "onething", "exporterVersion": "1"})
    process = ET.SubElement(defs, _q("process"), {"id": xml_id(f"Process_{proc.id}"),
                                                  "name": proc.name, "isExecutable": "false"})
    data = procedure_data(proc)
    steps_data = {s["id"]: s for s in data.pop("steps", [])}
    _ext(process, "procedure", data)
    lane_set = ET.SubElement(process, _q("laneSet"), {"id": fixed["LaneSet_1"]})
    lanes = {}
    for d in proc.departments:
        lane = ET.SubElement(lane_set, _q("lane"), {"id": lane_xid[d.id], "name": d.name})
        _ext(lane, "department", {"id": d.id})
        lanes[d.id] = lane

    stages = {st.id: st for st in proc.stages}
    start, end = fixed["StartEvent_1"], fixed["EndEvent_1"]
    nodes: list[tuple[str, str, str | None]] = [(start, "start", None)]
    flows: list[tuple[str, str, dict | None]] = []
    ET.SubElement(process, _q("startEvent"), {"id": start})
    start_from = start
    if sum(1 for s in proc.steps if not s.depends_on) > 1:
        start_from = fixed["Gateway_fork"]
        ET.SubElement(process, _q("parallelGateway"), {"id": start_from})
        nodes.append((start_from, "gateway", None))
        flows.append((start, start_from, None))
    stage_xid: dict[str, str] = {}
    for s in proc.steps:
        sx = step_xid[s.id]
        task = ET.SubElement(process, _q("userTask"), {"id": sx, "name": s.name})
        ext = {k: v for k, v in steps_data[s.id].items()
               if k not in ("id", "name", "department", "depends_on")}
        if sx != s.id:
            ext = {"id": s.id, **ext}
        _ext(task, "step", ext)
        ET.SubElement(lanes[s.department], _q("flowNodeRef")).text = sx
        nodes.append((sx, "task", s.department))
        target = sx
        if len(s.depends_on) > 1:
            target = xml_id(f"Gateway_join_{s.id}")
            ET.SubElement(process, _q("parallelGateway"), {"id": target})
            nodes.append((target, "gateway", None))
            flows.append((target, sx, None))
        if not s.depends_on:
            flows.append((start_from, sx, None))
        for d in s.depends_on:
            dep = d.model_dump(mode="json", exclude_defaults=True)
            dep.pop("step")
            if d.step in stages:
                if d.step not in stage_xid:
                    stage_xid[d.step] = xml_id(f"Gateway_stage_{d.step}")
                source = stage_xid[d.step]
            else:
                source = step_xid[d.step]
            flows.append((source, target, dep or None))
    for sid, gx in stage_xid.items():
        gw = ET.SubElement(process, _q("parallelGateway"), {"id": gx, "name": stages[sid].name})
        _ext(gw, "stage", {"id": sid, "join": stages[sid].join.value})
        nodes.append((gx, "gateway", None))
        for m in stages[sid].milestones or stages[sid].steps:
            flows.append((step_xid[m], gx, None))
    sources = {f[0] for f in flows}
    sinks = [step_xid[s.id] for s in proc.steps if step_xid[s.id] not in sources]
    ET.SubElement(process, _q("endEvent"), {"id": end})
    end_into = end
    if len(sinks) > 1:
        end_into = fixed["Gateway_end"]
        ET.SubElement(process, _q("parallelGateway"), {"id": end_into})
        nodes.append((end_into, "gateway", None))
        flows.append((end_into, end, None))
    for sx in sinks:
        flows.append((sx, end_into, None))
    nodes.append((end, "end", None))
    flow_ids = []
    for i, (src, dst, ext) in enumerate(flows, start=1):
        fid = xml_id(f"Flow_{i}")
        flow_ids.append((fid, src, dst))
        f = ET.SubElement(process, _q("sequenceFlow"), {"id": fid, "sourceRef": src,
                                                        "targetRef": dst})
        if ext:
            _ext(f, "dependency", ext)
    _diagram(defs, process.get("id"), [(lane_xid[d.id], d.id) for d in proc.departments],
             nodes, flow_ids)
    ET.indent(defs)
    return ET.tostring(defs, encoding="unicode", xml_declaration=True) + "\n"


class _XmlIds:
    """Unique XML ids (NCNames, as BPMN requires) made from our ids.

    >>> ids = _XmlIds()
    >>> ids("市场监管 窗口"), ids("1st"), ids("a b"), ids("a_b")
    ('市场监管_窗口', '_1st', 'a_b', 'a_b_2')
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def __call__(self, text: str) -> str:
        base = re.sub(r"[^\w.\-]", "_", text)
        if not re.match(r"[^\W\d]", base):
            base = f"_{base}"
        out, n = base, 1
        while out in self._taken:
            n += 1
            out = f"{base}_{n}"
        self._taken.add(out)
        return out


def _ext(parent: ET.Element, name: str, data: Mapping[str, Any]) -> None:
    ext = parent.find(_q("extensionElements"))
    if ext is None:
        ext = ET.Element(_q("extensionElements"))
        parent.insert(0, ext)
    ET.SubElement(ext, _q(name, ONETHING_NS)).text = json.dumps(data, ensure_ascii=False,
                                                                 sort_keys=False)


def _diagram(defs: ET.Element, process_id: str, lanes: list[tuple[str, str]],
             nodes: list[tuple[str, str, str | None]], flows: list[tuple[str, str, str]]) -> None:
    """Shapes by dependency depth (x) and department lane (y), so modelers draw the file.

    ``lanes`` are ``(lane xml id, department id)``; ``nodes`` ``(xml id, kind, department)``.
    """
    preds: dict[str, list[str]] = {}
    for _, src, dst in flows:
        preds.setdefault(dst, []).append(src)
    depth: dict[str, int] = {}
    for n, _, _ in nodes:   # nodes come in an order where predecessors of tasks come first
        stack = [n]
        while stack:
            m = stack[-1]
            todo = [p for p in preds.get(m, []) if p not in depth]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            depth[m] = 1 + max((depth[p] for p in preds.get(m, [])), default=-1)
    lane_index = {dept: i for i, (_, dept) in enumerate(lanes)}
    width = (max(depth.values(), default=0) + 1) * (_TASK_W + _GAP_X) + 100
    diagram = ET.SubElement(defs, _q("BPMNDiagram", BPMNDI_NS), {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(diagram, _q("BPMNPlane", BPMNDI_NS),
                          {"id": "BPMNPlane_1", "bpmnElement": process_id})
    for lane, dept in lanes:
        shape = ET.SubElement(plane, _q("BPMNShape", BPMNDI_NS),
                              {"id": f"{lane}_di", "bpmnElement": lane, "isHorizontal": "true"})
        ET.SubElement(shape, _q("Bounds", DC_NS), {
            "x": str(_LANE_X - 30), "y": str(lane_index[dept] * _LANE_H),
            "width": str(width), "height": str(_LANE_H)})
    centre: dict[str, tuple[float, float]] = {}
    middle = len(lanes) * _LANE_H / 2
    for n, kind, dept in nodes:
        w, h = (_TASK_W, _TASK_H) if kind == "task" else (36, 36) if kind in ("start", "end") \
            else (50, 50)
        cx = _LANE_X + 40 + depth[n] * (_TASK_W + _GAP_X) + _TASK_W / 2
        cy = lane_index[dept] * _LANE_H + _LANE_H / 2 if dept is not None else middle
        centre[n] = (cx, cy)
        shape = ET.SubElement(plane, _q("BPMNShape", BPMNDI_NS),
                              {"id": f"{n}_di", "bpmnElement": n})
        ET.SubElement(shape, _q("Bounds", DC_NS), {
            "x": f"{cx - w / 2:g}", "y": f"{cy - h / 2:g}", "width": str(w), "height": str(h)})
    for fid, src, dst in flows:
        edge = ET.SubElement(plane, _q("BPMNEdge", BPMNDI_NS),
                             {"id": f"{fid}_di", "bpmnElement": fid})
        for x, y in (centre[src], centre[dst]):
            ET.SubElement(edge, _q("waypoint", DI_NS), {"x": f"{x:g}", "y": f"{y:g}"})


def save_bpmn(proc: Procedure, path: str | os.PathLike[str]) -> None:
    """Write ``proc`` as a BPMN file."""
    Path(path).write_text(procedure_bpmn(proc), encoding="utf-8")
