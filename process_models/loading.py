"""Read and write procedures as YAML, with errors people can act on.

:func:`load_procedure` reads a file, :func:`parse_procedure` a string, and both
run :func:`check_procedure`, so a procedure you hold has known ids, no
duplicates and no cycles. :func:`dump_procedure` writes it back; loading what
it wrote gives an equal procedure.

>>> text = '''
... id: demo
... name: 示例
... departments: [{id: samr, name: 市场监管局}]
... steps:
...   - {id: licence, name: 营业执照, department: samr, committed: {days: 3}}
...   - {id: food, name: 食品经营许可, department: samr, committed: {days: 10},
...      depends_on: [licnse]}
... '''
>>> parse_procedure(text, file="demo.yaml")
Traceback (most recent call last):
...
process_models.errors.UnknownReference: demo.yaml:8: steps[1].depends_on[0]: unknown step or stage 'licnse' (did you mean 'licence'?)
>>> p = parse_procedure(text.replace("licnse", "licence"))
>>> parse_procedure(dump_procedure(p)) == p
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from process_models._reading import line_of, read_text, reading_file, validation_error
from process_models.errors import (
    DependencyCycle,
    DuplicateId,
    ProcedureError,
    UnknownReference,
    did_you_mean,
    shown,
)
from process_models.graph import edges
from process_models.procedure import MAX_DEPENDENCIES, Procedure
from process_models.reading_problems import reading_error
from process_models.yaml_loader import Loc, collector_paused, format_path, load_yaml

__all__ = [
    "check_procedure",
    "dump_procedure",
    "find_cycle",
    "format_path",
    "load_procedure",
    "load_procedures",
    "parse_procedure",
    "procedure_data",
    "procedure_paths",
    "read_text",
    "reading_file",
    "save_procedure",
    "validation_error",
]

# libyaml's dumper is ten times faster than the pure-Python one; fall back where PyYAML
# was built without it.
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# --- whole-procedure checks -----------------------------------------------------------------


def find_cycle(successors: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle in ``{node: [successor, ...]}`` in order, or ``None``.

    >>> find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []})
    ['a', 'b', 'c']
    >>> find_cycle({"a": ["b"], "b": []}) is None
    True
    """
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(successors, white)
    for succs in successors.values():
        for s in succs:
            color.setdefault(s, white)
    for root in list(color):
        if color[root] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(successors.get(root, ())))]
        path = [root]
        color[root] = grey
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                color[node] = black
            elif color[nxt] == grey:
                return path[path.index(nxt):]
            elif color[nxt] == white:
                color[nxt] = grey
                path.append(nxt)
                stack.append((nxt, iter(successors.get(nxt, ()))))
    return None


def check_procedure(
    proc: Procedure, *, file: str | None = None, lines: dict[Loc, int] | None = None
) -> Procedure:
    """Check what one field cannot check alone: ids exist, are unique, and form no cycle.

    Returns ``proc`` unchanged so calls can be chained; raises a :class:`ProcedureError`
    subclass naming the file, line and field otherwise. Linear in the size of the procedure.
    """
    check = _Check(proc, file, lines)
    check.sizes()
    check.unique_ids()
    check.materials()
    check.steps()
    check.stages()
    check.acyclic()
    return proc


