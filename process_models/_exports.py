"""Names a package re-exports from its modules, each module loaded on first use.

``simulations`` and ``flows`` name their public entry points this way, so importing the
package (``onething simulate``, ``flows.casework``) does not import every module of it.

>>> __all__, __getattr__, __dir__ = lazy_exports("pkg", {"process_models.calendar": ["local_date"]})
>>> __getattr__("local_date").__module__
'process_models.calendar'
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: dict[str, list[str]]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``, which re-exports the
    names of ``homes`` (module → names)."""
    module_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in module_of:
            raise AttributeError(f"module '{package}' has no attribute {name!r}")
        return getattr(import_module(module_of[name]), name)

    def __dir__() -> list[str]:
        return list(module_of)

    return list(module_of), __getattr__, __dir__
