"""Step tables: the spreadsheets (CSV, XLSX) planners keep their item lists in.

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
=================  ==================  ==================================================

Ids are derived from names, deterministically: an ASCII name becomes a slug
(``Food licence`` → ``food_licence``); any other name becomes a prefix and the first
hex digits of its SHA-1 (``营业执照`` → ``s_`` + 6 hex digits; ``d_`` for departments,
``m_`` for materials), so ids stay the same when rows are reordered. 要件数 without
要件 names creates that many placeholder materials named ``<step>要件1`` … .

A table holds steps, departments, dependencies with their kinds, limits, material
names, trips, the 办件类型 and a note. Lags, untimed parts, stages, distributions and
material details stay in YAML; :func:`table_from_procedure` drops them (a dependency
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

import csv
import hashlib
import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from process_models.errors import ProcedureSyntaxError, TableError, did_you_mean
from process_models.loading import check_procedure, find_cycle, read_text
from process_models.procedure import (
    Department,
    Dependency,
    DependencyKind,
    Join,
    Limit,
    Material,
    Procedure,
    Step,
    StepKind,
    Unit,
)

__all__ = [
    "COLUMNS",
    "Column",
    "load_table",
    "procedure_from_table",
    "read_table",
    "save_table",
    "table_from_procedure",
    "write_table",
]

Headers = Literal["zh", "en"]


@dataclass(frozen=True)
class Column:
    """One column of a step table: its key, Chinese and English header, other spellings."""

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def header(self, headers: Headers) -> str:
        return self.zh if headers == "zh" else self.en


COLUMNS: tuple[Column, ...] = (
    Column("step", "事项", "step", ("事项名称", "step_name", "name")),
    Column("department", "部门", "department",
           ("部门名称", "办理部门", "实施部门", "审批部门", "实施主体")),
    Column("depends_on", "前置事项", "depends_on", ("前置", "依赖事项")),
    Column("dependency_kind", "依赖类型", "dependency_kind", ("前置类型",)),
    Column("statutory_days", "法定时限", "statutory_days",
           ("法定办结时限", "法定办理时限", "statutory")),
    Column("committed_days", "承诺时限", "committed_days",
           ("承诺办结时限", "承诺办理时限", "committed")),
    Column("unit", "时限单位", "unit", ("时限类型",)),
    Column("materials", "要件数", "materials", ("材料数", "material_count")),
    Column("material_names", "要件", "material_names",
           ("要件名称", "要件清单", "申请材料", "材料", "材料名称", "材料清单", "所需材料")),
    Column("trips", "跑动次数", "trips", ("跑动", "到现场次数")),
    Column("kind", "办件类型", "kind", ("step_kind",)),
    Column("note", "备注", "note", ()),
)
_BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = ("step", "department", "committed_days")
_KINDS_EN = {k: k.name for k in StepKind}
_KIND_WORDS = ("法定", "惯例", "legal", "practice")
_CHOICES: dict[type, tuple[str, ...]] = {
    Unit: ("工作日", "自然日", "working", "calendar"),
    DependencyKind: _KIND_WORDS,
    StepKind: (*(k.value for k in StepKind), *_KINDS_EN.values()),
}


def _normal_header(text: Any) -> str:
    text = re.sub(r"[（(].*?[)）]", "", str(text or "")).strip().lower()
    return re.sub(r"[\s_\-]+", "_", text)


_HEADER_KEYS = {
    _normal_header(name): c.key for c in COLUMNS for name in (c.zh, c.en, *c.aliases)
}


# --- ids -------------------------------------------------------------------------------------


def _derived_id(name: str, prefix: str, taken: set[str]) -> str:
    """A deterministic ASCII id for ``name``; a suffix ``_2``, ``_3`` … avoids ``taken``."""
    if name.isascii() and (slug := re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")):
        base = slug
    else:
        base = f"{prefix}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _slug_from(text: str) -> str:
    """A procedure id from a file stem (``餐饮店`` → ``table_`` + hex)."""
    return _derived_id(text, "table", set())


# --- cells -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_BRACKETS = {"(": ")", "（": "）", "《": "》", "「": "」", "『": "』", "【": "】", "[": "]",
             "“": "”"}


def _balanced(text: str) -> bool:
    """Whether every bracket in ``text`` opens and closes in order."""
    closers: list[str] = []
    for ch in text:
        if closers and ch == closers[-1]:
            closers.pop()
        elif ch in _BRACKETS:
            closers.append(_BRACKETS[ch])
        elif ch in _BRACKETS.values():
            return False
    return not closers


def _pieces(text: str, separators: str) -> list[str]:
    """Split ``text`` at ``separators`` outside brackets (or everywhere if they do not match)."""
    out, start, closers = [], 0, []
    for i, ch in enumerate(text):
        if closers and ch == closers[-1]:
            closers.pop()
        elif ch in _BRACKETS:
            closers.append(_BRACKETS[ch])
        elif not closers and ch in separators:
            out.append(text[start:i])
            start = i + 1
    if closers:
        return re.split(f"[{re.escape(separators)}]", text)
    return [*out, text[start:]]


def _split(text: str, known: Sequence[str] = ()) -> list[str]:
    """Names in a cell: split on 、 , ; ， ； and line breaks, then on spaces.

    Separators inside brackets (《》, （）, 「」 …) do not split, and a name wrapped in
    「」 is taken literally (one layer is removed). A piece is split on spaces only
    when it is not a name in ``known`` and one of its words is, or each word holds a
    non-ASCII character: ``ID card`` stays one name, ``身份证 户口簿`` is two.

    >>> _split("营业执照、《食品经营许可证》;ID card，身份证 户口簿")
    ['营业执照', '《食品经营许可证》', 'ID card', '身份证', '户口簿']
    >>> _split("「法定代表人、董事任职文件」、章程（草案、定稿）")
    ['法定代表人、董事任职文件', '章程（草案、定稿）']
    """
    out: list[str] = []
    for piece in filter(None, (p.strip() for p in _pieces(text, "、,;，；\n"))):
        if piece.startswith("「") and piece.endswith("」") and _balanced(piece[1:-1]):
            out.append(piece[1:-1])
            continue
        words = [w for w in _pieces(piece, " \t\u3000") if w]
        if piece in known or len(words) == 1:
            out.append(piece)
        elif any(w in known for w in words) or all(not w.isascii() for w in words):
            out.extend(words)
        else:
            out.append(piece)
    return out


def _join(names: Sequence[str], known: Sequence[str] = ()) -> str:
    """A cell listing ``names`` that :func:`_split` reads back (names wrapped in 「」 where
    needed); a :class:`TableError` when no cell can hold them.

    >>> _join(["营业执照", "法定代表人、董事任职文件"])
    '营业执照、「法定代表人、董事任职文件」'
    """
    cell = "、".join(n if _split(n, known) == [n] else f"「{n}」" for n in names)
    if _split(cell, known) != list(names):
        bad = next((n for n in names if n != n.strip() or not n), names[0])
        raise TableError(f"name {bad!r} cannot be listed in one cell with {len(names) - 1} "
                         "others (spaces at the ends or unbalanced brackets); rename it")
    return cell


@dataclass
class _Row:
    number: int
    cells: dict[str, Any]


class _Reader:
    """Turns cells into values, raising one :class:`TableError` per bad cell."""

    def __init__(self, file: str | None, headers: dict[str, str]) -> None:
        self.file = file
        self.headers = headers  # key → header as written in the table

    def fail(self, row: _Row | int, key: str, message: str, suggestion: str | None = None):
        number = row.number if isinstance(row, _Row) else row
        raise TableError(message, file=self.file, path=f"row {number}, {self.headers.get(key, key)}",
                         suggestion=suggestion)

    def days(self, row: _Row, key: str) -> float | None:
        raw = _text(row.cells.get(key))
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            self.fail(row, key, f"{raw!r} is not a number of days; write e.g. 20 or 0.5")
        if value < 0:
            self.fail(row, key, f"{raw!r} is negative; a time limit is 0 days or more")
        return value

    def count(self, row: _Row, key: str) -> int | None:
        raw = _text(row.cells.get(key))
        if not raw:
            return None
        if not re.fullmatch(r"\d+", raw):
            self.fail(row, key, f"{raw!r} is not a whole number of 0 or more; write e.g. 2")
        return int(raw)

    def choice(self, row: _Row, key: str, raw: str, enum: type, default: Any) -> Any:
        if not raw:
            return default
        try:
            return enum(raw)
        except ValueError:
            shown = _CHOICES[enum]
            self.fail(row, key, f"{raw!r} is not allowed; use {' or '.join(shown)}",
                      did_you_mean(raw, [*shown, *(m.value for m in enum), *enum.aliases()]))


# --- reading tables --------------------------------------------------------------------------


def read_table(path: str | os.PathLike[str]) -> list[list[Any]]:
    """The cells of a ``.csv`` (UTF-8, BOM optional) or ``.xlsx`` file, row by row.

    GBK CSVs are refused with advice to save as UTF-8, like every text file onething reads.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        text = read_text(p)
        try:
            dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        return [row for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    if suffix == ".xlsx":
        return _read_xlsx(p)
    raise TableError(f"unknown table type '{p.suffix}'; use a .csv or .xlsx file", file=str(p))


def _read_xlsx(path: Path) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    if not path.is_file():
        raise ProcedureSyntaxError("no such file; check the path", file=str(path))
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise ProcedureSyntaxError(
            f"not a readable .xlsx workbook ({type(e).__name__}); save it from Excel as .xlsx",
            file=str(path),
        ) from None
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def load_table(
    path: str | os.PathLike[str], *, procedure_id: str | None = None, name: str | None = None
) -> Procedure:
    """Read a step table file into a checked :class:`Procedure`.

    ``procedure_id`` and ``name`` default to the file stem (as an ASCII id).
    """
    p = Path(path)
    return procedure_from_table(
        read_table(p), file=str(p), procedure_id=procedure_id or _slug_from(p.stem),
        name=name or p.stem,
    )


def procedure_from_table(
    rows: Sequence[Sequence[Any]],
    *,
    procedure_id: str = "imported",
    name: str = "imported",
    file: str | None = None,
) -> Procedure:
    """Build a procedure from table cells: a header row, then one row per step.

    Blank rows are skipped. Any bad cell raises one :class:`TableError` naming the
    file, row number (1-based, as a spreadsheet shows it), column, value and fix.
    """
    header_at = next((i for i, r in enumerate(rows) if any(_text(c) for c in r)), None)
    if header_at is None:
        raise TableError("the table is empty; add a header row and one row per step", file=file)
    headers, positions = _headers(rows[header_at], header_at + 1, file)
    reader = _Reader(file, headers)
    body = [
        _Row(i + 1, {key: (r[pos] if pos < len(r) else None) for key, pos in positions.items()})
        for i, r in enumerate(rows)
        if i > header_at and any(_text(c) for c in r)
    ]
    if not body:
        raise TableError("the table has a header but no steps; add one row per step", file=file)

    names: dict[str, _Row] = {}
    for row in body:
        step = _text(row.cells.get("step"))
        if not step:
            reader.fail(row, "step", "is empty; every row needs a step name")
        if step in names:
            reader.fail(row, "step", f"duplicate step '{step}' (already in row "
                        f"{names[step].number}); give each step its own name")
        names[step] = row

    taken: dict[str, set[str]] = {"s": set(), "d": set(), "m": set()}
    step_ids = {n: _derived_id(n, "s", taken["s"]) for n in names}
    departments: dict[str, str] = {}
    materials: dict[str, Material] = {}
    steps: list[Step] = []
    edges: dict[str, list[str]] = {n: [] for n in names}
    for step_name, row in names.items():
        step_id = step_ids[step_name]
        dept = _text(row.cells.get("department"))
        if not dept:
            reader.fail(row, "department", "is empty; name the department that handles the step")
        if dept not in departments:
            departments[dept] = _derived_id(dept, "d", taken["d"])

        predecessors = _split(_text(row.cells.get("depends_on")), list(names))
        for before in predecessors:
            if before not in names:
                reader.fail(row, "depends_on", f"unknown step '{before}'; use a name from the "
                            f"{headers['step']} column", did_you_mean(before, names))
            if before == step_name:
                reader.fail(row, "depends_on", f"step '{step_name}' depends on itself; "
                            "remove it here")
            edges[before].append(step_name)
        kinds = [reader.choice(row, "dependency_kind", k, DependencyKind, DependencyKind.legal)
                 for k in _split(_text(row.cells.get("dependency_kind")), _KIND_WORDS)]
        if len(kinds) > 1 and len(kinds) != len(predecessors):
            reader.fail(row, "dependency_kind", f"{len(kinds)} kinds for {len(predecessors)} "
                        "prerequisites; give one kind for all, or one per prerequisite")
        if len(kinds) == 1:
            kinds = kinds * len(predecessors)
        if not kinds:
            kinds = [DependencyKind.legal] * len(predecessors)

        unit = reader.choice(row, "unit", _text(row.cells.get("unit")), Unit, Unit.working)
        committed = reader.days(row, "committed_days")
        if committed is None:
            reader.fail(row, "committed_days", "is empty; give the committed limit in days "
                        "(use the statutory limit when there is no commitment)")
        statutory = reader.days(row, "statutory_days")

        material_names = _split(_text(row.cells.get("material_names")))
        count = reader.count(row, "materials")
        if count is not None and material_names and count != len(material_names):
            reader.fail(row, "materials", f"says {count} but {headers['material_names']} lists "
                        f"{len(material_names)} names; make them agree or leave one blank")
        if len(set(material_names)) != len(material_names):
            dup = next(m for m in material_names if material_names.count(m) > 1)
            reader.fail(row, "material_names", f"material '{dup}' is listed twice; list it once")
        if not material_names and count:
            material_names = [f"{step_name}要件{i}" for i in range(1, count + 1)]
        for m in material_names:
            if m not in materials:
                materials[m] = Material(id=_derived_id(m, "m", taken["m"]), name=m)

        trips = reader.count(row, "trips") or 0
        kind = reader.choice(row, "kind", _text(row.cells.get("kind")), StepKind,
                             StepKind.promised)
        steps.append(
            Step(
                id=step_id,
                name=step_name,
                department=departments[dept],
                kind=kind,
                statutory=None if statutory is None else Limit(days=statutory, unit=unit),
                committed=Limit(days=committed, unit=unit),
                depends_on=[Dependency(step=step_ids[b], kind=k)
                            for b, k in zip(predecessors, kinds, strict=True)],
                materials=[materials[m].id for m in material_names],
                trips=trips,
                note=_text(row.cells.get("note")) or None,
            )
        )

    cycle = find_cycle(edges)
    if cycle:
        loop = " → ".join([*cycle, cycle[0]])
        reader.fail(names[cycle[0]], "depends_on", f"dependency cycle: {loop}; remove one of "
                    "these prerequisites")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", procedure_id):
        raise TableError(f"procedure id {procedure_id!r} may use only letters, digits, '_', '-' "
                         "and '.'", path="--id")
    if not name.strip():
        raise TableError("procedure name is empty; give one with --name", path="--name")
    proc = Procedure(
        id=procedure_id, name=name,
        departments=[Department(id=i, name=n) for n, i in departments.items()],
        materials=list(materials.values()), steps=steps,
    )
    return check_procedure(proc, file=file)


def _headers(row: Sequence[Any], number: int, file: str | None):
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    for pos, cell in enumerate(row):
        raw = _text(cell)
        if not raw:
            continue
        key = _HEADER_KEYS.get(_normal_header(raw))
        if key is None:
            close = did_you_mean(raw, [h for c in COLUMNS for h in (c.zh, c.en)])
            if close:
                raise TableError(f"unknown column '{raw}'", file=file,
                                 path=f"row {number}", suggestion=close)
            continue  # 序号, 说明 …: columns a step table does not hold
        if key in positions:
            raise TableError(f"column '{raw}' repeats '{written[key]}'; keep one of them",
                             file=file, path=f"row {number}")
        positions[key] = pos
        written[key] = raw
    missing = [_BY_KEY[k] for k in REQUIRED if k not in positions]
    if missing:
        need = ", ".join(f"{c.zh}/{c.en}" for c in missing)
        raise TableError(f"missing column {need}; the header row needs 事项, 部门 and 承诺时限",
                         file=file, path=f"row {number}")
    for c in COLUMNS:
        written.setdefault(c.key, c.zh)
    return written, positions


# --- writing tables --------------------------------------------------------------------------


def table_from_procedure(proc: Procedure, *, headers: Headers = "zh") -> list[list[Any]]:
    """The procedure as table cells: a header row, then one row per step.

    Numbers stay numbers (whole ones as ``int``); empty cells are ``""``. Raises
    :class:`TableError` when a table cannot hold the procedure faithfully: two steps,
    departments or materials sharing a name, a listed name that no cell can hold,
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
        if s.statutory is not None and s.statutory.unit is not s.committed.unit:
            raise TableError(f"step '{s.id}' counts its statutory and committed limits in "
                             "different units; a table has one 时限单位 per step", file=proc.id)
        kind_text = [_KIND_WORDS[k is DependencyKind.practice] if zh else k.value for k in kinds]
        unit = s.committed.unit
        try:
            listed = (_join(befores, list(step_names.values())),
                      _join([material_names[m] for m in s.materials]))
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
        ])
    return out


def _number(days: float) -> int | float:
    return int(days) if float(days).is_integer() else days


def write_table(rows: Sequence[Sequence[Any]], path: str | os.PathLike[str]) -> None:
    """Write cells to ``.csv`` (UTF-8 with BOM, so Excel opens it) or ``.xlsx``, atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise TableError(f"unknown table type '{target.suffix}'; write a .csv or .xlsx file",
                         file=str(target))
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as f:
                csv.writer(f).writerows([[_text(c) for c in r] for r in rows])
        else:
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = "steps"
            for r in rows:
                sheet.append([None if c == "" else c for c in r])
            book.save(tmp)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise TableError(f"cannot write: {e.strerror}; check the folder exists and is writable",
                         file=str(target)) from None


def save_table(proc: Procedure, path: str | os.PathLike[str], *, headers: Headers = "zh") -> None:
    """Write ``proc`` as a step table (``.csv`` or ``.xlsx``, by suffix), atomically."""
    write_table(table_from_procedure(proc, headers=headers), path)
