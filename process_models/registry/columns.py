"""The columns of a county item list (each a step table's
:class:`~process_models.table_columns.Column`), the header spellings each is known by, and the
mapping file that adds a county's own spellings.

Counties keep their lists with their own headers. Every column below is found under its
Chinese or English header or any of the other spellings listed (a parenthetical suffix
such as ``承诺时限（工作日）`` is ignored, like line breaks and spaces inside a Chinese
header); a mapping file adds more, one ``header: column`` line each::

    # binxian-mapping.yaml
    事项代码: code
    办理主体: department
    承诺办结时间: committed

>>> header_keys({"事项代码": "code"})["事项代码"], header_keys()["实施主体"]
('code', 'department')
"""

from __future__ import annotations

import os

from process_models._cells import MAX_TABLE_COLUMNS, close_match, shown_cell
from process_models.errors import RegistryError
from process_models.loading import read_text
from process_models.table_columns import Column, normal_header
from process_models.yaml_loader import load_yaml

__all__ = ["COLUMNS", "REQUIRED", "column", "header_keys", "load_mapping"]


COLUMNS: tuple[Column, ...] = (
    Column("code", "事项编码", "code",
                   ("编码", "基本编码", "实施编码", "事项代码", "事项编号", "item_code")),
    Column("name", "事项名称", "name", ("事项", "名称", "item_name", "item")),
    Column("item_type", "事项类型", "item_type", ("事项类别", "权力类型", "类型")),
    Column("department", "实施主体", "department",
                   ("认领部门", "部门", "部门名称", "实施部门", "办理部门", "责任部门",
                    "审批部门", "实施机构")),
    Column("co_departments", "协办部门", "co_departments",
                   ("联办部门", "配合部门", "共同实施部门")),
    Column("level", "行使层级", "level",
                   ("层级", "办理层级", "服务层级", "实施层级", "service_level")),
    Column("kind", "办件类型", "kind", ("办理类型", "step_kind")),
    Column("statutory", "法定时限", "statutory_days",
                   ("法定办结时限", "法定办理时限", "法定期限", "statutory")),
    Column("committed", "承诺时限", "committed_days",
                   ("承诺办结时限", "承诺办理时限", "承诺期限", "committed")),
    Column("unit", "时限单位", "unit", ("时限类型",)),
    Column("online", "是否网上可办", "online", ("网上可办", "是否网办", "网上办理")),
    Column("online_level", "网办深度", "online_level",
                   ("网上办理深度", "网办程度", "网上办理程度")),
    Column("trips", "到现场次数", "trips",
                   ("跑动次数", "到办事现场次数", "最多跑动次数", "跑动")),
    Column("material_count", "要件数", "material_count",
                   ("材料数", "申请材料数", "材料数量", "要件数量")),
    Column("materials", "申请材料", "materials",
                   ("要件", "要件名称", "要件清单", "材料", "材料名称", "材料清单", "所需材料")),
    Column("links", "办理环节数", "links", ("环节数", "审批环节数", "审批环节")),
    Column("fee", "收费标准", "fee_yuan", ("是否收费", "收费", "收费金额", "fee")),
    Column("legal_basis", "设定依据", "legal_basis", ("法律依据", "实施依据")),
    Column("basis", "数据依据", "basis", ("依据类型",)),
    Column("source", "来源", "source", ("数据来源",)),
    Column("note", "备注", "note", ()),
)
"""Every column an item list may hold, in the order an export writes them."""

REQUIRED = ("code", "name", "department", "committed")
"""The columns an item list needs: 事项编码, 事项名称, 实施主体 and 承诺时限."""

_BY_KEY = {c.key: c for c in COLUMNS}
_DEFAULT_KEYS = {normal_header(h): c.key for c in COLUMNS for h in (c.zh, c.en, *c.aliases)}


def header_keys(mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Normalised header → column key: the spellings above, then ``mapping``'s."""
    keys = dict(_DEFAULT_KEYS)
    for header, key in (mapping or {}).items():
        keys[normal_header(header)] = key
    return keys


def load_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """A mapping file (``header: column`` per line) as a dict; an unknown column, a header
    that is not text or more headers than a table has columns is one located line."""
    file = str(path)
    data, lines = load_yaml(read_text(path), file=file, error=RegistryError, plain=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RegistryError("a column mapping is lines of 'header: column', e.g. "
                            "'事项代码: code'", file=file, line=1)
    if len(data) > 5 * MAX_TABLE_COLUMNS:
        raise RegistryError(f"maps {len(data)} headers, more than a list has columns; keep "
                            "the headers the list uses", file=file)
    out = {}
    for header, key in data.items():
        if not isinstance(key, str) or key not in _BY_KEY:
            raise RegistryError(
                f"header {shown_cell(header)} maps to unknown column {shown_cell(key)}; use one "
                f"of {', '.join(_BY_KEY)}", file=file, line=lines.get((header,)),
                suggestion=close_match(str(key), _BY_KEY))
        out[str(header)] = key
    return out


def column(key: str) -> Column:
    """The column with ``key``."""
    return _BY_KEY[key]
