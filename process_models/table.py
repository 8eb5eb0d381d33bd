"""Step tables: the spreadsheets (CSV, XLSX) planners keep their item lists in, read into a
procedure and written from one. The files themselves (encodings, CSV records, workbooks,
bounds) are :mod:`process_models.table_files`; the columns and the header row are
:mod:`process_models.table_columns`.

One row per step. Headers may be Chinese or English (a parenthetical suffix such as
``法定时限（工作日）`` is ignored, and so are columns this module does not know, like 序号):

=================  ==================  ==================================================
中文               English             cell
=================  ==================  ==================================================
事项               step                step name (required, unique)
部门               department          department name (required)
前置事项           depends_on          step names, separated by 、 , ; ， ； line breaks
                                       or spaces (not inside brackets; 「name」 is literal)
依赖类型           dependency_kind     法定/legal or 惯例/practice: one for all, or one
                                       per 前置事项 (default 法定)
法定时限           statutory_days      days, e.g. 20 or 0.5 (optional)
承诺时限           committed_days      days (required)
时限单位           unit                工作日/working (default) or 自然日/calendar
要件数             materials           how many materials (placeholders when no names)
要件               material_names      material names, separated like 前置事项
跑动次数           trips               applicant trips (default 0)
办件类型           kind                即办件, 承诺件 (default), 上报件 or 联办件
备注               note                free text
依据               basis               the basis of the row's numbers, e.g.
                                       ``承诺=S 随州服务标准；法定=M；跑动=E``: 法定/承诺
                                       /跑动/依赖 (statutory/committed/trips/dependency),
                                       ``=`` and S, E, M, F or I, then the source;
                                       separated by ； or ; (a number left out: estimate);
                                       依赖 once for all 前置事项, or once for each, in order
=================  ==================  ==================================================

Ids are derived from names, deterministically: an ASCII name becomes a slug
(``Food licence`` → ``food_licence``); any other name becomes a prefix and the first
hex digits of its SHA-1 (``营业执照`` → ``s_`` + 6 hex digits; ``d_`` for departments,
``m_`` for materials), so ids stay the same when rows are reordered. 要件数 without
要件 names creates that many placeholder materials named ``<step>要件1`` … .

A table holds steps, departments, dependencies with their kinds, limits, material
names, trips, the 办件类型 and a note (the Chinese ``note``). Lags, untimed parts, stages,
distributions, material details and English notes (``note_en``) stay in YAML; :func:`table_from_procedure` drops them (a dependency
on an all-join stage becomes dependencies on its milestones).

>>> rows = [["事项", "部门", "前置事项", "承诺时限"],
...         ["营业执照", "市场监管局", "", 1],
...         ["食品经营许可", "市场监管局", "营业执照", 10]]
>>> p = procedure_from_table(rows, procedure_id="shop", name="开店")
>>> [(s.name, s.predecessors) for s in p.steps]   # doctest: +ELLIPSIS
[('营业执照', []), ('食品经营许可', ['s_...'])]
>>> table_from_procedure(p, headers="en")[2][:3]
['食品经营许可', '市场监管局', '营业执照']
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from process_models._cells import (
    MAX_MATERIALS_PER_STEP,
    MAX_TABLE_ROWS,
    MAX_TRIPS,
    UncachedFormula,
    cell_text,
    derived_id,
    join_names,
    listed,
    split_names,
    split_outside_brackets,
)
from process_models._cells import close_match as _close
from process_models._cells import one_line as _one_line
from process_models._cells import shown_cell as _shown
from process_models.errors import FieldProblem, TableError
from process_models.loading import check_procedure, find_cycle
from process_models.procedure import (
    Basis,
    Department,
    Dependency,
    DependencyKind,
    Join,
    Limit,
    Material,
    Procedure,
    Provenance,
    Step,
    StepKind,
    Unit,
)
from process_models.table_columns import COLUMNS, Headers, find_header, is_blank
from process_models.table_files import TableWarning, read_rows, read_table_data, write_table
from process_models.table_problems import table_error

__all__ = ["load_table", "procedure_from_table", "save_table", "table_from_procedure",
           "table_procedure"]


_KINDS_EN = {k: k.name for k in StepKind}
_KIND_WORDS = ("法定", "惯例", "legal", "practice")
#: The numbers a 依据 cell gives the basis of, by their Chinese and English labels.
_BASIS_LABELS = {"法定": "statutory", "承诺": "committed", "跑动": "trips", "依赖": "dependency"}
_BASIS_SEPARATORS = ";；\n"
_BASIS_PART = re.compile(r"\s*(\S+?)\s*[=＝:：]\s*(\S+?)(?:\s+(.*\S))?\s*")


def _basis_cell(step: Step, dependencies: list[tuple[Basis | None, str | None]], *,
                zh: bool) -> str:
    """The 依据 cell of ``step``: each stated basis as ``label=MARK source``, joined by ；.
    ``dependencies`` holds the basis and source of each 前置事项 in order: one 依赖 entry
    when they agree, else one per 前置事项."""
    kinds = list(dict.fromkeys(dependencies))
    if len(kinds) > 1 and any(basis is None for basis, _ in kinds):
        raise TableError(f"step '{step.id}' states the basis of some dependencies and not of "
                         "others; state it for each (or none), or keep the step in YAML")
    trips = step.provenance.get("trips")
    stated = [("statutory", step.statutory and (step.statutory.basis, step.statutory.source)),
              ("committed", (step.committed.basis, step.committed.source)),
              ("trips", trips and (trips.basis, trips.source)),
              *(("dependency", pair) for pair in (kinds if len(kinds) == 1 else dependencies))]
    labels = {v: k for k, v in _BASIS_LABELS.items()} if zh else {v: v for v, _ in stated}
    return "；".join(f"{labels[key]}={b.mark}" + (f" {_source_text(src)}" if src else "")
                    for key, pair in stated if pair and pair[0] is not None
                    for b, src in [pair])


def _source_text(source: str) -> str:
    """``source`` as a 依据 cell holds it: wrapped in 「」 when it holds a separator (or is
    itself wrapped), so :func:`_read_basis` reads it back whole.

    >>> _source_text("理发店: 营业执照 3–7 working days; 卫生许可 10–15 working days")
    '「理发店: 营业执照 3–7 working days; 卫生许可 10–15 working days」'
    """
    plain = split_outside_brackets(source, _BASIS_SEPARATORS) == [source] and not (
        source.startswith("「") and source.endswith("」"))
    return source if plain else f"「{source}」"


def _stated(bases: dict[str, Provenance]):
    """``stated(number)``: the basis and source keywords of a number the 依据 cell names."""
    def stated(number: str) -> dict[str, Any]:
        p = bases.get(number)
        return {"basis": p.basis, "source": p.source} if p else {}
    return stated


def _read_basis(reader: _Reader,
                row: _Row) -> tuple[dict[str, Provenance], list[dict[str, Any]]]:
    """The bases a row's 依据 cell states: by number (statutory, committed, trips), and the
    dependencies' in order (one for all 前置事项, or one for each)."""
    out: dict[str, Provenance] = {}
    dependencies: list[dict[str, Any]] = []
    for part in filter(str.strip, split_outside_brackets(cell_text(row.cells.get("basis")), _BASIS_SEPARATORS)):
        match = _BASIS_PART.fullmatch(part)
        label = match and (_BASIS_LABELS.get(match[1]) or match[1].lower())
        if not match or label not in _BASIS_LABELS.values():
            reader.fail(row, "basis", "basis_unreadable", part=repr(part.strip()))
        basis = reader.choice(row, "basis", match[2], Basis, None)
        source = match[3]
        if source and source.startswith("「") and source.endswith("」"):
            source = source[1:-1]
        if label == "dependency":
            dependencies.append({"basis": basis, "source": source})
        else:
            out[label] = Provenance(basis=basis, source=source)
    return out, dependencies


