"""The ``SPGL_*`` tables of the 工程建设项目审批管理系统 (工改 systems), in and out.

The national system and the provincial ones exchange data in tables named by the
数据对接标准; their exports are CSV files named after the tables (``SPGL_XMJBXXB.csv``...),
in a folder or a ``.zip``, in UTF-8 or GBK, with any delimiter. A case is one 审批事项实例
(``SPSXSLBM``), its events the rows of the 办理详细信息 table.

Tables and columns read (a column name in any case; ``*`` required, the rest optional):

=========================== ===================== ===============================================
table                       what                  columns
=========================== ===================== ===============================================
``SPGL_XMSPSXBLXXXXB`` *    办理详细信息 (events) ``SPSXSLBM``\\*, ``BLZT``\\* 办理状态,
                                                  ``BLSJ``\\* 办理时间, ``BLHJ`` 办理环节,
                                                  ``BLCS`` 办理处（科）室, ``BLR`` 办理人
``SPGL_XMSPSXBLXXB`` *      审批事项实例 (cases)  ``SPSXSLBM``\\*, ``SPSXBM``\\* 事项编码,
                                                  ``GCDM`` 工程代码, ``SLSJ`` 受理时间,
                                                  ``SXBLSX`` 承诺时限 (working days)
``SPGL_XMJBXXB``            项目基本信息          ``GCDM``\\*
``SPGL_DFXMSPLCJDSXXXB``    阶段事项              ``SPSXBM``\\*
=========================== ===================== ===============================================

The project and stage-item tables, when present, check the references: each instance's
``GCDM`` must be a project, its ``SPSXBM`` an item. Other tables and columns of the export
(阶段 ``SPGL_DFXMSPLCJDXXB``, 单位, 批复文件, names...) are not read. A row whose 数据有效标识
``SJYXBS`` is 0 (withdrawn by its sender) is skipped; of two rows of one instance the later
counts. ``audit actual --log EXPORT --deadline SXBLSX`` holds each case to its 承诺时限.

Each event's activity is its 办理环节 (``BLHJ``) when the row has one, with the lifecycle
given by ``BLZT`` (8 部门开始办理 starts, 6 补正（开始） and 9 特别程序（开始） suspend,
7 and 10 resume, the rest complete); without one it is the status itself (受理, 办结（通过）...,
the codes 1–15 of the standard named, other values kept as written), every event complete.
The resource is the 办理人, the group the 处室. A case's deadline is ``SXBLSX`` working days
(the service centre's calendar) after its 受理时间 (``SLSJ``, else its first event),
at the end of that day.

Exports are not sorted by instance, so the reader holds the detail rows (about 400 bytes
each, at most :data:`MAX_ROWS`) to put each case's events together in time order; a
``.zip`` may hold at most :data:`MAX_MEMBERS` files and :data:`MAX_BYTES` unpacked, and a
member named outside the archive (``../``, an absolute path) is refused.

:func:`write_spgl` writes onething's history the same way: cases as 审批事项实例 (one
project each; 受理时间 the case's first event, 承诺时限 left empty), each step's start, 补正 and decision as 办理详细信息 rows (环节 the step,
处室 the department), certificates as 批复文件 (``SPGL_XMSPSXPFWJXXB``), every row valid
(``SJYXBS`` 1), in UTF-8 with a BOM, times to the second as the standard writes them,
names (:class:`SpglNames`) where the tables hold names; into a new folder, moved into place
when complete.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import fields
from datetime import datetime, time
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import IO, NamedTuple

from process_models._cells import cell_text
from process_models.calendar import add_working_days, local_date
from process_models.errors import EventLogError, did_you_mean
from process_models.table_files import csv_writer
from simulations.interchange.eventlog import Event, by_case, without_cycle_collection
from simulations.interchange.read import (
    LogColumns,
    LogEvent,
    TimestampClock,
    read_log,
    sniff_delimiter,
)

__all__ = [
    "BLZT",
    "MAX_BYTES",
    "MAX_MEMBERS",
    "MAX_ROWS",
    "SpglNames",
    "open_log",
    "read_spgl",
    "write_spgl",
]

#: 办理状态 codes of the standard and their names.
BLZT = {"1": "收件", "2": "撤件", "3": "受理", "4": "不受理", "5": "不予受理",
        "6": "补正（开始）", "7": "补正（结束）", "8": "部门开始办理", "9": "特别程序（开始）",
        "10": "特别程序（结束）", "11": "办结（通过）", "12": "办结（容缺通过）",
        "13": "办结（不通过）", "14": "撤回", "15": "撤销"}
_LIFECYCLE = {"8": "start", "6": "suspend", "9": "suspend", "7": "resume", "10": "resume"}
_BLZT_OF_NAME = {name: code for code, name in BLZT.items()}
_BLZT_OF_KIND = {"start": "8", "supplement": "6", "approve": "11", "reject": "13"}

MAX_MEMBERS = 64
MAX_BYTES = 2 << 30
MAX_ROWS = 2_000_000
_SNIFF_BYTES = 64 * 1024

DETAIL, INSTANCE, PROJECT, ITEM = ("SPGL_XMSPSXBLXXXXB", "SPGL_XMSPSXBLXXB", "SPGL_XMJBXXB",
                                   "SPGL_DFXMSPLCJDSXXXB")
STAGE, APPROVAL = "SPGL_DFXMSPLCJDXXB", "SPGL_XMSPSXPFWJXXB"
#: table → (required columns, optional columns) read.
_READ = {
    DETAIL: (("SPSXSLBM", "BLZT", "BLSJ"), ("BLHJ", "BLCS", "BLR")),
    INSTANCE: (("SPSXSLBM", "SPSXBM"), ("GCDM", "SLSJ", "SXBLSX")),
    PROJECT: (("GCDM",), ()),
    ITEM: (("SPSXBM",), ()),
}
#: 数据有效标识: a row whose value is 0 has been withdrawn by the system that sent it.
_VALID = "SJYXBS"


# --- reading ---------------------------------------------------------------------------------


class _Member(NamedTuple):
    """A file of the export: its name as shown in errors, its own name, and how to open it."""

    name: str
    base: str
    open: Callable[[], IO[bytes]]


def _zip_members(path: Path, stack: ExitStack) -> list[_Member]:
    try:
        archive = stack.enter_context(zipfile.ZipFile(path))
    except (OSError, zipfile.BadZipFile) as err:
        raise EventLogError(f"not a readable .zip ({err}); export the SPGL tables again",
                            file=str(path)) from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise EventLogError(f"the archive holds {len(infos)} files, more than {MAX_MEMBERS}; "
                            "put only the SPGL_*.csv tables in it", file=str(path))
    if sum(i.file_size for i in infos) > MAX_BYTES:
        raise EventLogError(f"the archive unpacks to more than {MAX_BYTES >> 20} MB; split "
                            "the export by period", file=str(path))
    members = []
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or ":" in info.filename:
            raise EventLogError(f"member {info.filename!r} is named outside the archive; "
                                "refusing it — export the tables again", file=str(path))
        members.append(_Member(f"{path}:{info.filename}", name.name,
                               lambda info=info: archive.open(info)))
    return members


def _folder_members(path: Path) -> list[_Member]:
    files = [p for p in path.iterdir() if p.is_file()]
    if sum(p.stat().st_size for p in files) > MAX_BYTES:
        raise EventLogError(f"the folder's files hold more than {MAX_BYTES >> 20} MB; split "
                            "the export by period", file=str(path))
    return [_Member(str(p), p.name, lambda p=p: open(p, "rb")) for p in files]


def _tables(path: Path, stack: ExitStack) -> dict[str, _Member]:
    """Table name → its CSV member, found by file name (``SPGL_XMJBXXB.csv``, any case)."""
    if path.is_dir():
        members = _folder_members(path)
    elif path.exists():
        members = _zip_members(path, stack)
    else:
        raise EventLogError("no such folder or .zip", file=str(path))
    tables: dict[str, _Member] = {}
    for member in members:
        stem, _, suffix = member.base.rpartition(".")
        table = stem.upper()
        if suffix.lower() not in ("csv", "txt") or not table.startswith("SPGL_"):
            continue
        if table in tables:
            raise EventLogError(f"two files hold {table}: {tables[table].name} and "
                                f"{member.name}; keep one", file=str(path))
        tables[table] = member
    names = sorted(m.base for m in members)
    for table in (DETAIL, INSTANCE):
        if table not in tables:
            raise EventLogError(
                f"no {table}.csv among {', '.join(names) or 'no files'}; an SPGL "
                f"export needs {DETAIL}.csv (办理详细信息) and {INSTANCE}.csv (审批事项实例)",
                file=str(path), suggestion=did_you_mean(f"{table}.csv", names))
    return tables


def _encoding(f: IO[bytes], file: str) -> str:
    """UTF-8 when the first bytes decode as UTF-8, else GBK (as GB 18030)."""
    sample = f.read(_SNIFF_BYTES)
    whole = len(sample) < _SNIFF_BYTES
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
        except UnicodeDecodeError:
            continue
        return encoding
    raise EventLogError("neither UTF-8 nor GBK text; save the table as UTF-8",
                        file=file, line=1)


def _lines(raw: IO[bytes], encoding: str, file: str) -> Iterator[str]:
    """The text lines of ``raw``, each decoded alone, so that a line in another encoding is
    named exactly (a line break is the byte 0x0A in UTF-8 and GBK alike)."""
    for number, line in enumerate(raw, 1):
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError:
            raise EventLogError(f"not {encoding.removesuffix('-sig').upper()} text, unlike the "
                                "lines before; save the table in one encoding",
                                file=file, line=number) from None


def _rows(member: _Member, table: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, {column: value})`` of the columns :data:`_READ` names for ``table``, for
    each row not withdrawn (:data:`_VALID`)."""
    required, optional = _READ[table]
    file = member.name
    with member.open() as raw:
        encoding = _encoding(raw, file)
    with member.open() as raw:
        lines = _lines(raw, encoding, file)
        first = next(lines, "")
        reader = csv.reader(chain((first,), lines),
                            delimiter=sniff_delimiter(io.StringIO(first), file), strict=True)
        try:
            header = [h.strip().upper() for h in next(reader, [])]
            missing = [c for c in required if c not in header]
            if missing:
                raise EventLogError(
                    f"no column {missing[0]} in {table}; the columns are "
                    f"{', '.join(header) or 'none'}", file=file, line=1,
                    suggestion=did_you_mean(missing[0], header))
            index = {c: header.index(c) for c in (*required, *optional) if c in header}
            valid = header.index(_VALID) if _VALID in header else None
            for row in reader:
                if len(row) != len(header):
                    if not any(cell.strip() for cell in row):
                        continue
                    raise EventLogError(
                        f"row has {len(row)} fields, the header has {len(header)}; the file "
                        "may be truncated or a field holds an unquoted delimiter",
                        file=file, line=reader.line_num)
                if valid is None or row[valid].strip() != "0":
                    yield reader.line_num, {c: cell_text(row[i].strip())
                                            for c, i in index.items()}
        except csv.Error as err:
            raise EventLogError(f"malformed CSV: {err}", file=file,
                                line=reader.line_num) from None


def _keys(tables: dict[str, _Member], table: str, column: str) -> set[str] | None:
    """The values of ``column`` in ``table``, or ``None`` when the export lacks the table."""
    if table not in tables:
        return None
    return {row[column] for _, row in _rows(tables[table], table)}


class _Instance(NamedTuple):
    accepted: datetime | None
    limit_days: float | None


def _limit_days(text: str, file: str, line: int) -> float | None:
    if not text:
        return None
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 <= days <= 3650:
        raise EventLogError(f"SXBLSX: {text!r} is not a number of working days; write a "
                            "number such as 20 or leave it empty", file=file, line=line)
    return days


def _instances(tables: dict[str, _Member]) -> dict[str, _Instance]:
    projects, items = _keys(tables, PROJECT, "GCDM"), _keys(tables, ITEM, "SPSXBM")
    member = tables[INSTANCE]
    clock = TimestampClock(member.name)
    out: dict[str, _Instance] = {}
    for line, row in _rows(member, INSTANCE):
        for column, known, table in (("GCDM", projects, PROJECT), ("SPSXBM", items, ITEM)):
            if known is not None and row.get(column) and row[column] not in known:
                raise EventLogError(f"{column}: {row[column]!r} is not in {table}; export "
                                    "the tables of one period together",
                                    file=member.name, line=line)
        case_id = row["SPSXSLBM"]
        if not case_id:
            raise EventLogError("SPSXSLBM: empty 事项实例编码; every row needs one",
                                file=member.name, line=line)
        accepted = row.get("SLSJ")
        out[case_id] = _Instance(clock.parse(accepted, line, "SLSJ") if accepted else None,
                                 _limit_days(row.get("SXBLSX", ""), member.name, line))
        _check_size(len(out), member.name, line)
    return out


