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
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from process_models.errors import (
    DependencyCycle,
    DuplicateId,
    ProcedureError,
    ProcedureSyntaxError,
    UnknownReference,
    did_you_mean,
)
from process_models.procedure import Procedure

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
    "save_procedure",
    "validation_error",
]

Loc = tuple[Any, ...]

# libyaml's loader and dumper are ten times faster than the pure-Python ones and keep the
# same line marks; fall back where PyYAML was built without it.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# --- reading text ---------------------------------------------------------------------------


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text file; a missing file or another encoding is a one-line error.

    A UTF-8 byte-order mark is accepted. GBK/GB18030 files (common from Chinese Excel)
    are refused with advice to save as UTF-8, because a guessed encoding could silently
    corrupt names.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ProcedureSyntaxError("no such file; check the path", file=str(path)) from None
    except IsADirectoryError:
        raise ProcedureSyntaxError("is a folder, expected a file", file=str(path)) from None
    except OSError as e:
        raise ProcedureSyntaxError(f"cannot read: {e.strerror}", file=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        guess = ""
        try:
            raw.decode("gb18030")
            guess = " It reads as GBK/GB18030;"
        except UnicodeDecodeError:
            pass
        line = raw[: e.start].count(b"\n") + 1
        raise ProcedureSyntaxError(
            f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}).{guess}"
            " save the file as UTF-8 and try again",
            file=str(path),
            line=line,
        ) from None


def load_yaml(text: str, file: str | None) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML and remember the line of every mapping value and list item."""
    try:
        loader = _SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = (e.problem or e.context or "malformed YAML").strip()
        raise ProcedureSyntaxError(
            f"malformed YAML: {problem}; fix the indentation or quoting on that line",
            file=file,
            # libyaml marks a truncated file one line past its end; point at the last line
            line=min(mark.line + 1, text.count("\n") + 1) if mark else None,
        ) from None
    except yaml.YAMLError as e:
        raise ProcedureSyntaxError(f"malformed YAML: {e}", file=file) from None
    lines: dict[Loc, int] = {}

    def walk(n: yaml.Node, loc: Loc) -> None:
        lines.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                lines[(*loc, key)] = k.start_mark.line + 1
                walk(v, (*loc, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*loc, i))

    if node is not None:
        walk(node, ())
    return data, lines


def line_of(lines: dict[Loc, int] | None, loc: Loc) -> int | None:
    if not lines:
        return None
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# --- validation errors ----------------------------------------------------------------------


def format_path(loc: Iterable[Any]) -> str:
    """``('steps', 3, 'committed', 'days')`` → ``steps[3].committed.days``.

    >>> format_path(("steps", 3, "depends_on", 0))
    'steps[3].depends_on[0]'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that owns the last element of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def validation_error(
    err: ValidationError,
    model: type[BaseModel],
    *,
    file: str | None = None,
    lines: dict[Loc, int] | None = None,
    error_class: type[ProcedureError] = ProcedureError,
) -> ProcedureError:
    """Turn pydantic's first error into one line naming file, field, bad value and fix."""
    errors = err.errors(include_url=False)
    # A misspelt field also makes the real one "missing": report the misspelling.
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = e["type"]
    value = e.get("input")
    field = loc[-1] if loc else ""
    suggestion = None
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        known = list(owner.model_fields) if owner else []
        suggestion = did_you_mean(str(field), known)
        msg = f"unknown field '{field}'"
        if known and not suggestion:
            msg += f"; allowed: {', '.join(known)}"
    elif kind == "missing":
        msg = "is required but missing"
    elif kind == "enum":
        allowed = e.get("ctx", {}).get("expected", "")
        msg = f"{value!r} is not allowed; use one of {allowed}"
        owner_vals = [a.strip(" '") for a in allowed.replace(" or ", ",").split(",")]
        suggestion = did_you_mean(str(value), [v for v in owner_vals if v])
    elif kind in ("greater_than_equal", "greater_than"):
        limit = e.get("ctx", {}).get("ge", e.get("ctx", {}).get("gt"))
        msg = f"must be at least {limit:g}, got {value!r}"
    elif kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        want = "a whole number" if kind.startswith("int") else "a number"
        msg = f"must be {want}, got {value!r}"
    elif kind == "finite_number":
        msg = f"must be a finite number, got {value!r}"
    elif kind == "string_too_short":
        msg = "must not be empty"
    elif kind == "string_pattern_mismatch":
        msg = f"{value!r} may use only letters, digits, '_', '-' and '.'"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"must be a mapping (key: value), got {value!r}"
    elif kind == "list_type":
        msg = f"must be a list, got {value!r}"
    elif kind == "value_error":
        msg = str(e.get("ctx", {}).get("error", e["msg"]))
    else:
        msg = f"{e['msg'].rstrip('.')}, got {value!r}"
    return error_class(
        msg,
        file=file,
        line=line_of(lines, loc),
        path=format_path(loc) or None,
        suggestion=suggestion,
    )


