"""一件事 bundles built on an item registry: a step names a registry item, the registry
gives what the item is once.

A procedure that says ``registry: catalog`` takes its departments from that registry's one
set, and each step that says ``item: <事项编码>`` takes the item's name, department,
办件类型 and statutory and committed limits (with their basis and source) from the registry
wherever the step leaves them out. What a step does state is what the bundle changes (a
reformed limit, 即办 after 告知承诺); dependencies, materials, windows and shared data stay
the bundle's own. Resolution happens on the file's data, before the procedure is built, so
every consumer sees resolved steps, and a dumped procedure (which states everything) loads
back equal.

>>> text = '''
... id: demo
... name: 示例
... registry: catalog
... steps:
...   - {id: seal, item: seal}
... '''
>>> from process_models.loading import parse_procedure
>>> p = parse_procedure(text)
>>> p.step("seal").name, p.step("seal").committed.days, p.departments[0].name
('印章刻制及备案', 1.0, '公安局')
>>> parse_procedure(text.replace("item: seal", "item: sael"), file="demo.yaml")
Traceback (most recent call last):
...
process_models.errors.UnknownReference: demo.yaml:6: steps[0].item: registry 'catalog' has no item 'sael' (did you mean 'seal'?)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from process_models._reading import line_of, read_text
from process_models.errors import ProcedureError, UnknownReference, did_you_mean, shown
from process_models.procedure import Limit
from process_models.registry.items import Item, Registry, parse_registry
from process_models.yaml_loader import Loc, format_path

__all__ = ["REGISTRY_FILES", "item_step_fields", "named_registry", "resolve_items"]

REGISTRY_FILES: dict[str, Path] = {
    "catalog": Path(__file__).parent / "catalog" / "lists" / "registry.yaml",
}
"""The registries a procedure may name in ``registry:``, by name."""


def named_registry(name: str) -> Registry:
    """The registry called ``name`` (see :data:`REGISTRY_FILES`), read once per file."""
    if name not in REGISTRY_FILES:
        raise UnknownReference(f"unknown registry {shown(name)}; known: "
                               f"{', '.join(REGISTRY_FILES)}",
                               suggestion=did_you_mean(name, REGISTRY_FILES))
    return _read(REGISTRY_FILES[name])


@lru_cache(maxsize=8)
def _read(path: Path) -> Registry:
    return parse_registry(read_text(path), file=str(path))


def item_step_fields(item: Item) -> dict[str, Any]:
    """What a step takes from its registry item, as file data: name, department, 办件类型
    and the limits, each limit with its basis and source (the item's where it states none)."""
    out: dict[str, Any] = {"name": item.name, "department": item.department,
                           "kind": item.kind.value}
    for field in ("statutory", "committed"):
        limit: Limit | None = getattr(item, field)
        if limit is None:
            continue
        filled = limit.model_copy(update={
            "basis": item.basis_of(field),
            "source": limit.source if limit.basis is not None else limit.source or item.source})
        out[field] = filled.model_dump(mode="json", exclude_none=True)
    return out


def resolve_items(data: dict[str, Any], *, file: str | None = None,
                  lines: dict[Loc, int] | None = None) -> dict[str, Any]:
    """``data`` (a procedure file's top mapping) with its registry items filled in and the
    registry's departments added; unchanged when it names no registry.

    Raises one located error for an unknown registry or item code (did-you-mean) or a step
    naming an item without a registry.
    """
    def fail(msg: str, loc: Loc, suggestion: str | None = None, cls=ProcedureError):
        raise cls(msg, file=file, line=line_of(lines, loc), path=format_path(loc),
                  suggestion=suggestion)

    steps = data.get("steps")
    steps = steps if isinstance(steps, list) else []
    name = data.get("registry")
    if name is None:
        for i, s in enumerate(steps):
            if isinstance(s, dict) and s.get("item") is not None:
                fail(f"names registry item {shown(s['item'])} but the procedure names no "
                     "registry; add 'registry: catalog' at the top", ("steps", i, "item"))
        return data
    if not isinstance(name, str) or name not in REGISTRY_FILES:
        fail(f"unknown registry {shown(name)}; known: {', '.join(REGISTRY_FILES)}",
             ("registry",), did_you_mean(str(name), REGISTRY_FILES), UnknownReference)
    registry = named_registry(name)
    resolved = []
    for i, s in enumerate(steps):
        code = s.get("item") if isinstance(s, dict) else None
        if isinstance(code, str):
            try:
                item = registry.item(code)
            except UnknownReference as e:
                fail(e.message, ("steps", i, "item"), e.suggestion, UnknownReference)
            s = {**item_step_fields(item), **s}
        resolved.append(s)
    return {**data, "steps": resolved,
            "departments": _departments(data, resolved, registry)}


def _departments(data: dict[str, Any], steps: list[Any], registry: Registry) -> list[Any]:
    """The file's departments, then the registry's departments the steps and materials use
    that the file leaves out, in registry order. A department the file states stays as
    stated, so a stored version reads back after the registry renames one."""
    stated = data.get("departments")
    stated = stated if isinstance(stated, list) else []
    used = {s.get("department") for s in steps if isinstance(s, dict)}
    materials = data.get("materials")
    used |= {m.get("held_by") for m in materials if isinstance(m, dict)} \
        if isinstance(materials, list) else set()
    have = {d.get("id") for d in stated if isinstance(d, dict)}
    return [*stated, *(d.model_dump(mode="json", exclude_none=True)
                       for d in registry.departments if d.id in used and d.id not in have)]
