"""Reading a county item list (XLSX with several sheets, CSV, or the registry's own YAML)
into a checked :class:`~process_models.registry.items.Registry`.

The file is untrusted input and is read with the step tables' readers and bounds
(:mod:`process_models._cells`, :mod:`process_models._xlsx`): CSV in UTF-8, GBK or UTF-16,
workbooks cell by cell, merged cells given to every row they span with a
:class:`~process_models.table_files.TableWarning`. Every visible sheet whose first rows hold a
header (事项编码, 事项名称, 实施主体, 承诺时限; see :mod:`process_models.registry.columns`)
contributes its items; a cover sheet is passed over. A title row above the header that
says 合成数据 marks the list as synthetic. A bad cell is one :class:`RegistryError` naming
the file, sheet, row, column, the value and the fix.

Cells are read as counties write them: limits as ``20``, ``20个工作日``, ``15自然日`` or
``即办`` (0 days); yes/no as 是/否; trips as ``1`` or ``1次``; the fee as an amount in yuan
or 不收费; names (协办部门, 申请材料) separated by 、 , ; or line breaks.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from process_models._cells import (
    MAX_MATERIALS_PER_STEP,
    MAX_TRIPS,
    cell_text,
    close_match,
    derived_id,
    one_line,
    shown_cell,
    split_names,
)
from process_models.errors import FieldProblem, RegistryError
from process_models.loading import read_text, validation_error
from process_models.procedure import (
    MAX_COUNT,
    Basis,
    Department,
    Limit,
    Provenance,
    StepKind,
    Unit,
)
from process_models.registry.columns import REQUIRED, column, header_keys, load_mapping
from process_models.registry.items import (
    Item,
    OnlineLevel,
    Registry,
    ServiceLevel,
    check_registry,
    parse_registry,
)
from process_models.table_columns import normal_header
from process_models.table_files import TableWarning, read_bounded, read_table

__all__ = ["HEADER_SEARCH_ROWS", "SYNTHETIC_MARK", "TITLE_SUFFIX", "load_registry", "parse_registry",
           "registry_from_sheets"]

HEADER_SEARCH_ROWS = 20
"""The header is among the first this many non-blank rows of a sheet."""

SYNTHETIC_MARK = "合成数据"
"""A title row holding this marks a list as synthetic (every output then says so)."""

TITLE_SUFFIX = "事项目录"
"""A title row ``<county>事项目录`` names the registry."""

_IMMEDIATE = ("即办", "即办件", "当场办结", "当场办理", "即时办结", "立即办结", "即来即办")
_LIMIT = re.compile(r"(\d+(?:\.\d+)?)\s*个?\s*(工作日|自然日|日历日|日|天)?")
_YES = {"是", "可", "能", "y", "yes", "true", "1", "√", "✓"}
_NO = {"否", "不可", "不能", "n", "no", "false", "0", "×", "✗"}
_CHINESE_COUNTS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_COUNT = re.compile(r"(\d+|[零一二两三四五])\s*(?:次|件|个|项)?")
_FREE = {"不收费", "免费", "无", "零", "否", "0", "免收", "零收费"}
_LIMIT_LABELS = {"法定": "statutory", "承诺": "committed", "statutory": "statutory",
                 "committed": "committed"}
_LIMIT_BASIS = re.compile(r"(法定|承诺|statutory|committed)\s*[=＝:：]\s*(\S+?)(?:\s+(.*\S))?")
_FEE = re.compile(r"(\d+(?:\.\d+)?)\s*元?")
# Which column a complaint about an Item field is about.
_FIELD_COLUMNS = {"material_count": "material_count", "materials": "materials",
                  "online": "online", "committed": "committed", "statutory": "statutory",
                  "fee_yuan": "fee", "co_departments": "co_departments", "code": "code",
                  "online_level": "online_level"}


def load_registry(
    path: str | os.PathLike[str], *, mapping: str | os.PathLike[str] | None = None,
    registry_id: str | None = None, name: str | None = None, source: str | None = None,
) -> Registry:
    """Read an item list (``.xlsx``, ``.csv``) or a registry file (``.yaml``).

    ``mapping`` names a column mapping file (county spellings of the headers); ``source``
    makes every figure of a list sourced from it (the county's published list), unless a
    row's 数据依据 says otherwise. ``registry_id`` and ``name`` default to the file stem.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    columns = load_mapping(mapping) if mapping else None
    if suffix in (".yaml", ".yml"):
        return parse_registry(read_text(p), file=str(p))
    if suffix == ".csv":
        sheets = [(str(p), read_table(p), [])]
    elif suffix == ".xlsx":
        from process_models._xlsx import read_sheets

        sheets = [(f"{p}, sheet {one_line(s.name)}", s.rows, s.merged)
                  for s in read_sheets(read_bounded(p), str(p))]
    else:
        raise RegistryError(f"unknown list type '{p.suffix}'; use .xlsx, .csv or .yaml",
                            file=str(p))
    return registry_from_sheets(
        sheets, registry_id=registry_id or derived_id(p.stem, "registry", set()),
        name=name, default_name=p.stem, mapping=columns, source=source)


def registry_from_sheets(
    sheets: Sequence[tuple[str, Sequence[Sequence[Any]], Sequence[str]]], *,
    registry_id: str = "registry", name: str | None = None, default_name: str = "registry",
    mapping: dict[str, str] | None = None, source: str | None = None,
) -> Registry:
    """A registry from ``(where, rows, merged ranges)`` per sheet; see :func:`load_registry`.

    The registry's name is ``name``, else the county named by a title row ``<name>事项目录``
    above a header (what :func:`~process_models.registry.writing.registry_rows` writes), else
    ``default_name``."""
    keys = header_keys(mapping)
    builder = _Builder(source)
    found = False
    for where, rows, merged in sheets:
        at = _header_at(rows, keys)
        if at is None:
            continue
        found = True
        if merged:
            shown = ", ".join(merged[:8]) + (f" and {len(merged) - 8} more"
                                             if len(merged) > 8 else "")
            warnings.warn(f"{where}: merged cells {shown} read as their top value in every "
                          "row they span; check those rows", TableWarning, stacklevel=2)
        titles = [cell_text(c) for r in rows[:at] for c in r]
        builder.synthetic |= any(SYNTHETIC_MARK in title for title in titles)
        name = name or next((t.split(TITLE_SUFFIX)[0].strip() for t in titles
                             if TITLE_SUFFIX in t and t.split(TITLE_SUFFIX)[0].strip()), None)
        builder.sheet(where, rows, at, keys)
    if not found:
        raise _no_header(sheets, keys)
    return check_registry(builder.registry(registry_id, name or default_name),
                          file=sheets[0][0])


def _known(row: Sequence[Any], keys: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for pos, cell in enumerate(row):
        key = keys.get(normal_header(cell_text(cell)))
        if key is not None and key not in found:
            found[key] = pos
    return found


def _first_rows(rows: Sequence[Sequence[Any]]) -> list[int]:
    return [i for i, r in enumerate(rows) if any(cell_text(c) for c in r)][:HEADER_SEARCH_ROWS]


def _header_at(rows: Sequence[Sequence[Any]], keys: dict[str, str]) -> int | None:
    return next((i for i in _first_rows(rows) if set(_known(rows[i], keys)) >= set(REQUIRED)),
                None)


def _no_header(sheets, keys) -> RegistryError:
    """The error for a list without a header row: the columns the likeliest row lacks."""
    best = (-1, sheets[0][0] if sheets else "", 0)
    for where, rows, _ in sheets:
        for i in _first_rows(rows):
            best = max(best, (len(_known(rows[i], keys)), where, i), key=lambda b: b[0])
    if best[0] < 0:
        return RegistryError("the list is empty; add a header row and one row per item",
                             file=best[1] or None)
    where, i = best[1], best[2]
    rows = next(r for w, r, _ in sheets if w == where)
    missing = [column(k) for k in REQUIRED if k not in _known(rows[i], keys)]
    headers = [cell_text(c) for c in rows[i] if cell_text(c)]
    need = "、".join(c.zh for c in missing)
    hint = close_match(headers[0], [c.zh for c in missing]) if headers else None
    return RegistryError(f"no header row with 事项编码, 事项名称, 实施主体 and 承诺时限: missing "
                         f"{need}; rename the column or map it in a --mapping file (e.g. "
                         f"'{headers[0] if headers else '办理主体'}: {missing[0].key}')",
                         file=where, path=f"row {i + 1}", suggestion=hint)


class _Builder:
    """Collects the items of every sheet, deriving department ids from their names."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.synthetic = False
        self.departments: dict[str, str] = {}
        self.taken: set[str] = set()
        self.items: list[Item] = []
        self.places: dict[str, tuple[str, int]] = {}

    def department_id(self, name: str) -> str:
        if name not in self.departments:
            self.departments[name] = derived_id(name, "d", self.taken)
        return self.departments[name]

    def sheet(self, where: str, rows: Sequence[Sequence[Any]], at: int,
              keys: dict[str, str]) -> None:
        positions = _known(rows[at], keys)
        written = {k: " ".join(cell_text(rows[at][p]).split()) for k, p in positions.items()}
        for i in range(at + 1, len(rows)):
            r = rows[i]
            cells = {k: cell_text(r[p]) if p < len(r) else "" for k, p in positions.items()}
            if not any(cells.values()):
                continue
            row = _Row(where, i + 1, cells, written)
            item = row.item(self)
            if item.code in self.places:
                sheet, number = self.places[item.code]
                there = f"row {number}" if sheet == where else f"{sheet}, row {number}"
                row.fail("code", f"事项编码 {shown_cell(item.code)} is already used in {there}; "
                         "give each item its own code")
            self.places[item.code] = (where, i + 1)
            self.items.append(item)

    def registry(self, registry_id: str, name: str) -> Registry:
        from process_models.procedure import Source

        try:
            return Registry(
                id=registry_id, name=name, synthetic=self.synthetic,
                sources=[Source(title=self.source)] if self.source else [],
                departments=[Department(id=i, name=n) for n, i in self.departments.items()],
                items=self.items)
        except ValidationError as e:
            raise validation_error(e, Registry, error_class=RegistryError) from None


class _Row:
    """One row of a list: turns its cells into an :class:`Item` or one located error."""

    def __init__(self, where: str, number: int, cells: dict[str, str],
                 written: dict[str, str]) -> None:
        self.where, self.number, self.cells, self.written = where, number, cells, written

    def fail(self, key: str, message: str, suggestion: str | None = None):
        raise RegistryError(one_line(message), suggestion=suggestion and one_line(suggestion),
                            **self._cell(key))

    def _cell(self, key: str) -> dict[str, str]:
        """Where this row's cell of column ``key`` is, as an error locates it."""
        header = self.written.get(key) or column(key).zh
        return {"file": self.where, "path": f"row {self.number}, {header}"}

    def item(self, builder: _Builder) -> Item:
        c = self.cells
        for key in ("code", "name", "department", "committed"):
            if not c.get(key):
                self.fail(key, f"is empty; every item needs its {column(key).zh}")
        basis, limits = self.bases()
        source = c.get("source") or None
        if basis is None and builder.source:
            basis, source = Basis.sourced, source or builder.source
        unit = self.choice("unit", Unit, Unit.working)
        fields: dict[str, Any] = {
            "code": c["code"], "name": c["name"], "item_type": c.get("item_type") or None,
            "department": builder.department_id(c["department"]),
            "co_departments": [builder.department_id(n)
                               for n in split_names(c.get("co_departments", ""))],
            "level": self.choice("level", ServiceLevel, ServiceLevel.county),
            "kind": self.choice("kind", StepKind, StepKind.promised),
            "statutory": self.limit("statutory", unit, limits.get("statutory")),
            "committed": self.limit("committed", unit, limits.get("committed")),
            "online": self.yes_no("online"),
            "online_level": self.choice("online_level", OnlineLevel, None),
            "trips": self.count("trips", MAX_TRIPS),
            "materials": split_names(c.get("materials", "")),
            "material_count": self.count("material_count", MAX_MATERIALS_PER_STEP),
            "links": self.count("links", MAX_COUNT), "fee_yuan": self.fee(),
            "legal_basis": c.get("legal_basis") or None, "basis": basis, "source": source,
            "note": c.get("note") or None,
        }
        if fields["committed"].days == 0 and c.get("committed") in _IMMEDIATE and not c.get("kind"):
            fields["kind"] = StepKind.immediate
        try:
            return Item(**fields)
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            problem = first.get("ctx", {}).get("error")
            if isinstance(problem, FieldProblem):  # the item's figures disagree
                raise problem.error(RegistryError, **self._cell(
                    _FIELD_COLUMNS.get(problem.field or "", "name"))) from None
            field = str(next(iter(first["loc"]), ""))
            self.fail(_FIELD_COLUMNS.get(field, "name"),
                      f"{first['msg']} (got {shown_cell(first.get('input'))})")

    def bases(self) -> tuple[Basis | None, dict[str, Provenance]]:
        """The 数据依据 cell: the item's basis (``E``), then any limit's own as
        ``法定=S 行政许可法 第42条`` or ``承诺=E``, separated by ；."""
        item: Basis | None = None
        limits: dict[str, Provenance] = {}
        for part in filter(None, (p.strip() for p in re.split("[;；]", self.cells.get("basis", "")))):
            match = _LIMIT_BASIS.fullmatch(part)
            if match is None:
                item = self.choice("basis", Basis, None, part)
                continue
            basis = self.choice("basis", Basis, None, match[2])
            limits[_LIMIT_LABELS[match[1]]] = Provenance(basis=basis, source=match[3])
        return item, limits

    def limit(self, key: str, unit: Unit, basis: Provenance | None) -> Limit | None:
        raw = self.cells.get(key, "")
        if not raw:
            return None
        stated = {"basis": basis.basis, "source": basis.source} if basis else {}
        if raw in _IMMEDIATE:
            return Limit(days=0, unit=unit, **stated)
        match = _LIMIT.fullmatch(raw)
        if not match:
            self.fail(key, f"{shown_cell(raw)} is not a time limit; write e.g. 20, 20个工作日, "
                      "15自然日 or 即办")
        days = float(match[1])
        words = match[2]
        if words in ("自然日", "日历日"):
            unit = Unit.calendar
        elif words == "工作日":
            unit = Unit.working
        try:
            return Limit(days=days, unit=unit, **stated)
        except ValidationError:
            self.fail(key, f"{shown_cell(raw)} is more days than a limit may be (3650); "
                      "check the figure")

    def yes_no(self, key: str) -> bool | None:
        raw = self.cells.get(key, "")
        if not raw:
            return None
        if raw.lower() in _YES:
            return True
        if raw.lower() in _NO:
            return False
        self.fail(key, f"{shown_cell(raw)} is not 是 or 否; write 是 or 否")

    def count(self, key: str, most: int) -> int | None:
        raw = self.cells.get(key, "")
        if not raw:
            return None
        match = _COUNT.fullmatch(raw)
        if not match:
            self.fail(key, f"{shown_cell(raw)} is not a whole number of 0 or more; write e.g. 1")
        value = _CHINESE_COUNTS.get(match[1])
        value = int(match[1]) if value is None and len(match[1]) <= 9 else value
        if value is None or value > most:
            self.fail(key, f"{shown_cell(raw)} is more than an item may have ({most}); check "
                      "the number")
        return value

    def fee(self) -> float | None:
        raw = self.cells.get("fee", "")
        if not raw:
            return None
        if raw in _FREE:
            return 0.0
        match = _FEE.fullmatch(raw)
        if not match or len(match[1]) > 12:
            self.fail("fee", f"{shown_cell(raw)} is not an amount; write the fee in yuan "
                      "(e.g. 50) or 不收费")
        return float(match[1])

    def choice(self, key: str, enum: type, default: Any, raw: str | None = None) -> Any:
        raw = self.cells.get(key, "") if raw is None else raw
        if not raw:
            return default
        try:
            return enum(raw)
        except ValueError:
            values = [m.value for m in enum]
            self.fail(key, f"{shown_cell(raw)} is not allowed; use {' or '.join(values)}",
                      close_match(raw, [*values, *enum.aliases()]))