# --- whole-procedure checks -----------------------------------------------------------------


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle in ``{node: [successor, ...]}`` in order, or ``None``.

    >>> find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []})
    ['a', 'b', 'c']
    >>> find_cycle({"a": ["b"], "b": []}) is None
    True
    """
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    for succs in edges.values():
        for s in succs:
            color.setdefault(s, white)
    for root in list(color):
        if color[root] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(edges.get(root, ())))]
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
                stack.append((nxt, iter(edges.get(nxt, ()))))
    return None


def check_procedure(
    proc: Procedure, *, file: str | None = None, lines: dict[Loc, int] | None = None
) -> Procedure:
    """Check what one field cannot check alone: ids exist, are unique, and form no cycle.

    Returns ``proc`` unchanged so calls can be chained; raises a :class:`ProcedureError`
    subclass naming the file, line and field otherwise.
    """

    def fail(cls: type[ProcedureError], msg: str, loc: Loc, suggestion: str | None = None):
        raise cls(msg, file=file, line=line_of(lines, loc), path=format_path(loc),
                  suggestion=suggestion)

    if not proc.steps:
        fail(ProcedureError, "the procedure has no steps; add at least one under 'steps:'",
             ("steps",))

    def unique(items: list[Any], what: str, key: str, seen: dict[str, str] | None = None):
        seen = {} if seen is None else seen
        for i, item in enumerate(items):
            if item.id in seen:
                fail(DuplicateId, f"duplicate {what} id '{item.id}' (already used by "
                     f"{seen[item.id]}); give each {what} its own id", (key, i, "id"))
            seen[item.id] = f"{key}[{i}]"
        return seen

    unique(proc.departments, "department", "departments")
    unique(proc.materials, "material", "materials")
    node_ids = unique(proc.steps, "step", "steps")
    unique(proc.stages, "stage", "stages", node_ids)

    departments = {d.id for d in proc.departments}
    materials = {m.id for m in proc.materials}
    steps = {s.id for s in proc.steps}
    stages = {s.id: s for s in proc.stages}

    def known(value: str, pool: Iterable[str], what: str, loc: Loc) -> None:
        pool = list(pool)
        if value not in pool:
            fail(UnknownReference, f"unknown {what} '{value}'", loc, did_you_mean(value, pool))

    for i, m in enumerate(proc.materials):
        if m.from_step is not None:
            known(m.from_step, steps, "step", ("materials", i, "from_step"))
        if m.held_by is not None:
            known(m.held_by, departments, "department", ("materials", i, "held_by"))

    for i, s in enumerate(proc.steps):
        known(s.department, departments, "department", ("steps", i, "department"))
        for j, mid in enumerate(s.materials):
            known(mid, materials, "material", ("steps", i, "materials", j))
        if len(set(s.materials)) != len(s.materials):
            dup = next(m for m in s.materials if s.materials.count(m) > 1)
            fail(DuplicateId, f"material '{dup}' is listed twice", ("steps", i, "materials"))
        waits_for: set[str] = set()
        for j, dep in enumerate(s.depends_on):
            known(dep.step, [*steps, *stages], "step or stage", ("steps", i, "depends_on", j))
            if dep.step in waits_for:
                fail(DuplicateId, f"'{dep.step}' is listed twice; keep one entry",
                     ("steps", i, "depends_on", j))
            waits_for.add(dep.step)
            if dep.step == s.id:
                fail(DependencyCycle, f"step '{s.id}' depends on itself; remove this entry",
                     ("steps", i, "depends_on", j))

    for i, st in enumerate(proc.stages):
        for j, sid in enumerate(st.steps):
            known(sid, steps, "step", ("stages", i, "steps", j))
        for j, sid in enumerate(st.milestones):
            known(sid, steps, "step", ("stages", i, "milestones", j))
        if not st.milestones and not st.steps:
            fail(ProcedureError, f"stage '{st.id}' has no steps or milestones to join on",
                 ("stages", i))

    # Cycles: edges predecessor → successor; a stage waits for its milestones.
    edges: dict[str, list[str]] = {sid: [] for sid in [*steps, *stages]}
    for s in proc.steps:
        for dep in s.depends_on:
            edges[dep.step].append(s.id)
    for st in proc.stages:
        for m in st.milestones or st.steps:
            edges[m].append(st.id)
    cycle = find_cycle(edges)
    if cycle:
        # Report the steps (stages stand for their milestones) and point at the first one.
        shown = [c for c in cycle if c in steps] or cycle
        order = {s.id: i for i, s in enumerate(proc.steps)}
        start = min(range(len(shown)), key=lambda k: order.get(shown[k], len(order)))
        shown = shown[start:] + shown[:start]
        first = next(i for i, s in enumerate(proc.steps) if s.id == shown[0]) if shown[0] in steps else 0
        raise DependencyCycle(shown, file=file, line=line_of(lines, ("steps", first, "depends_on")),
                              path=f"steps[{first}].depends_on")
    return proc


# --- public loaders -------------------------------------------------------------------------


def parse_procedure(text: str, *, file: str | None = None) -> Procedure:
    """Parse and check a procedure from YAML text; ``file`` names it in errors."""
    data, lines = load_yaml(text, file)
    if data is None:
        raise ProcedureError("the file is empty; a procedure needs id, name and steps", file=file)
    if not isinstance(data, dict):
        raise ProcedureError(
            f"expected a mapping with id, name, steps at the top, got a {type(data).__name__}",
            file=file, line=1,
        )
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
                raise ProcedureSyntaxError("folder holds no .yaml procedure files", file=str(p))
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
    return _compact(proc.model_dump(mode="json", exclude_defaults=True))


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