_CHOICES: dict[type, tuple[str, ...]] = {
    Unit: ("工作日", "自然日", "working", "calendar"),
    DependencyKind: _KIND_WORDS,
    StepKind: (*(k.value for k in StepKind), *_KINDS_EN.values()),
    Basis: ("S", "E", "M", "F", "I", *(b.value for b in Basis)),
}


# --- ids -------------------------------------------------------------------------------------


def _slug_from(text: str) -> str:
    """A procedure id from a file stem (``餐饮店`` → ``table_`` + hex)."""
    return derived_id(text, "table", set())


# --- reading cells ---------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    cells: dict[str, Any]


class _Reader:
    """Turns cells into values, raising one :class:`TableError` per bad cell."""

    def __init__(self, file: str | None, headers: dict[str, str]) -> None:
        self.file = file
        self.headers = headers  # key → header as written in the table

    def fail(self, row: _Row | int, key: str, reason: str, suggestion: str | None = None,
             **values: Any):
        """Raise the :func:`table_error` of ``reason`` at ``row``'s cell of column ``key``."""
        raise table_error(reason, {k: _one_line(v) if isinstance(v, str) else v
                                   for k, v in values.items()},
                          suggestion=suggestion and _one_line(suggestion),
                          **self._cell(row, key))

    def refuse(self, row: _Row, refused: ValidationError, key: str | None = None):
        """Raise pydantic's refusal of what ``row`` makes at its cell of column ``key``, else
        of the field the error names: our own validator's reason (a committed limit over
        the statutory one), or ``invalid`` with pydantic's words."""
        first = refused.errors()[0]
        problem = first.get("ctx", {}).get("error")
        ours = isinstance(problem, FieldProblem)
        field = problem.field if ours and problem.field else str(next(iter(first["loc"]), ""))
        key = key or _FIELD_COLUMNS.get(field, "step")
        if ours:
            raise problem.error(TableError, **self._cell(row, key))
        self.fail(row, key, "invalid", problem=_first_problem(refused))

    def _cell(self, row: _Row | int, key: str) -> dict[str, Any]:
        """Where ``row``'s cell of column ``key`` is, as an error locates it."""
        number = row.number if isinstance(row, _Row) else row
        column = self.headers.get(key, key)
        return {"file": self.file, "path": f"row {number}, {column}", "row": number,
                "column": column}

    def days(self, row: _Row, key: str) -> float | None:
        raw = cell_text(row.cells.get(key))
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            self.fail(row, key, "not_days", value=_shown(raw))
        if value < 0:
            self.fail(row, key, "negative_days", value=_shown(raw))
        return value

    def count(self, row: _Row, key: str, most: int, what: str) -> int | None:
        raw = cell_text(row.cells.get(key))
        if not raw:
            return None
        if not re.fullmatch(r"\d+", raw):
            self.fail(row, key, "not_count", value=_shown(raw))
        if len(raw) > len(str(most)) or int(raw) > most:
            self.fail(row, key, "too_many", value=_shown(raw), what=what, most=most)
        return int(raw)

    def choice(self, row: _Row, key: str, raw: str, enum: type, default: Any) -> Any:
        if not raw:
            return default
        try:
            return enum(raw)
        except ValueError:
            shown = _CHOICES[enum]
            words = [*shown, *(m.value for m in enum), *enum.aliases()]
            self.fail(row, key, "not_allowed", _close(raw, [w for w in words if not w.isdigit()]),
                      value=_shown(raw), choices=list(shown))


def load_table(
    path: str | os.PathLike[str],
    *,
    procedure_id: str | None = None,
    name: str | None = None,
    sheet: str | None = None,
) -> Procedure:
    """Read a step table file into a checked :class:`Procedure`.

    A CSV may be UTF-8 (with or without a byte-order mark), GBK/GB18030 (Excel's
    "CSV (逗号分隔)" on a Chinese Windows) or UTF-16 with its byte-order mark (Excel's
    "Unicode 文本", tab-separated); an Excel ``sep=;`` first line names the separator.
    From a workbook, the sheet called ``sheet`` is read, else the first visible sheet whose
    first rows hold a header (so a cover sheet is passed over). Merged cells give each row
    they span their value, with a :class:`~process_models.table_files.TableWarning`. The
    size of what is read is bounded (see :mod:`process_models.table_files`).

    ``procedure_id`` and ``name`` default to the file stem (as an ASCII id).
    """
    p = Path(path)
    rows, file = read_rows(p, sheet)
    return _named_procedure(rows, file, p.stem, procedure_id, name)


def table_procedure(data: bytes, file: str, *, procedure_id: str | None = None,
                    name: str | None = None, sheet: str | None = None) -> Procedure:
    """A step table held in ``data`` (e.g. an upload) as a checked :class:`Procedure`, read
    as :func:`load_table` reads a file; ``file`` is its name (its suffix tells CSV from
    XLSX) and what errors name."""
    rows, place = read_table_data(data, file, sheet=sheet)
    return _named_procedure(rows, place, Path(file).stem, procedure_id, name)


def _named_procedure(rows: Sequence[Sequence[Any]], place: str, stem: str,
                     procedure_id: str | None, name: str | None) -> Procedure:
    return procedure_from_table(rows, file=place, procedure_id=procedure_id or _slug_from(stem),
                                name=name or stem)


