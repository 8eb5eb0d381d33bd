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
依据               basis               the basis of the row's numbers, e.g.
                                       ``承诺=S 随州服务标准；法定=M；跑动=E``: 法定/承诺
                                       /跑动/依赖 (statutory/committed/trips/dependency),
                                       ``=`` and S, E, M, F or I, then the source;
                                       separated by ； or ; (a number left out: estimate);
                                       依赖 once for all 前置事项, or once for each, in order;
                                       a source holding ； or ; is wrapped in 「」
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

import codecs
import csv
import io
import math
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import ValidationError

from process_models._cells import (
    MAX_CELL_CHARS,
    MAX_MATERIALS_PER_STEP,
    MAX_TABLE_BYTES,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_TRIPS,
    MAX_XLSX_UNPACKED_BYTES,
    UncachedFormula,
)
from process_models._cells import cell_text as _text
from process_models._cells import close_match as _close
from process_models._cells import derived_id as _derived_id
from process_models._cells import join_names as _join
from process_models._cells import looks_like_formula as _looks_like_formula
from process_models._cells import normal_header as _normal_header
from process_models._cells import one_line as _one_line
from process_models._cells import plain_cell as _plain
from process_models._cells import read_bounded as _read_bytes
from process_models._cells import shown_cell as _shown
from process_models._cells import split_names as _split
from process_models._cells import split_outside_brackets as _pieces
from process_models.errors import ProcedureSyntaxError, TableError
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

__all__ = [
    "COLUMNS",
    "MAX_CELL_CHARS",
    "MAX_MATERIALS_PER_STEP",
    "MAX_TABLE_BYTES",
    "MAX_TABLE_COLUMNS",
    "MAX_TABLE_ROWS",
    "MAX_TRIPS",
    "MAX_XLSX_UNPACKED_BYTES",
    "Column",
    "TableWarning",
    "UncachedFormula",
    "csv_writer",
    "formula_safe",
    "load_table",
    "procedure_from_table",
    "read_table",
    "read_table_data",
    "save_table",
    "table_from_procedure",
    "table_procedure",
    "write_table",
]

Headers = Literal["zh", "en"]

HEADER_SEARCH_ROWS = 20                # the header is among the first non-blank rows