class _Check:
    """The whole-procedure checks of :func:`check_procedure`; every look-up is a set."""

    def __init__(self, proc: Procedure, file: str | None, lines: dict[Loc, int] | None) -> None:
        self.proc, self.file, self.lines = proc, file, lines
        self.departments = {d.id for d in proc.departments}
        self.materials_known = {m.id for m in proc.materials}
        self.step_ids = {s.id for s in proc.steps}
        self.nodes = self.step_ids | {st.id for st in proc.stages}

    def fail(self, cls: type[ProcedureError], reason: str, values: dict[str, Any], loc: Loc,
             suggestion: str | None = None) -> NoReturn:
        raise reading_error(reason, values, kind=cls, file=self.file,
                            line=line_of(self.lines, loc), path=format_path(loc),
                            suggestion=suggestion)

    def known(self, value: str, pool: set[str], what: str, loc: Loc) -> None:
        """Refuse ``value`` unless it is in ``pool``: ``what`` is the reason's last word
        (``unknown_department``, ``unknown_material``, ``unknown_node``, ...)."""
        if value not in pool:
            self.fail(UnknownReference, f"unknown_{what}", {"value": shown(value)}, loc,
                      did_you_mean(value, pool))

    def sizes(self) -> None:
        if not self.proc.steps:
            self.fail(ProcedureError, "no_steps_listed", {}, ("steps",))
        links = sum(len(s.depends_on) for s in self.proc.steps) + sum(
            len(st.steps) + len(st.milestones) for st in self.proc.stages)
        if links > MAX_DEPENDENCIES:
            self.fail(ProcedureError, "too_many_dependencies",
                      {"count": links, "most": MAX_DEPENDENCIES}, ("steps",))

    def unique_ids(self) -> None:
        self._unique(self.proc.departments, "department", "departments", {})
        self._unique(self.proc.materials, "material", "materials", {})
        nodes = self._unique(self.proc.steps, "step", "steps", {})
        self._unique(self.proc.stages, "stage", "stages", nodes)  # one namespace with steps

    def _unique(self, items: list[Any], what: str, key: str, seen: dict[str, str]
                ) -> dict[str, str]:
        for i, item in enumerate(items):
            if item.id in seen:
                self.fail(DuplicateId, f"duplicate_{what}_id", {"value": f"'{item.id}'",
                                                                "first": seen[item.id]},
                          (key, i, "id"))
            seen[item.id] = f"{key}[{i}]"
        return seen

    def materials(self) -> None:
        for i, m in enumerate(self.proc.materials):
            if m.from_step is not None:
                self.known(m.from_step, self.step_ids, "step_id", ("materials", i, "from_step"))
            if m.held_by is not None:
                self.known(m.held_by, self.departments, "department", ("materials", i, "held_by"))

    def steps(self) -> None:
        for i, s in enumerate(self.proc.steps):
            self.known(s.department, self.departments, "department", ("steps", i, "department"))
            listed: set[str] = set()
            for j, mid in enumerate(s.materials):
                self.known(mid, self.materials_known, "material", ("steps", i, "materials", j))
                if mid in listed:
                    self.fail(DuplicateId, "material_twice", {"value": f"'{mid}'"},
                              ("steps", i, "materials"))
                listed.add(mid)
            waits_for: set[str] = set()
            for j, dep in enumerate(s.depends_on):
                loc = ("steps", i, "depends_on", j)
                self.known(dep.step, self.nodes, "node", loc)
                if dep.step in waits_for:
                    self.fail(DuplicateId, "dependency_twice", {"value": f"'{dep.step}'"}, loc)
                waits_for.add(dep.step)
                if dep.step == s.id:
                    raise DependencyCycle([s.id], file=self.file, line=line_of(self.lines, loc),
                                          path=format_path(loc))

    def stages(self) -> None:
        for i, st in enumerate(self.proc.stages):
            for field in ("steps", "milestones"):
                for j, sid in enumerate(getattr(st, field)):
                    self.known(sid, self.step_ids, "step_id", ("stages", i, field, j))
            if not st.milestones and not st.steps:
                self.fail(ProcedureError, "empty_stage", {"value": f"'{st.id}'"}, ("stages", i))

    def acyclic(self) -> None:
        """Edges predecessor → successor; a stage waits for its milestones."""
        proc = self.proc
        successors: dict[str, list[str]] = {sid: [] for sid in self.nodes}
        for before, after, _ in edges(proc):
            successors[before].append(after)
        cycle = find_cycle(successors)
        if not cycle:
            return
        # Report the steps (stages stand for their milestones) and point at the first one.
        shown_ids = [c for c in cycle if c in self.step_ids] or cycle
        order = {s.id: i for i, s in enumerate(proc.steps)}
        start = min(range(len(shown_ids)), key=lambda k: order.get(shown_ids[k], len(order)))
        shown_ids = shown_ids[start:] + shown_ids[:start]
        first = order.get(shown_ids[0], 0)
        raise DependencyCycle(shown_ids, file=self.file,
                              line=line_of(self.lines, ("steps", first, "depends_on")),
                              path=f"steps[{first}].depends_on")


# --- public loaders -------------------------------------------------------------------------


def parse_procedure(text: str, *, file: str | None = None) -> Procedure:
    """Parse and check a procedure from YAML text; ``file`` names it in errors."""
    with collector_paused():
        data, lines = load_yaml(text, file=file)
        if data is None:
            raise reading_error("empty_procedure", kind=ProcedureError, file=file)
        if not isinstance(data, dict):
            raise reading_error("not_procedure", {"kind": type(data).__name__},
                                kind=ProcedureError, file=file, line=1)
        # Here, not at the top: the registry package's __init__ reaches back to this module.
        from process_models.bundles import resolve_items

        data = resolve_items(data, file=file, lines=lines)
        try:
            proc = Procedure.model_validate(data)
        except ValidationError as err:
            raise validation_error(err, Procedure, file=file, lines=lines) from None
        return check_procedure(proc, file=file, lines=lines)


def load_procedure(path: str | os.PathLike[str]) -> Procedure:
    """Load and check one procedure file (YAML)."""
    return parse_procedure(read_text(path), file=str(path))


def procedure_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand folders to their ``*.yaml``/``*.yml`` files (sorted); keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not found:
                raise reading_error("no_yaml_files", file=str(p))
            out.extend(found)
        else:
            out.append(p)
    return out


def load_procedures(paths: Iterable[str | os.PathLike[str]]) -> list[Procedure]:
    """Load every procedure in ``paths`` (files or folders)."""
    return [load_procedure(p) for p in procedure_paths(paths)]


def _compact(value: Any) -> Any:
    """Whole floats as ints; legal, lag-free dependencies as bare ids."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"step"}:
            return value["step"]
        return {k: _compact(v) for k, v in value.items()}
    return value


def procedure_data(proc: Procedure) -> dict[str, Any]:
    """The procedure as plain data (what YAML and JSON output hold), defaults left out."""
    data = _compact(proc.model_dump(mode="json", exclude_defaults=True))
    for step, out in zip(proc.steps, data.get("steps", ()), strict=True):
        if step.item is not None:  # a left-out field would be filled from the registry
            out.setdefault("kind", step.kind.value)
            out.setdefault("statutory", None)
    return data


def dump_procedure(proc: Procedure) -> str:
    """The procedure as YAML text, in field order, Chinese kept readable."""
    return yaml.dump(
        procedure_data(proc), Dumper=_SafeDumper, allow_unicode=True, sort_keys=False,
        width=100, default_flow_style=False,
    )


def save_procedure(proc: Procedure, path: str | os.PathLike[str]) -> None:
    """Write ``proc`` to ``path`` atomically (a crash never leaves half a file)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(dump_procedure(proc), encoding="utf-8")
    os.replace(tmp, target)
