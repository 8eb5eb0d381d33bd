"""The columns of a step table and its header row: the Chinese and English headers each
column answers to (:data:`COLUMNS`), and where among a sheet's first rows the header is.

A header is looked up without its parenthetical suffix (``法定时限（工作日）``), case or
spaces; columns no step table holds (序号, 说明) are passed over, a misspelt one is refused
with the header it resembles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from process_models._cells import cell_text
from process_models._cells import close_match as _close
from process_models._cells import shown_cell as _shown
from process_models.table_problems import table_error

__all__ = ["COLUMNS", "HEADER_SEARCH_ROWS", "REQUIRED", "Column", "Headers", "find_header",
           "header_at", "is_blank", "normal_header"]

Headers = Literal["zh", "en"]

HEADER_SEARCH_ROWS = 20                # the header is among the first non-blank rows


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


def normal_header(text: Any) -> str:
    """A header as looked up: no parenthetical suffix, lower case, no spaces or line breaks
    beside Chinese (``事项\\n名称``, ``部  门``), ``_`` between other words.

    >>> normal_header("部  门"), normal_header("事项\\n名称"), normal_header("Committed days")
    ('部门', '事项名称', 'committed_days')
    """
    text = re.sub(r"[（(].*?[)）]", "", str(text or "")).strip().lower()
    text = re.sub(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+", "", text)
    return re.sub(r"[\s_\-]+", "_", text)


_HEADER_KEYS = {
    normal_header(name): c.key for c in COLUMNS for name in (c.zh, c.en, *c.aliases)
}


def is_blank(row: Sequence[Any]) -> bool:
    """Whether no cell of ``row`` holds text."""
    return not any(cell_text(c) for c in row)


def _known_columns(row: Sequence[Any]) -> set[str]:
    return {key for c in row if (key := _HEADER_KEYS.get(normal_header(c)))}


def header_at(rows: Sequence[Sequence[Any]]) -> int | None:
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
        if not is_blank(row):
            found.append(i)
    return found


_FULL_WIDTH_SEPARATORS = {"，": "full-width comma", "；": "full-width semicolon",
                          "、": "enumeration comma 、", "｜": "full-width bar"}


def find_header(rows: Sequence[Sequence[Any]], file: str | None):
    """(index, headers as written, positions) of the header row, or the true cause of its
    absence: full-width separators, or the columns missing from the likeliest row."""
    at = header_at(rows)
    if at is None:
        candidates = _first_non_blank(rows)
        if not candidates:
            raise table_error("empty_table", file=file)
        for i in candidates:
            for cell in rows[i]:
                for sep, what in _FULL_WIDTH_SEPARATORS.items():
                    pieces = cell_text(cell).split(sep)
                    if len(pieces) > 1 and len(_known_columns(pieces)) > 1:
                        raise table_error("full_width_separator",
                                          {"separator": sep, "what": what}, file=file,
                                          path=f"row {i + 1}", row=i + 1)
        at = max(candidates, key=lambda i: (len(_known_columns(rows[i])), -i))
    headers, positions = _headers(rows[at], at + 1, file)
    return at, headers, positions


def _headers(row: Sequence[Any], number: int, file: str | None):
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    for pos, cell in enumerate(row):
        raw = cell_text(cell)
        if not raw:
            continue
        key = _HEADER_KEYS.get(normal_header(raw))
        if key is None:
            close = _close(raw, [h for c in COLUMNS for h in (c.zh, c.en)])
            if close:
                raise table_error("unknown_column", {"value": _shown(raw)}, file=file,
                                  path=f"row {number}", row=number, suggestion=close)
            continue  # 序号, 说明 …: columns a step table does not hold
        if key in positions:
            raise table_error("repeated_column",
                              {"value": _shown(raw), "first": _shown(written[key])},
                              file=file, path=f"row {number}", row=number)
        positions[key] = pos
        written[key] = " ".join(raw.split())  # a wrapped header, on one line
    missing = [_BY_KEY[k] for k in REQUIRED if k not in positions]
    if missing:
        need = ", ".join(f"{c.zh}/{c.en}" for c in missing)
        raise table_error("missing_column", {"columns": need}, file=file,
                          path=f"row {number}", row=number)
    for c in COLUMNS:
        written.setdefault(c.key, c.zh)
    return written, positions