class TableWarning(UserWarning):
    """A table was read, but a cell was taken to mean something not written in it
    (a merged cell's value in each row it spans). The CLI prints these."""


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
    Column("basis", "依据", "basis", ("来源", "数据来源")),
)
_BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = ("step", "department", "committed_days")
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
    plain = _pieces(source, _BASIS_SEPARATORS) == [source] and not (
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
    for part in filter(str.strip, _pieces(_text(row.cells.get("basis")), _BASIS_SEPARATORS)):
        match = _BASIS_PART.fullmatch(part)
        label = match and (_BASIS_LABELS.get(match[1]) or match[1].lower())
        if not match or label not in _BASIS_LABELS.values():
            reader.fail(row, "basis", f"cannot read {part.strip()!r}; write label=basis source, "
                        "e.g. 承诺=S 随州服务标准 (labels 法定, 承诺, 跑动, 依赖)")
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


_HEADER_KEYS = {
    _normal_header(name): c.key for c in COLUMNS for name in (c.zh, c.en, *c.aliases)
}


# --- ids -------------------------------------------------------------------------------------


def _slug_from(text: str) -> str:
    """A procedure id from a file stem (``餐饮店`` → ``table_`` + hex)."""
    return _derived_id(text, "table", set())


# --- cells -----------------------------------------------------------------------------------


def formula_safe(value: Any) -> Any:
    """``value`` for a CSV cell that Excel, WPS or LibreOffice will show, not run: text
    starting with ``= + - @``, a tab or a carriage return (not a plain number like ``-3``)
    gets a leading ``'``. Reading a table takes it off again, so names survive a round trip.

    >>> formula_safe("=cmd|' /c calc'!A0"), formula_safe("-3"), formula_safe(-3)
    ("'=cmd|' /c calc'!A0", '-3', -3)
    """
    if isinstance(value, str) and _looks_like_formula(value.lstrip("'")):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([formula_safe(c) for c in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(file: IO[str], **fmtparams: Any) -> _SafeWriter:
    """:func:`csv.writer` whose cells go through :func:`formula_safe`: every CSV onething
    writes for people to open in a spreadsheet uses it."""
    return _SafeWriter(csv.writer(file, **fmtparams))


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
        column = self.headers.get(key, key)
        raise TableError(_one_line(message), file=self.file, path=f"row {number}, {column}",
                         suggestion=suggestion and _one_line(suggestion), row=number,
                         column=column)

    def days(self, row: _Row, key: str) -> float | None:
        raw = _text(row.cells.get(key))
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            self.fail(row, key, f"{_shown(raw)} is not a number of days; write e.g. 20 or 0.5")
        if value < 0:
            self.fail(row, key, f"{_shown(raw)} is negative; a time limit is 0 days or more")
        return value

    def count(self, row: _Row, key: str, most: int, what: str) -> int | None:
        raw = _text(row.cells.get(key))
        if not raw:
            return None
        if not re.fullmatch(r"\d+", raw):
            self.fail(row, key, f"{_shown(raw)} is not a whole number of 0 or more; write e.g. 2")
        if len(raw) > len(str(most)) or int(raw) > most:
            self.fail(row, key, f"{_shown(raw)} is more {what} than a step may have ({most}); "
                      "check the number")
        return int(raw)

    def choice(self, row: _Row, key: str, raw: str, enum: type, default: Any) -> Any:
        if not raw:
            return default
        try:
            return enum(raw)
        except ValueError:
            shown = _CHOICES[enum]
            words = [*shown, *(m.value for m in enum), *enum.aliases()]
            self.fail(row, key, f"{_shown(raw)} is not allowed; use {' or '.join(shown)}",
                      _close(raw, [w for w in words if not w.isdigit()]))


# --- reading tables --------------------------------------------------------------------------


def read_table(path: str | os.PathLike[str], *, sheet: str | None = None) -> list[Sequence[Any]]:
    """The cells of a ``.csv`` or ``.xlsx`` file, row by row (see :func:`load_table`)."""
    return _read(Path(path), sheet)[0]


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
    they span their value, with a :class:`TableWarning`. The size of what is read is bounded
    (:data:`MAX_TABLE_BYTES`, :data:`MAX_TABLE_ROWS`, :data:`MAX_TABLE_COLUMNS`,
    :data:`MAX_CELL_CHARS`).

    ``procedure_id`` and ``name`` default to the file stem (as an ASCII id).
    """
    p = Path(path)
    _check_suffix(str(p))
    return table_procedure(_read_bytes(p), str(p), procedure_id=procedure_id, name=name,
                           sheet=sheet)


def table_procedure(data: bytes, file: str, *, procedure_id: str | None = None,
                    name: str | None = None, sheet: str | None = None) -> Procedure:
    """A step table held in ``data`` (e.g. an upload) as a checked :class:`Procedure`, read
    as :func:`load_table` reads a file; ``file`` is its name (its suffix tells CSV from
    XLSX) and what errors name."""
    _check_suffix(file)
    rows, place = read_table_data(data, file, sheet=sheet)
    stem = Path(file).stem
    return procedure_from_table(rows, file=place, procedure_id=procedure_id or _slug_from(stem),
                                name=name or stem)


def _check_suffix(file: str) -> None:
    suffix = Path(file).suffix
    if suffix.lower() not in (".csv", ".xlsx"):
        raise TableError(f"unknown table type '{suffix}'; use a .csv or .xlsx file", file=file)


def _read(p: Path, sheet: str | None) -> tuple[list[Sequence[Any]], str]:
    """The rows of the table in ``p`` and the name errors give its place (file, sheet)."""
    _check_suffix(str(p))
    return read_table_data(_read_bytes(p), str(p), sheet=sheet)


def read_table_data(data: bytes, file: str, *,
                    sheet: str | None = None) -> tuple[list[Sequence[Any]], str]:
    """The rows of a ``.csv`` or ``.xlsx`` table held in ``data`` (an upload; ``file`` its
    name, whose suffix tells the type) and the name errors give its place (file, sheet)."""
    if file.lower().endswith(".csv"):
        if sheet is not None:
            raise TableError("a CSV file has no sheets; leave out --sheet", file=file,
                             path="--sheet")
        return _csv_rows(_decode(data, file), file), file

    from process_models._xlsx import read_sheets

    seen = []
    for found in read_sheets(data, file, sheet):
        seen.append(found)
        if sheet is not None or _header_at(found.rows) is not None:
            break
    else:
        if len(seen) > 1:
            raise TableError(
                f"no sheet has a header row (事项, 部门, 承诺时限) in its first "
                f"{HEADER_SEARCH_ROWS} rows: {'、'.join(s.name for s in seen)}; add one, or "
                "name the sheet with --sheet", file=file)
        found = seen[0]
    place = f"{file}, sheet {_one_line(found.name)}"
    if found.merged:
        warnings.warn(f"{place}: merged cells {_listed(found.merged)} read as their top value "
                      "in every row they span; check those rows", TableWarning, stacklevel=3)
    return found.rows, place


_BOMS = ((codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


def _decode(raw: bytes, file: str) -> str:
    """The text of a CSV: by its byte-order mark, else UTF-8, else GB18030 (a superset of
    GBK) when it reads as simplified Chinese; anything else is refused with its cause."""
    for bom, encoding, label in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(encoding)
            except UnicodeDecodeError as e:
                at = len(bom) + e.start
                raise ProcedureSyntaxError(
                    f"starts with a {label} byte-order mark but byte 0x{raw[at]:02x} at offset "
                    f"{at} is not {label}{_other_encoding(raw[len(bom):])}; save it again as "
                    "CSV UTF-8", file=file, line=raw[:at].count(b"\n") + 1) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = e.start
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        raise ProcedureSyntaxError(
            f"holds a NUL byte at offset {at}: UTF-16 without its byte-order mark, or not a CSV "
            "file; save it from Excel as CSV UTF-8", file=file, line=raw[:at].count(b"\n") + 1)
    text = _decoded(raw, "gb18030")
    if text is not None and (_reads_as_simplified_chinese(text) or _decoded(raw, "big5") is None):
        return text
    raise ProcedureSyntaxError(
        f"not UTF-8 (byte 0x{raw[bad]:02x} at offset {bad}){_other_encoding(raw)}; save it "
        "from Excel as CSV UTF-8", file=file, line=raw[:bad].count(b"\n") + 1)


def _decoded(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _reads_as_simplified_chinese(text: str) -> bool:
    """Whether at least 80% of the CJK characters are in GB2312, the simplified set real GBK
    tables use; Big5 bytes decoded as GBK give mostly rarer characters and private-use ones."""
    cjk = [ch for ch in text if ch >= "\u2e80"]
    if not cjk:
        return True
    common = 0
    for ch in cjk:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common >= 0.8 * len(cjk)


def _other_encoding(raw: bytes) -> str:
    """``; it reads as X`` for the encoding the bytes seem to be in, or nothing."""
    gbk = _decoded(raw, "gb18030")
    if gbk is not None and _reads_as_simplified_chinese(gbk):
        return "; it reads as GBK"
    if _decoded(raw, "big5") is not None:
        return "; it reads as Big5 (traditional Chinese), which is not read here"
    return ""


_SEPARATOR_LINE = re.compile(r'"?sep=([^"\s])"?')


def _csv_rows(text: str, file: str) -> list[Sequence[Any]]:
    """The records of a CSV text: an Excel ``sep=`` first line names the separator (and is
    not a row), otherwise the most frequent of ``,`` tab ``;`` in the first lines."""
    first, _, rest = text.partition("\n")
    if m := _SEPARATOR_LINE.fullmatch(first.strip()):
        delimiter, text = m[1], rest
    else:
        sample = text[:65536]
        delimiter = max(",\t;", key=sample.count)
    rows: list[Sequence[Any]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, record in enumerate(reader, 1):
            _check_record(record, number, file)
            if number <= MAX_TABLE_ROWS:
                rows.append(record[:MAX_TABLE_COLUMNS])
    except csv.Error as e:
        number += 1
        if "field larger" in str(e):
            why = (f"a cell runs on for more than {csv.field_size_limit()} characters: a quote "
                   "(\") opened here may never close; close it, or shorten the cell")
        elif "end of data" in str(e):
            why = "a quote (\") opened in this row is never closed; close it or remove it"
        else:
            why = f"malformed CSV ({e}); quote a cell that holds quotes or separators"
        raise TableError(why, file=file, path=f"row {number}", row=number) from None
    return rows


def _check_record(record: list[str], number: int, file: str) -> None:
    if number > MAX_TABLE_ROWS and any(c.strip() for c in record):
        raise TableError(f"more than {MAX_TABLE_ROWS} rows, more than a step table may hold; "
                         "split the procedure", file=file, path=f"row {number}", row=number)
    for column, cell in enumerate(record, 1):
        if column > MAX_TABLE_COLUMNS and cell.strip():
            raise TableError(f"holds {_shown(cell)} in column {column}, beyond the "
                             f"{MAX_TABLE_COLUMNS} columns a step table may use; delete it",
                             file=file, path=f"row {number}", row=number)
        if len(cell) > MAX_CELL_CHARS:
            raise TableError(f"a cell of {len(cell)} characters in column {column}, more than "
                             f"a cell may hold ({MAX_CELL_CHARS}); shorten it", file=file,
                             path=f"row {number}", row=number)


def _listed(items: Sequence[Any], most: int = 8) -> str:
    """``a, b, c`` (and ``… and N more`` past ``most``)."""
    shown = ", ".join(map(str, items[:most]))
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown


# --- from cells to a procedure ----------------------------------------------------------------


def procedure_from_table(
    rows: Sequence[Sequence[Any]],
    *,
    procedure_id: str = "imported",
    name: str = "imported",
    file: str | None = None,
) -> Procedure:
    """Build a procedure from table cells: a header row, then one row per step.

    The header is the first of the first :data:`HEADER_SEARCH_ROWS` non-blank rows that
    names 事项, 部门 and 承诺时限 (a title row above it is passed over). Blank rows are
    skipped; an empty 部门 below a filled one takes the department above (Excel keeps a
    merged cell's value in its top row only), with a :class:`TableWarning`. Any bad cell
    raises one :class:`TableError` naming the file, row number (1-based, as a spreadsheet
    shows it), column, value and fix.
    """
    header_at, headers, positions = _find_header(rows, file)
    reader = _Reader(file, headers)
    body = _body(rows, header_at, positions, reader)
    named = _named_rows(body, reader)
    steps = _Steps(reader, named)
    proc = steps.procedure(procedure_id, name)
    return check_procedure(proc, file=file)


def _is_blank(row: Sequence[Any]) -> bool:
    return not any(_text(c) for c in row)


def _known_columns(row: Sequence[Any]) -> set[str]:
    return {key for c in row if (key := _HEADER_KEYS.get(_normal_header(c)))}


def _header_at(rows: Sequence[Sequence[Any]]) -> int | None:
    """The index of the header row among the first non-blank rows, or ``None``."""
    for i in _first_non_blank(rows):
        if _known_columns(rows[i]).issuperset(REQUIRED):
            return i
    return None


def _first_non_blank(rows: Sequence[Sequence[Any]]) -> list[int]:
    found: list[int] = []
    for i, row in enumerate(rows):
        if len(found) == HEADER_SEARCH_ROWS:
            break
        if not _is_blank(row):
            found.append(i)
    return found


_FULL_WIDTH_SEPARATORS = {"，": "full-width comma", "；": "full-width semicolon",
                          "、": "enumeration comma 、", "｜": "full-width bar"}


def _find_header(rows: Sequence[Sequence[Any]], file: str | None):
    """(index, headers as written, positions) of the header row, or the true cause of its
    absence: full-width separators, or the columns missing from the likeliest row."""
    at = _header_at(rows)
    if at is None:
        candidates = _first_non_blank(rows)
        if not candidates:
            raise TableError("the table is empty; add a header row and one row per step",
                             file=file)
        for i in candidates:
            for cell in rows[i]:
                for sep, what in _FULL_WIDTH_SEPARATORS.items():
                    pieces = _text(cell).split(sep)
                    if len(pieces) > 1 and len(_known_columns(pieces)) > 1:
                        raise TableError(
                            f"the columns are separated by '{sep}' ({what}); separate them with "
                            "',' (in Excel: save as CSV UTF-8 (逗号分隔))", file=file,
                            path=f"row {i + 1}", row=i + 1)
        at = max(candidates, key=lambda i: (len(_known_columns(rows[i])), -i))
    headers, positions = _headers(rows[at], at + 1, file)
    return at, headers, positions


def _body(rows: Sequence[Sequence[Any]], header_at: int, positions: dict[str, int],
          reader: _Reader) -> list[_Row]:
    """The non-blank rows below the header, with an empty 部门 filled from the row above."""
    body: list[_Row] = []
    for i in range(header_at + 1, len(rows)):
        r = rows[i]
        if _is_blank(r):
            continue
        if len(body) == MAX_TABLE_ROWS:
            reader.fail(i + 1, "step", f"more than {MAX_TABLE_ROWS} steps, more than a step "
                        "table may hold; split the procedure")
        cells = {key: (r[pos] if pos < len(r) else None) for key, pos in positions.items()}
        for key, value in cells.items():
            if isinstance(value, UncachedFormula):
                reader.fail(i + 1, key, f"a formula without a cached value ({_shown(value)}): "
                            "open and save it in Excel, which stores the values")
        body.append(_Row(i + 1, cells))
    if not body:
        raise TableError("the table has a header but no steps; add one row per step",
                         file=reader.file)
    filled, above = [], ""
    for row in body:
        department = _text(row.cells.get("department"))
        if department:
            above = department
        elif above:
            row.cells["department"] = above
            filled.append(row.number)
    if filled:
        where = f"{reader.file}: " if reader.file else ""
        rows_named = f"row{'s' if len(filled) > 1 else ''} {_listed(filled)}"
        warnings.warn(f"{where}{rows_named}, {reader.headers['department']}: empty, "
                      "read as the department of the row above (merged cells); fill them in if "
                      "a step belongs to another department", TableWarning, stacklevel=4)
    return body


def _named_rows(body: list[_Row], reader: _Reader) -> dict[str, _Row]:
    """Each step name and its row; an empty or repeated name is refused."""
    names: dict[str, _Row] = {}
    for row in body:
        step = _text(row.cells.get("step"))
        if not step:
            reader.fail(row, "step", "is empty; every row needs a step name")
        if step in names:
            reader.fail(row, "step", f"duplicate step {_shown(step)} (already in row "
                        f"{names[step].number}); give each step its own name")
        names[step] = row
    return names


class _Steps:
    """Builds the steps of one table, deriving the ids of steps, departments and materials."""

    def __init__(self, reader: _Reader, named: dict[str, _Row]) -> None:
        self.reader = reader
        self.named = named
        self.taken: dict[str, set[str]] = {"s": set(), "d": set(), "m": set()}
        self.step_ids = {n: _derived_id(n, "s", self.taken["s"]) for n in named}
        self.departments: dict[str, str] = {}
        self.materials: dict[str, Material] = {}
        self.edges: dict[str, list[str]] = {n: [] for n in named}

    def procedure(self, procedure_id: str, name: str) -> Procedure:
        steps = [self.step(step_name, row) for step_name, row in self.named.items()]
        cycle = find_cycle(self.edges)
        if cycle:
            loop = " → ".join([*cycle, cycle[0]])
            self.reader.fail(self.named[cycle[0]], "depends_on", f"dependency cycle: {loop}; "
                             "remove one of these prerequisites")
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
            raise TableError(_first_problem(e), file=self.reader.file) from None

    def step(self, step_name: str, row: _Row) -> Step:
        reader = self.reader
        department = _text(row.cells.get("department"))
        if not department:
            reader.fail(row, "department", "is empty; name the department that handles the step")
        if department not in self.departments:
            self.departments[department] = _derived_id(department, "d", self.taken["d"])
        unit = reader.choice(row, "unit", _text(row.cells.get("unit")), Unit, Unit.working)
        bases, dependency_bases = _read_basis(reader, row)
        stated = _stated(bases)
        committed = self.limit(row, "committed_days", unit, stated("committed"))
        if committed is None:
            reader.fail(row, "committed_days", "is empty; give the committed limit in days "
                        "(use the statutory limit when there is no commitment)")
        try:
            return Step(
                id=self.step_ids[step_name],
                name=step_name,
                department=self.departments[department],
                kind=reader.choice(row, "kind", _text(row.cells.get("kind")), StepKind,
                                   StepKind.promised),
                statutory=self.limit(row, "statutory_days", unit, stated("statutory")),
                committed=committed,
                depends_on=self.dependencies(step_name, row, dependency_bases),
                materials=self.material_ids(step_name, row),
                trips=reader.count(row, "trips", MAX_TRIPS, "trips") or 0,
                provenance={"trips": bases["trips"]} if "trips" in bases else {},
                note=_text(row.cells.get("note")) or None,
            )
        except ValidationError as e:
            field = str(next(iter(e.errors()[0]["loc"]), ""))
            reader.fail(row, _FIELD_COLUMNS.get(field, "step"), _first_problem(e))

    def limit(self, row: _Row, key: str, unit: Unit, basis: dict[str, Any]) -> Limit | None:
        days = self.reader.days(row, key)
        if days is None:
            return None
        try:
            return Limit(days=days, unit=unit, **basis)
        except ValidationError as e:
            self.reader.fail(row, key, _first_problem(e))

    def dependencies(self, step_name: str, row: _Row,
                     bases: list[dict[str, Any]]) -> list[Dependency]:
        reader = self.reader
        predecessors = _split(_text(row.cells.get("depends_on")), self.named)
        for before in predecessors:
            if before not in self.named:
                reader.fail(row, "depends_on", f"unknown step {_shown(before)}; use a name from "
                            f"the {reader.headers['step']} column", _close(before, self.named))
            if before == step_name:
                reader.fail(row, "depends_on", f"step {_shown(step_name)} depends on itself; "
                            "remove it here")
            self.edges[before].append(step_name)
        kinds = [reader.choice(row, "dependency_kind", k, DependencyKind, DependencyKind.legal)
                 for k in _split(_text(row.cells.get("dependency_kind")), _KIND_WORDS)]
        if len(kinds) > 1 and len(kinds) != len(predecessors):
            reader.fail(row, "dependency_kind", f"{len(kinds)} kinds for {len(predecessors)} "
                        "prerequisites; give one kind for all, or one per prerequisite")
        if len(kinds) <= 1:
            kinds = (kinds or [DependencyKind.legal]) * len(predecessors)
        if len(bases) > 1 and len(bases) != len(predecessors):
            reader.fail(row, "basis", f"{len(bases)} 依赖 bases for {len(predecessors)} "
                        "prerequisites; give one for all, or one per prerequisite in order")
        if len(bases) <= 1:
            bases = (bases or [{}]) * len(predecessors)
        return [Dependency(step=self.step_ids[b], kind=k, **basis)
                for b, k, basis in zip(predecessors, kinds, bases, strict=True)]

    def material_ids(self, step_name: str, row: _Row) -> list[str]:
        reader = self.reader
        names = _split(_text(row.cells.get("material_names")))
        count = reader.count(row, "materials", MAX_MATERIALS_PER_STEP, "materials")
        if len(names) > MAX_MATERIALS_PER_STEP:
            reader.fail(row, "material_names", f"lists {len(names)} materials, more than a step "
                        f"may need ({MAX_MATERIALS_PER_STEP}); check the separators")
        if count is not None and names and count != len(names):
            reader.fail(row, "materials", f"says {count} but {reader.headers['material_names']} "
                        f"lists {len(names)} names; make them agree or leave one blank")
        if len(set(names)) != len(names):
            dup = next(m for m in names if names.count(m) > 1)
            reader.fail(row, "material_names", f"material {_shown(dup)} is listed twice; list it "
                        "once")
        if not names and count:
            names = [f"{step_name}要件{i}" for i in range(1, count + 1)]
        for m in names:
            if m not in self.materials:
                self.materials[m] = Material(id=_derived_id(m, "m", self.taken["m"]), name=m)
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


def _headers(row: Sequence[Any], number: int, file: str | None):
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    for pos, cell in enumerate(row):
        raw = _text(cell)
        if not raw:
            continue
        key = _HEADER_KEYS.get(_normal_header(raw))
        if key is None:
            close = _close(raw, [h for c in COLUMNS for h in (c.zh, c.en)])
            if close:
                raise TableError(f"unknown column {_shown(raw)}", file=file,
                                 path=f"row {number}", row=number, suggestion=close)
            continue  # 序号, 说明 …: columns a step table does not hold
        if key in positions:
            raise TableError(f"column {_shown(raw)} repeats {_shown(written[key])}; keep one of them",
                             file=file, path=f"row {number}", row=number)
        positions[key] = pos
        written[key] = " ".join(raw.split())  # a wrapped header, on one line
    missing = [_BY_KEY[k] for k in REQUIRED if k not in positions]
    if missing:
        need = ", ".join(f"{c.zh}/{c.en}" for c in missing)
        raise TableError(f"missing column {need}; the header row needs 事项, 部门 and 承诺时限",
                         file=file, path=f"row {number}", row=number)
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
            _basis_cell(s, dependency_bases, zh=zh),
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
                csv_writer(f).writerows([[_plain(c) for c in r] for r in rows])
        else:
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = "steps"
            for r in rows:
                sheet.append([None if c == "" else c for c in r])
                for cell in sheet[sheet.max_row]:
                    if cell.data_type == "f":  # a name like "=A1" is text, never a formula
                        cell.data_type = "s"
            book.save(tmp)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise TableError(f"cannot write: {e.strerror}; check the folder exists and is writable",
                         file=str(target)) from None


def save_table(proc: Procedure, path: str | os.PathLike[str], *, headers: Headers = "zh") -> None:
    """Write ``proc`` as a step table (``.csv`` or ``.xlsx``, by suffix), atomically."""
    write_table(table_from_procedure(proc, headers=headers), path)