# --- from cells to a procedure ----------------------------------------------------------------


def procedure_from_table(
    rows: Sequence[Sequence[Any]],
    *,
    procedure_id: str = "imported",
    name: str = "imported",
    file: str | None = None,
) -> Procedure:
    """Build a procedure from table cells: a header row, then one row per step.

    The header is the first of the first
    :data:`~process_models.table_columns.HEADER_SEARCH_ROWS` non-blank rows that
    names 事项, 部门 and 承诺时限 (a title row above it is passed over). Blank rows are
    skipped; an empty 部门 below a filled one takes the department above (Excel keeps a
    merged cell's value in its top row only), with a
    :class:`~process_models.table_files.TableWarning`. Any bad cell
    raises one :class:`TableError` naming the file, row number (1-based, as a spreadsheet
    shows it), column, value and fix.
    """
    header_at, headers, positions = find_header(rows, file)
    reader = _Reader(file, headers)
    body = _body(rows, header_at, positions, reader)
    named = _named_rows(body, reader)
    steps = _Steps(reader, named)
    proc = steps.procedure(procedure_id, name)
    return check_procedure(proc, file=file)


def _body(rows: Sequence[Sequence[Any]], header_at: int, positions: dict[str, int],
          reader: _Reader) -> list[_Row]:
    """The non-blank rows below the header, with an empty 部门 filled from the row above."""
    body: list[_Row] = []
    for i in range(header_at + 1, len(rows)):
        r = rows[i]
        if is_blank(r):
            continue
        if len(body) == MAX_TABLE_ROWS:
            reader.fail(i + 1, "step", "too_many_steps", most=MAX_TABLE_ROWS)
        cells = {key: (r[pos] if pos < len(r) else None) for key, pos in positions.items()}
        for key, value in cells.items():
            if isinstance(value, UncachedFormula):
                reader.fail(i + 1, key, "uncached_formula", value=_shown(value))
        body.append(_Row(i + 1, cells))
    if not body:
        raise table_error("no_steps", file=reader.file)
    filled, above = [], ""
    for row in body:
        department = cell_text(row.cells.get("department"))
        if department:
            above = department
        elif above:
            row.cells["department"] = above
            filled.append(row.number)
    if filled:
        where = f"{reader.file}: " if reader.file else ""
        rows_named = f"row{'s' if len(filled) > 1 else ''} {listed(filled)}"
        warnings.warn(f"{where}{rows_named}, {reader.headers['department']}: empty, "
                      "read as the department of the row above (merged cells); fill them in if "
                      "a step belongs to another department", TableWarning, stacklevel=4)
    return body


def _named_rows(body: list[_Row], reader: _Reader) -> dict[str, _Row]:
    """Each step name and its row; an empty or repeated name is refused."""
    names: dict[str, _Row] = {}
    for row in body:
        step = cell_text(row.cells.get("step"))
        if not step:
            reader.fail(row, "step", "empty_step")
        if step in names:
            reader.fail(row, "step", "duplicate_step", value=_shown(step),
                        first=names[step].number)
        names[step] = row
    return names