def _check_size(rows: int, file: str, line: int) -> None:
    if rows > MAX_ROWS:
        raise EventLogError(f"more than {MAX_ROWS} rows; split the export by period",
                            file=file, line=line)


def _status(code: str, has_step: bool) -> tuple[str, str]:
    """The status name and lifecycle transition of a ``BLZT`` value."""
    code = _BLZT_OF_NAME.get(code, code)
    name = BLZT.get(code, code)
    return name, _LIFECYCLE.get(code, "complete") if has_step else "complete"


class _Detail(NamedTuple):
    at: datetime
    line: int
    activity: str
    transition: str
    resource: str | None
    group: str | None


def _details(tables: dict[str, _Member], instances: dict[str, _Instance]
             ) -> dict[str, list[_Detail]]:
    member = tables[DETAIL]
    clock = TimestampClock(member.name)
    cases: dict[str, list[_Detail]] = {}
    for count, (line, row) in enumerate(_rows(member, DETAIL), 1):
        _check_size(count, member.name, line)
        case_id = row["SPSXSLBM"]
        if case_id not in instances:
            raise EventLogError(f"SPSXSLBM: {case_id!r} is not in {INSTANCE}; export the "
                                "tables of one period together", file=member.name, line=line,
                                suggestion=did_you_mean(case_id, list(instances)[:1000]))
        if not row["BLZT"] or not row["BLSJ"]:
            empty = "BLZT" if not row["BLZT"] else "BLSJ"
            raise EventLogError(f"{empty}: empty; every 办理详细信息 row needs its 办理状态 "
                                "and 办理时间", file=member.name, line=line)
        step = row.get("BLHJ", "")
        status, transition = _status(row["BLZT"], bool(step))
        cases.setdefault(case_id, []).append(_Detail(
            clock.parse(row["BLSJ"], line, "BLSJ"), line, step or status, transition,
            row.get("BLR") or None, row.get("BLCS") or None))
    return cases


