"""The planner's workspace behind its page and its API: a procedure brought in as a file
(step table, procedure YAML or BPMN), its graph before and after a set of ticked levers,
and the scenarios kept of it (:mod:`flows.casework.workspace` stores them).

Uploads are read whole before anything is stored: a bad file raises one located
:class:`~process_models.errors.OnethingError` (a table's names the row and column) and
stores nothing.

>>> proc = procedure_from_upload("开店.csv", "事项,部门,承诺时限\\n营业执照,市场监管局,3\\n"
...                              .encode("gbk"))
>>> proc.name, [s.name for s in proc.steps]
('开店', ['营业执照'])
>>> procedure_from_upload("开店.txt", b"")
Traceback (most recent call last):
...
process_models.errors.InvalidInput: 开店.txt: unknown file type '.txt'; upload a step table (.csv, .xlsx), a procedure (.yaml, .yml), a BPMN file (.bpmn, .xml) or a case log (.xes, .csv with the XES columns, gzipped too)
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from api.names import display_name
from api.uploads import file_size, upload_name
from process_models._memo import MEMO_CHARS, text_memo
from process_models.errors import InvalidInput
from process_models.procedure import Procedure
from process_models.reading_problems import reading_error

if TYPE_CHECKING:
    from flows.casework.workspace import WorkspaceProcedure

__all__ = ["COMPRESS_FACTOR", "LOG_HEADER", "MAX_UPLOAD_BYTES", "NOTHING_TO_ACT_ON",
           "UPLOAD_TYPES", "WORKSPACE_LEVERS", "WORKSPACE_READ", "WORKSPACE_WRITE",
           "check_levers", "discovered_procedure",
           "graph_figures", "lever_entries", "procedure_from_upload", "reformed", "scenario_text",
           "workspace_reform", "workspace_scenario"]

WORKSPACE_READ = "workspace:read"
"""The action of reading workspace procedures (one's own and those shared with one):
planners, auditors and admins (:data:`api.deps.PERMISSIONS`), the roles a procedure may be
shared with."""

WORKSPACE_WRITE = "procedures:write"
"""The action of uploading and changing one's own workspace procedures (planners, admins)."""

MAX_UPLOAD_BYTES = 2_000_000
"""The largest file a planner uploads to the workspace."""

UPLOAD_TYPES = {".csv": "table", ".xlsx": "table", ".yaml": "yaml", ".yml": "yaml",
                ".bpmn": "bpmn", ".xml": "bpmn", ".xes": "log", ".gz": "log"}
"""File suffix → what the workspace reads it as. A ``.csv`` whose header names the XES
columns ``case:concept:name`` and ``time:timestamp`` is a case log (:data:`LOG_HEADER`)."""

LOG_HEADER = ("case:concept:name", "time:timestamp")
"""The columns that make an uploaded CSV a case log, not a step table: a log is read by
:func:`~simulations.planning.discovery.discover` into the procedure it shows."""

WORKSPACE_LEVERS = ("parallelise", "share_data", "defer_materials", "commitment",
                    "drop_materials", "merge", "compress", "one_window", "online")
"""The levers a planner ticks on a workspace procedure, in the order they are applied:
串联改并联, 数据共享, 容缺受理, 告知承诺, 减要件, 合并, 压缩时限, 一窗受理, 全程网办. The
page needs no YAML: :func:`lever_entries` finds each one's steps or materials."""

NOTHING_TO_ACT_ON = {
    "commitment": "no step is marked commitment_allowed (告知承诺); a step table does not "
                  "say it: mark the steps in the procedure YAML",
    "drop_materials": "every material is a key one (要件); mark the others key: false",
    "merge": "no step follows another of its own department",
}
"""Why a ticked lever found nothing to act on, by lever."""

COMPRESS_FACTOR = 0.5
"""压缩时限 as ticked: every committed limit halved, a target (the planner's own, not a
result; the waterfall marks it as one)."""

def procedure_from_upload(file_name: str | None, data: bytes) -> Procedure:
    """The checked procedure in an uploaded file, read by its suffix (:data:`UPLOAD_TYPES`)."""
    from process_models.loading import parse_procedure
    from process_models.table import table_procedure

    name = upload_name(file_name)
    kind = UPLOAD_TYPES.get(PurePath(name).suffix.lower())
    if kind is None:
        raise InvalidInput(f"unknown file type '{PurePath(name).suffix}'; upload a step table "
                           "(.csv, .xlsx), a procedure (.yaml, .yml), a BPMN file (.bpmn, .xml) "
                           "or a case log (.xes, .csv with the XES columns, gzipped too)",
                           file=name, reason="unknown_workspace_file",
                           values={"suffix": PurePath(name).suffix or name})
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"the file is {len(data)} bytes; the limit is {MAX_UPLOAD_BYTES}",
                           file=name, reason="file_too_big",
                           values={"size": file_size(MAX_UPLOAD_BYTES)})
    if kind == "table" and _is_log(data):
        kind = "log"
    if kind == "table":
        return table_procedure(data, name)
    if kind == "log":
        return discovered_procedure(name, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise reading_error("text_not_utf8", {"byte": f"{data[e.start]:02x}",
                                              "offset": e.start}, file=name) from None
    if kind == "yaml":
        return parse_procedure(text, file=name)
    from simulations.interchange.bpmn import bpmn_procedure, read_bpmn

    return bpmn_procedure(read_bpmn(text, file=name))


def _is_log(data: bytes) -> bool:
    header = data[:4096].split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    return all(column in header for column in LOG_HEADER)


def discovered_procedure(name: str, data: bytes) -> Procedure:
    """The procedure discovered from an uploaded case log (CSV or XES, gzipped too; the XES
    standard column names), every number fitted from the log on the Chinese calendar, as
    ``onething discover`` writes it.

    >>> log = "case:concept:name,concept:name,time:timestamp\\n" + "".join(
    ...     f"c{i},受理,2025-03-0{i + 3} 09:00\\nc{i},审批,2025-03-0{i + 3} 15:00\\n"
    ...     for i in range(3))
    >>> [s.name for s in discovered_procedure("办件.csv", log.encode()).steps]
    ['受理', '审批']
    """
    from api.uploads import uploaded_file
    from process_models.calendar import country_calendar
    from process_models.loading import check_procedure
    from simulations.interchange.read_columns import read_table
    from simulations.planning.discovery import discover, safe_id

    with uploaded_file(name, data, suffixes=(".csv", ".csv.gz", ".xes", ".xes.gz"),
                       limit_bytes=MAX_UPLOAD_BYTES) as path:
        found = discover(read_table(path), log=name, calendar=country_calendar("CN"),
                         procedure_id=safe_id(PurePath(name).name.split(".")[0]))
    return check_procedure(found.procedure)


def check_levers(levers: list[str]) -> list[str]:
    """The ticked lever kinds in the order they apply; an unknown one is refused."""
    from process_models.errors import did_you_mean

    for lever in levers:
        if lever not in WORKSPACE_LEVERS:
            raise InvalidInput(f"unknown lever '{lever[:60]}'; tick one of "
                               f"{', '.join(WORKSPACE_LEVERS)}", path="lever",
                               suggestion=did_you_mean(lever, WORKSPACE_LEVERS))
    return [lever for lever in WORKSPACE_LEVERS if lever in levers]


def lever_entries(proc: Procedure, levers: list[str]) -> list[dict[str, Any]]:
    """The scenario entries of the ticked levers, their steps or materials found in ``proc``:
    告知承诺 on every step that allows it, 减要件 of every material that is not key (要件),
    合并 of the first two chained steps of one department, 压缩时限 by
    :data:`COMPRESS_FACTOR` as the planner's target. A lever with nothing to act on is
    refused, named."""
    from simulations.planning.applicant_levers import commitment_refusal

    entries = []
    for lever in check_levers(levers):
        entry: dict[str, Any] = {"lever": lever}
        if lever == "commitment":
            entry["steps"] = [s.id for s in proc.applicant_steps
                              if commitment_refusal(s) is None and s.committed.days > 0]
            found = entry["steps"]
        elif lever == "drop_materials":
            entry["materials"] = found = [m.id for m in proc.materials if not m.key]
        elif lever == "merge":
            entry["steps"] = found = _chained_pair(proc)
        elif lever == "compress":
            entry.update(factor=COMPRESS_FACTOR, source="规划人员设定的目标（非计算结果）")
            found = [True]
        else:
            found = [True]
        if not found:
            raise InvalidInput(f"lever '{lever}' finds nothing to act on in '{proc.name}' "
                               f"({NOTHING_TO_ACT_ON[lever]}); untick it", path="lever")
        entries.append(entry)
    return entries


def _chained_pair(proc: Procedure) -> list[str]:
    """The first step and its direct predecessor of the same department joined by no other
    path (a merge must not wait for itself)."""
    import networkx as nx

    from process_models.graph import to_graph

    g = to_graph(proc)
    department = {s.id: s.department for s in proc.applicant_steps}
    for s in proc.applicant_steps:
        for d in s.depends_on:
            others = [p for p in g.predecessors(s.id) if p != d.step]
            if department.get(d.step) == s.department and not any(
                    d.step in nx.ancestors(g, p) for p in others):
                return [d.step, s.id]
    return []


def scenario_text(proc: Procedure, levers: list[str]) -> str:
    """The scenario YAML of the ticked levers (:func:`lever_entries`), as ``onething
    reform`` reads it.

    >>> from process_models.catalog import load_catalog_procedure
    >>> print(scenario_text(load_catalog_procedure("newborn"), ["parallelise"]).strip())
    procedure: newborn
    levers:
    - lever: parallelise
    """
    import yaml

    return yaml.safe_dump({"procedure": proc.id, "levers": lever_entries(proc, levers)},
                          allow_unicode=True, sort_keys=False)


def workspace_scenario(proc: Procedure, levers: list[str]):
    """The checked scenario of the ticked levers; none ticked: a scenario that changes
    nothing (the procedure as uploaded)."""
    from simulations.planning.scenario import Scenario, parse_scenario

    if not check_levers(levers):
        return Scenario(procedure=proc.id)
    return parse_scenario(scenario_text(proc, levers), file="scenario.yaml")


def reformed(before: Procedure, levers: list[str]):
    """The reform of ``before`` by the ticked levers (:class:`~simulations.planning.scenario
    .Reform`); no lever: the procedure unchanged."""
    from simulations.planning.scenario import reform

    return reform(before, workspace_scenario(before, levers))


def workspace_reform(row: WorkspaceProcedure, levers: list[str]):
    """:func:`reformed` of a stored workspace revision ``row`` (its procedure and its
    levers' changes, figures and attribution), kept per definition text and ticked levers:
    the procedure page, its scenarios' change logs, the comparison and the risk ask for the
    same reforms again and again. Shared by every caller: read-only."""
    return _stored_reform(row.definition, row.name, tuple(check_levers(levers)))


@text_memo(max_chars=MEMO_CHARS // 2)   # each holds two procedures, before and after
def _stored_reform(definition: str, name: str, levers: tuple[str, ...]):
    from flows.casework.definitions import parse_stored

    return reformed(parse_stored(definition, name), list(levers))


def graph_figures(proc: Procedure, language: str, *, link: str | None = None) -> dict[str, Any]:
    """The drawn graph of ``proc`` (SVG, each box a link to ``link`` when given) and its
    critical steps by name, for a page."""
    from simulations.planning.graph_drawing import graph_layout, graph_svg

    layout = graph_layout(proc)
    names = {s.id: display_name(s, language) for s in proc.steps}
    return {"svg": graph_svg(layout, lang=language, link=link),
            "critical": [names[n.id] for n in layout.nodes if n.critical and n.id in names]}