class _Steps:
    """Builds the steps of one table, deriving the ids of steps, departments and materials."""

    def __init__(self, reader: _Reader, named: dict[str, _Row]) -> None:
        self.reader = reader
        self.named = named
        self.taken: dict[str, set[str]] = {"s": set(), "d": set(), "m": set()}
        self.step_ids = {n: derived_id(n, "s", self.taken["s"]) for n in named}
        self.departments: dict[str, str] = {}
        self.materials: dict[str, Material] = {}
        self.edges: dict[str, list[str]] = {n: [] for n in named}

    def procedure(self, procedure_id: str, name: str) -> Procedure:
        steps = [self.step(step_name, row) for step_name, row in self.named.items()]
        cycle = find_cycle(self.edges)
        if cycle:
            loop = " → ".join([*cycle, cycle[0]])
            self.reader.fail(self.named[cycle[0]], "depends_on", "cycle", loop=loop)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", procedure_id):
            raise TableError(f"procedure id {_shown(procedure_id)} may use only letters, digits, "
                             "'_', '-' and '.'", path="--id")
        if not name.strip():
            raise TableError("procedure name is empty; give one with --name", path="--name")
        try:
            return Procedure(
                id=procedure_id, name=name,
                departments=[Department(id=i, name=n) for n, i in self.departments.items()],
                materials=list(self.materials.values()), steps=steps,
            )
        except ValidationError as e:
            raise table_error("invalid", {"problem": _first_problem(e)},
                              file=self.reader.file) from None

    def step(self, step_name: str, row: _Row) -> Step:
        reader = self.reader
        department = cell_text(row.cells.get("department"))
        if not department:
            reader.fail(row, "department", "empty_department")
        if department not in self.departments:
            self.departments[department] = derived_id(department, "d", self.taken["d"])
        unit = reader.choice(row, "unit", cell_text(row.cells.get("unit")), Unit, Unit.working)
        bases, dependency_bases = _read_basis(reader, row)
        stated = _stated(bases)
        committed = self.limit(row, "committed_days", unit, stated("committed"))
        if committed is None:
            reader.fail(row, "committed_days", "empty_committed")
        try:
            return Step(
                id=self.step_ids[step_name],
                name=step_name,
                department=self.departments[department],
                kind=reader.choice(row, "kind", cell_text(row.cells.get("kind")), StepKind,
                                   StepKind.promised),
                statutory=self.limit(row, "statutory_days", unit, stated("statutory")),
                committed=committed,
                depends_on=self.dependencies(step_name, row, dependency_bases),
                materials=self.material_ids(step_name, row),
                trips=reader.count(row, "trips", MAX_TRIPS, "trips") or 0,
                provenance={"trips": bases["trips"]} if "trips" in bases else {},
                note=cell_text(row.cells.get("note")) or None,
            )
        except ValidationError as e:
            reader.refuse(row, e)

    def limit(self, row: _Row, key: str, unit: Unit, basis: dict[str, Any]) -> Limit | None:
        days = self.reader.days(row, key)
        if days is None:
            return None
        try:
            return Limit(days=days, unit=unit, **basis)
        except ValidationError as e:
            self.reader.refuse(row, e, key)

    def dependencies(self, step_name: str, row: _Row,
                     bases: list[dict[str, Any]]) -> list[Dependency]:
        reader = self.reader
        predecessors = split_names(cell_text(row.cells.get("depends_on")), self.named)
        for before in predecessors:
            if before not in self.named:
                reader.fail(row, "depends_on", "unknown_step", _close(before, self.named),
                            value=_shown(before), column=reader.headers["step"])
            if before == step_name:
                reader.fail(row, "depends_on", "self_dependency", value=_shown(step_name))
            self.edges[before].append(step_name)
        kinds = [reader.choice(row, "dependency_kind", k, DependencyKind, DependencyKind.legal)
                 for k in split_names(cell_text(row.cells.get("dependency_kind")), _KIND_WORDS)]
        if len(kinds) > 1 and len(kinds) != len(predecessors):
            reader.fail(row, "dependency_kind", "kinds_count", kinds=len(kinds),
                        prerequisites=len(predecessors))
        if len(kinds) <= 1:
            kinds = (kinds or [DependencyKind.legal]) * len(predecessors)
        if len(bases) > 1 and len(bases) != len(predecessors):
            reader.fail(row, "basis", "bases_count", bases=len(bases),
                        prerequisites=len(predecessors))
        if len(bases) <= 1:
            bases = (bases or [{}]) * len(predecessors)
        return [Dependency(step=self.step_ids[b], kind=k, **basis)
                for b, k, basis in zip(predecessors, kinds, bases, strict=True)]

    def material_ids(self, step_name: str, row: _Row) -> list[str]:
        reader = self.reader
        names = split_names(cell_text(row.cells.get("material_names")))
        count = reader.count(row, "materials", MAX_MATERIALS_PER_STEP, "materials")
        if len(names) > MAX_MATERIALS_PER_STEP:
            reader.fail(row, "material_names", "too_many_material_names", count=len(names),
                        most=MAX_MATERIALS_PER_STEP)
        if count is not None and names and count != len(names):
            reader.fail(row, "materials", "materials_mismatch", count=count,
                        column=reader.headers["material_names"], names=len(names))
        if len(set(names)) != len(names):
            dup = next(m for m in names if names.count(m) > 1)
            reader.fail(row, "material_names", "duplicate_material", value=_shown(dup))
        if not names and count:
            names = [f"{step_name}要件{i}" for i in range(1, count + 1)]
        for m in names:
            if m not in self.materials:
                self.materials[m] = Material(id=derived_id(m, "m", self.taken["m"]), name=m)
        return [self.materials[m].id for m in names]