def _deadline(instance: _Instance, first: datetime) -> datetime | None:
    if instance.limit_days is None:
        return None
    accepted = instance.accepted or first
    due = add_working_days(local_date(accepted), instance.limit_days)
    return datetime.combine(due, time(23, 59, 59), accepted.tzinfo)


def _check_columns(columns: LogColumns, file: str) -> None:
    given = [f"--{f.name.replace('_', '-')}" for f in fields(columns)
             if getattr(columns, f.name) is not None and f.name != "deadline"]
    if given:
        raise EventLogError(f"{given[0]}: SPGL tables have fixed columns; leave out "
                            f"{', '.join(given)}", file=file)
    if columns.deadline not in (None, "SXBLSX"):
        raise EventLogError(f"--deadline {columns.deadline}: in SPGL tables the deadline is "
                            "the item's 承诺时限; write --deadline SXBLSX", file=file)


def read_spgl(path: str | os.PathLike[str], columns: LogColumns | None = None
              ) -> Iterator[LogEvent]:
    """The events of an SPGL export (a folder or ``.zip`` of ``SPGL_*.csv``), case by case,
    each case in time order (rows of one instant in the file's order).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "SPGL_XMSPSXBLXXB.csv").write_text("SPSXSLBM,SPSXBM\\nS-1,0001\\n")
    >>> _ = (d / "SPGL_XMSPSXBLXXXXB.csv").write_text(
    ...     "SPSXSLBM,BLZT,BLSJ\\nS-1,11,2025-03-04 10:00:00\\nS-1,3,2025-03-03 09:00:00\\n")
    >>> [(e.case_id, e.activity, e.at.isoformat()) for e in read_spgl(d)]
    [('S-1', '受理', '2025-03-03T09:00:00+08:00'), ('S-1', '办结（通过）', '2025-03-04T10:00:00+08:00')]
    """
    path = Path(path)
    _check_columns(columns or LogColumns(), str(path))
    with ExitStack() as stack:
        tables = _tables(path, stack)
        instances = _instances(tables)
        cases = _details(tables, instances)
    if not cases:
        raise EventLogError(f"{DETAIL} holds no events", file=str(path))
    for case_id, rows in cases.items():
        rows.sort()
        instance = instances[case_id]
        deadline = _deadline(instance, rows[0].at)
        for d in rows:
            yield LogEvent(case_id, d.activity, d.at, d.transition, None, d.line, d.resource,
                           d.group, deadline, instance.accepted)


def open_log(path: str | os.PathLike[str], columns: LogColumns | None = None
             ) -> Iterator[LogEvent]:
    """The events of any log onething reads: SPGL tables (a folder or ``.zip``,
    :func:`read_spgl`) or an XES or CSV file (:func:`~simulations.interchange.read.read_log`).
    """
    path = Path(path)
    if path.is_dir() or path.name.lower().endswith(".zip"):
        return read_spgl(path, columns)
    return read_log(path, columns)


# --- writing ---------------------------------------------------------------------------------

_WRITE = {
    PROJECT: ("DFSJZJ", "XZQHDM", "GCDM", "XMDM", "XMMC", "SPLCBM"),
    STAGE: ("DFSJZJ", "SPLCBM", "SPLCBBH", "SPJDBM", "SPJDMC", "SPJDXH"),
    ITEM: ("DFSJZJ", "SPLCBM", "SPLCBBH", "SPJDXH", "SPSXBM", "SPSXBBH", "SPSXMC"),
    INSTANCE: ("DFSJZJ", "XZQHDM", "GCDM", "SPSXBM", "SPSXMC", "SPLCBM", "SPSXSLBM", "SLSJ",
               "SXBLSX"),
    DETAIL: ("DFSJZJ", "XZQHDM", "GCDM", "SPSXSLBM", "BLHJ", "BLCS", "BLR", "BLZT", "BLYJ",
             "BLSJ"),
    APPROVAL: ("DFSJZJ", "GCDM", "SPSXSLBM", "PFRQ", "PFWH", "PFWJBT"),
}


class SpglNames(NamedTuple):
    """The names written where the tables hold a name (项目名称, 事项名称, 办理环节, 处室):
    procedures by id, steps by ``(procedure_id, step_id)``, departments by id; an id
    without a name is written as it is."""

    procedures: Mapping[str, str] = {}
    steps: Mapping[tuple[str, str], str] = {}
    departments: Mapping[str, str] = {}


