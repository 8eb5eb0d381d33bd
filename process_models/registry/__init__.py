"""The county item registry (事项目录 / 实施清单): its records, reading the lists counties
keep (XLSX, CSV, several sheets, merged cells, configurable headers), writing them back, and
a synthetic demo county.

>>> from process_models.registry import demo_county
>>> county = demo_county(seed=1)
>>> len(county.items), len({i.department for i in county.items}), county.synthetic
(1038, 27, True)
"""

from process_models.registry.columns import COLUMNS, load_mapping
from process_models.registry.demo import demo_county, demo_versions
from process_models.registry.items import (
    MAX_ITEMS,
    Item,
    OnlineLevel,
    Registry,
    ServiceLevel,
    check_registry,
)
from process_models.registry.reading import load_registry, parse_registry, registry_from_sheets
from process_models.registry.writing import dump_registry, registry_rows, save_registry

__all__ = [
    "COLUMNS", "MAX_ITEMS", "Item", "OnlineLevel", "Registry",
    "ServiceLevel", "check_registry", "demo_county", "demo_versions", "dump_registry",
    "load_mapping", "load_registry", "parse_registry", "registry_from_sheets",
    "registry_rows", "save_registry",
]
