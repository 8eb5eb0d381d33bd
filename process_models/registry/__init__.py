"""The county item registry (事项目录 / 实施清单): its records, reading the lists counties
keep (XLSX, CSV, several sheets, merged cells, configurable headers), writing them back, and
a synthetic demo county.

>>> from process_models.registry import demo_county
>>> county = demo_county(seed=1)
>>> len(county.items), len({i.department for i in county.items}), county.synthetic
(1038, 27, True)
"""

from process_models._exports import lazy_exports

_HOMES = {
    "process_models.registry.columns": ["COLUMNS", "load_mapping"],
    "process_models.registry.demo": ["demo_county", "demo_versions"],
    "process_models.registry.items": [
        "MAX_ITEMS", "Item", "OnlineLevel", "Registry", "ServiceLevel", "check_registry",
    ],
    "process_models.registry.reading": ["load_registry", "parse_registry", "registry_from_sheets"],
    "process_models.registry.writing": ["dump_registry", "registry_rows", "save_registry"],
}
__all__, __getattr__, __dir__ = lazy_exports("process_models.registry", _HOMES)