def _second(e: Event) -> str:
    """``e``'s time in service-centre time as the standard writes times, to the second
    (cut from :attr:`Event.time`, which the database may have formatted already).

    >>> _second(Event("C-1", "a", "start", datetime(2025, 3, 3, 9, 0, 5, 250000)))
    '2025-03-03 09:00:05'
    """
    text = e.time
    return f"{text[:10]} {text[11:19]}"


def _case_rows(case_id: str, run: list[Event], names: SpglNames) -> dict[str, list[list[str]]]:
    procedure = run[0].procedure_id or ""
    title = names.procedures.get(procedure, procedure)
    rows: dict[str, list[list[str]]] = {
        PROJECT: [[case_id, "", case_id, case_id, title, procedure]],
        INSTANCE: [[case_id, "", case_id, procedure, title, procedure, case_id,
                    _second(run[0]), ""]],
        DETAIL: [], APPROVAL: []}
    for n, e in enumerate(run, 1):
        step = names.steps.get((procedure, e.step_id), e.step_id)
        if e.kind == "certificate":
            rows[APPROVAL].append([f"{case_id}-{n}", case_id, case_id, _second(e)[:10],
                                   e.certificate or "", step])
            continue
        department = e.department_id or ""
        rows[DETAIL].append([f"{case_id}-{n}", "", case_id, case_id, step,
                             names.departments.get(department, department), e.resource or "",
                             _BLZT_OF_KIND[e.kind], BLZT[_BLZT_OF_KIND[e.kind]], _second(e)])
    return rows


def _target(path: Path) -> Path:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise EventLogError("exists and is not an empty folder; SPGL tables go into a new "
                            "folder — choose another -o", file=str(path))
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # left by a run that was killed
    tmp.mkdir(parents=True)
    return tmp


@without_cycle_collection
def write_spgl(events: Iterable[Event], path: str | os.PathLike[str],
               names: SpglNames | None = None) -> int:
    """Write ``events`` (grouped by case, in time order) as SPGL tables into the new folder
    ``path``, with the ``names`` of procedures, steps and departments where there is one;
    return the event count.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "spgl"
    >>> write_spgl([Event("C-1", "licence", "start", datetime(2025, 1, 24, 9), "samr"),
    ...             Event("C-1", "licence", "approve", datetime(2025, 1, 27, 10), "samr")], out)
    2
    >>> sorted(p.name for p in out.iterdir())[:2]
    ['SPGL_DFXMSPLCJDSXXXB.csv', 'SPGL_DFXMSPLCJDXXB.csv']
    """
    path = Path(path)
    names = names or SpglNames()
    tmp = _target(path)
    count = 0
    procedures: set[str] = set()
    try:
        with ExitStack() as stack:
            out = {}
            for table, header in _WRITE.items():
                f = stack.enter_context(open(tmp / f"{table}.csv", "w", encoding="utf-8",
                                             newline="", buffering=1 << 20))
                f.write("\ufeff")  # the BOM (spreadsheets read UTF-8 by it), once
                out[table] = csv_writer(f)
                out[table].writerow((*header, _VALID))
            for case_id, run in by_case(events):
                for table, rows in _case_rows(case_id, run, names).items():
                    out[table].writerows([*row, "1"] for row in rows)
                procedures.add(run[0].procedure_id or "")
                count += len(run)
            for n, procedure in enumerate(sorted(procedures - {""}), 1):
                title = names.procedures.get(procedure, procedure)
                out[STAGE].writerow([f"stage-{n}", procedure, "1", procedure, title, "1", "1"])
                out[ITEM].writerow([f"item-{n}", procedure, "1", "1", procedure, "1", title,
                                    "1"])
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return count

