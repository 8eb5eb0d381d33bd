"""What the table modules share (step tables and item registries): the bounds on what a
table may hold, the text of a cell as written and as read, the names listed in one cell, ids
made from names, and the helpers that quote a cell in an error
(:mod:`process_models.table_files` for files, :mod:`process_models._xlsx` for workbooks,
:mod:`process_models.table_columns` for headers, :mod:`process_models.table` for steps,
:mod:`process_models.registry` for item lists)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from process_models.errors import TableError, did_you_mean, shown

__all__ = ["MAX_CELL_CHARS", "MAX_MATERIALS_PER_STEP", "MAX_TABLE_BYTES", "MAX_TABLE_COLUMNS",
           "MAX_TABLE_ROWS", "MAX_TRIPS", "MAX_XLSX_UNPACKED_BYTES", "UncachedFormula",
           "cell_text", "close_match", "derived_id", "join_names", "listed", "looks_like_formula",
           "one_line", "plain_cell", "shown_cell", "split_names", "split_outside_brackets"]

# Bounds on what a table may hold; a file past one is refused with the row or cell.
MAX_TABLE_BYTES = 20 * 2**20           # the file as uploaded
MAX_XLSX_UNPACKED_BYTES = 64 * 2**20   # a workbook decompressed (shared strings are read whole)
MAX_TABLE_ROWS = 20_000                # rows read, header and title rows included
MAX_TABLE_COLUMNS = 100
MAX_CELL_CHARS = 32_767                # what Excel itself holds in one cell
MAX_MATERIALS_PER_STEP = 200           # 要件数, or names listed in 要件
MAX_TRIPS = 100                        # 跑动次数


class UncachedFormula(str):
    """A workbook cell holding a formula whose value Excel never stored (the text is the
    formula); the cell cannot be read until the workbook is opened and saved in Excel."""


def shown_cell(value: Any) -> str:
    """A cell value quoted for an error message (as text, cut like every echoed value)."""
    return shown(str(value))


def one_line(text: str) -> str:
    """``text`` with its line breaks written as ``\\n`` (step names may hold them)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def close_match(value: str, choices: Iterable[str]) -> str | None:
    """:func:`did_you_mean`, for values short enough to be a misspelling (its cost grows
    with the product of the lengths)."""
    return did_you_mean(value, choices) if len(value) <= 40 else None


def plain_cell(value: Any) -> str:
    """A cell as written: whole floats without ``.0``, trimmed."""
    if value.__class__ is str:  # most cells: no conversion to ask for
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_text(value: Any) -> str:
    """A cell as read: :func:`plain_cell`, and the ``'`` that
    :func:`~process_models.table_files.formula_safe` put before a formula-like text taken off
    again."""
    text = plain_cell(value)
    if text.startswith("'") and looks_like_formula(text.lstrip("'")):
        return text[1:]
    return text


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?%?")


def looks_like_formula(text: str) -> bool:
    return text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text)

_BRACKETS = {"(": ")", "（": "）", "《": "》", "「": "」", "『": "』", "【": "】", "[": "]",
             "“": "”"}


_ANY_BRACKET = re.compile("[" + re.escape("".join(_BRACKETS) + "".join(_BRACKETS.values())) + "]")


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


def split_outside_brackets(text: str, separators: str) -> list[str]:
    """Split ``text`` at ``separators`` outside brackets (or everywhere if they do not match)."""
    if not _ANY_BRACKET.search(text):
        return re.split(f"[{re.escape(separators)}]", text)
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


_SPLITS = re.compile(
    "[" + re.escape("、,;，；\n \t\u3000" + "".join(_BRACKETS) + "".join(_BRACKETS.values())) + "]")


def split_names(text: str, known: Collection[str] = ()) -> list[str]:
    """Names in a cell: split on 、 , ; ， ； and line breaks, then on spaces.

    Separators inside brackets (《》, （）, 「」 …) do not split, and a name wrapped in
    「」 is taken literally (one layer is removed). A piece is split on spaces only
    when it is not a name in ``known`` and one of its words is, or each word holds a
    non-ASCII character: ``ID card`` stays one name, ``身份证 户口簿`` is two.

    >>> split_names("营业执照、《食品经营许可证》;ID card，身份证 户口簿")
    ['营业执照', '《食品经营许可证》', 'ID card', '身份证', '户口簿']
    >>> split_names("「法定代表人、董事任职文件」、章程（草案、定稿）")
    ['法定代表人、董事任职文件', '章程（草案、定稿）']
    """
    if not _SPLITS.search(text):  # one name, the common case: no separator, space or bracket
        return [name] if (name := text.strip()) else []
    out: list[str] = []
    for piece in filter(None, (p.strip() for p in split_outside_brackets(text, "、,;，；\n"))):
        if piece.startswith("「") and piece.endswith("」") and _balanced(piece[1:-1]):
            out.append(piece[1:-1])
            continue
        words = [w for w in split_outside_brackets(piece, " \t\u3000") if w]
        if piece in known or len(words) == 1:
            out.append(piece)
        elif any(w in known for w in words) or all(not w.isascii() for w in words):
            out.extend(words)
        else:
            out.append(piece)
    return out


def join_names(names: Sequence[str], known: Sequence[str] = ()) -> str:
    """A cell listing ``names`` that :func:`split_names` reads back (names wrapped in 「」 where
    needed); a :class:`TableError` when no cell can hold them.

    >>> join_names(["营业执照", "法定代表人、董事任职文件"])
    '营业执照、「法定代表人、董事任职文件」'
    """
    cell = "、".join(n if split_names(n, known) == [n] else f"「{n}」" for n in names)
    if split_names(cell, known) != list(names):
        bad = next((n for n in names if n != n.strip() or not n), names[0])
        raise TableError(f"name {bad!r} cannot be listed in one cell with {len(names) - 1} "
                         "others (spaces at the ends or unbalanced brackets); rename it")
    return cell


def derived_id(name: str, prefix: str, taken: set[str]) -> str:
    """A deterministic ASCII id for ``name``; a suffix ``_2``, ``_3`` … avoids ``taken``."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") if name.isascii() else ""
    if 0 < len(slug) <= 64:
        base = slug
    else:
        base = f"{prefix}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def listed(items: Sequence[Any], most: int = 8) -> str:
    """``a, b, c`` (and ``… and N more`` past ``most``)."""
    shown = ", ".join(map(str, items[:most]))
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown
