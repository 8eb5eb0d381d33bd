"""Writing a registry back: as an item list (``.xlsx``, ``.csv`` through
:func:`process_models.table_files.write_table`, so no cell starts a formula) that
:func:`~process_models.registry.reading.load_registry` reads back, or as YAML.

A list starts with a title row, ``<county>事项目录`` (and 合成数据 when the registry is
synthetic); reading it back keeps the name and the mark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml

from process_models._cells import join_names
from process_models.errors import RegistryError
from process_models.procedure import Limit, Unit
from process_models.registry.columns import COLUMNS
from process_models.registry.items import Item, Registry
from process_models.registry.reading import SYNTHETIC_MARK, TITLE_SUFFIX

__all__ = ["dump_registry", "registry_rows", "save_registry"]

_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def registry_rows(registry: Registry, *, headers: Literal["zh", "en"] = "zh") -> list[list[Any]]:
    """The registry as list cells: a title row naming the county (and saying 合成数据 when
    the registry is synthetic), a header row, one row per item."""
    if headers not in ("zh", "en"):
        raise RegistryError(f"unknown headers {headers!r}; use zh or en", path="--headers")
    names = {d.id: d.name for d in registry.departments}
    title = f"{registry.name}{TITLE_SUFFIX}"
    if registry.synthetic:
        title += f"｜{SYNTHETIC_MARK}（synthetic）：按公开的分布生成，不是公布的数据"
    out: list[list[Any]] = [[title]]
    out.append([c.zh if headers == "zh" else c.en for c in COLUMNS])
    out += [_row(item, names) for item in registry.items]
    return out


def _row(item: Item, names: dict[str, str]) -> list[Any]:
    same_unit = item.statutory is None or item.statutory.unit is item.committed.unit
    cells = {
        "code": item.code, "name": item.name, "item_type": item.item_type,
        "department": names[item.department],
        "co_departments": join_names([names[d] for d in item.co_departments]),
        "level": item.level.value, "kind": item.kind.value,
        "statutory": _limit(item.statutory, same_unit), "committed": _limit(item.committed,
                                                                           same_unit),
        "unit": "工作日" if item.committed.unit is Unit.working else "自然日",
        "online": None if item.online is None else ("是" if item.online else "否"),
        "online_level": item.online_level and item.online_level.value, "trips": item.trips,
        "material_count": item.material_count, "materials": join_names(item.materials),
        "links": item.links, "fee": _number(item.fee_yuan), "legal_basis": item.legal_basis,
        "basis": _bases(item), "source": item.source, "note": item.note,
    }
    return ["" if cells[c.key] is None else cells[c.key] for c in COLUMNS]


def _bases(item: Item) -> str:
    """The 数据依据 cell: the item's basis mark, then each limit's own basis and source."""
    parts = [item.basis.mark] if item.basis else []
    for label, limit in (("法定", item.statutory), ("承诺", item.committed)):
        if limit is not None and limit.basis is not None:
            parts.append(f"{label}={limit.basis.mark}" + (f" {limit.source}" if limit.source else ""))
    return "；".join(parts)


def _limit(limit: Limit | None, same_unit: bool) -> Any:
    if limit is None:
        return None
    if same_unit:
        return _number(limit.days)
    return f"{_number(limit.days)}{'工作日' if limit.working else '自然日'}"


def _number(value: float | None) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def dump_registry(registry: Registry) -> str:
    """The registry as YAML text, defaults left out, Chinese kept readable."""
    data = registry.model_dump(mode="json", exclude_defaults=True)
    return yaml.dump(data, Dumper=_SafeDumper, allow_unicode=True, sort_keys=False, width=100,
                     default_flow_style=False)


def save_registry(registry: Registry, path: str | os.PathLike[str], *,
                  headers: Literal["zh", "en"] = "zh") -> None:
    """Write ``registry`` to ``path`` by its suffix: ``.xlsx``, ``.csv`` or ``.yaml``,
    atomically."""
    from process_models.table_files import write_table

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".yaml", ".yml"):
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            tmp.write_text(dump_registry(registry), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise RegistryError(f"cannot write: {e.strerror}; check the folder exists and is "
                                "writable", file=str(target)) from None
        return
    if suffix not in (".xlsx", ".csv"):
        raise RegistryError(f"unknown list type '{target.suffix}'; write .xlsx, .csv or .yaml",
                            file=str(target))
    write_table(registry_rows(registry, headers=headers), target)