# Which column holds what a procedure field was built from, to locate a model's complaint.
_FIELD_COLUMNS = {"name": "step", "department": "department", "statutory": "statutory_days",
                  "committed": "committed_days", "trips": "trips", "note": "note",
                  "materials": "material_names", "depends_on": "depends_on", "kind": "kind",
                  "provenance": "basis"}


def _first_problem(e: ValidationError) -> str:
    problem = e.errors()[0]
    where = ".".join(map(str, problem["loc"]))
    return f"{where + ': ' if where else ''}{problem['msg']} (got {_shown(problem.get('input'))})"


# --- writing tables --------------------------------------------------------------------------


def table_from_procedure(proc: Procedure, *, headers: Headers = "zh") -> list[list[Any]]:
    """The procedure as table cells: a header row, then one row per step.

    Numbers stay numbers (whole ones as ``int``); empty cells are ``""``. Raises
    :class:`TableError` when a table cannot hold the procedure faithfully: two steps,
    departments or materials sharing a name, a name with spaces at its ends, a listed
    name that no cell can hold,
    different units for one step's two limits, or a dependency on an any-join stage.
    """
    if headers not in ("zh", "en"):
        raise TableError(f"unknown headers {headers!r}; use zh or en", path="--headers")
    for what, items in (("step", proc.steps), ("department", proc.departments),
                        ("material", proc.materials)):
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                raise TableError(f"two {what}s are named '{item.name}'; a table tells them "
                                 "apart by name, so rename one", file=proc.id)
            if item.name != item.name.strip():
                raise TableError(f"{what} name {item.name!r} has spaces at its ends, which a "
                                 "table's cell drops; rename it", file=proc.id)
            seen.add(item.name)
    step_names = {s.id: s.name for s in proc.steps}
    dept_names = {d.id: d.name for d in proc.departments}
    material_names = {m.id: m.name for m in proc.materials}
    stages = {s.id: s for s in proc.stages}
    zh = headers == "zh"
    out: list[list[Any]] = [[c.header(headers) for c in COLUMNS]]
    for s in proc.steps:
        befores: list[str] = []
        kinds: list[DependencyKind] = []
        dependency_bases: list[tuple[Basis | None, str | None]] = []
        for dep in s.depends_on:
            targets = [dep.step]
            if dep.step in stages:
                stage = stages[dep.step]
                if stage.join is Join.any:
                    raise TableError(f"step '{s.id}' waits for any-join stage '{stage.id}', "
                                     "which a step table cannot hold; keep it in YAML",
                                     file=proc.id)
                targets = stage.milestones or stage.steps
            for target in targets:
                if step_names[target] not in befores:
                    befores.append(step_names[target])
                    kinds.append(dep.kind)
                    dependency_bases.append((dep.basis, dep.source))
        if s.statutory is not None and s.statutory.unit is not s.committed.unit:
            raise TableError(f"step '{s.id}' counts its statutory and committed limits in "
                             "different units; a table has one 时限单位 per step", file=proc.id)
        kind_text = [_KIND_WORDS[k is DependencyKind.practice] if zh else k.value for k in kinds]
        unit = s.committed.unit
        try:
            listed = (join_names(befores, list(step_names.values())),
                      join_names([material_names[m] for m in s.materials]))
        except TableError as e:
            raise e.located(file=proc.id) from None
        out.append([
            s.name,
            dept_names[s.department],
            listed[0],
            "、".join(kind_text[:1] if len(set(kind_text)) == 1 else kind_text),
            _number(s.statutory.days) if s.statutory else "",
            _number(s.committed.days),
            ("工作日" if unit is Unit.working else "自然日") if zh else unit.value,
            len(s.materials),
            listed[1],
            s.trips,
            s.kind.value if zh else _KINDS_EN[s.kind],
            s.note or "",
            _basis_cell(s, dependency_bases, zh=zh),
        ])
    return out


def _number(days: float) -> int | float:
    return int(days) if float(days).is_integer() else days


def save_table(proc: Procedure, path: str | os.PathLike[str], *, headers: Headers = "zh") -> None:
    """Write ``proc`` as a step table (``.csv`` or ``.xlsx``, by suffix), atomically."""
    write_table(table_from_procedure(proc, headers=headers), path)
