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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import BaseModel, ValidationError

from process_models.errors import (
    DependencyCycle,
    DuplicateId,
    ProcedureError,
    ProcedureSyntaxError,
    UnknownReference,
    did_you_mean,
    shown,
)
from process_models.graph import edges
from process_models.procedure import MAX_DEPENDENCIES, Procedure
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


# --- reading text ---------------------------------------------------------------------------


@contextmanager
def reading_file(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn the failure to read ``path`` inside the block (missing, a folder, unreadable)
    into one :class:`ProcedureSyntaxError` line naming the file and the fix.

    >>> with reading_file("no/such.yaml"):
    ...     Path("no/such.yaml").read_bytes()
    Traceback (most recent call last):
    process_models.errors.ProcedureSyntaxError: no/such.yaml: no such file; check the path
    """
    try:
        yield
    except FileNotFoundError:
        raise ProcedureSyntaxError("no such file; check the path", file=str(path)) from None
    except IsADirectoryError:
        raise ProcedureSyntaxError("is a folder, expected a file", file=str(path)) from None
    except OSError as e:
        raise ProcedureSyntaxError(f"cannot read: {e.strerror}", file=str(path)) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text file; a missing file or another encoding is a one-line error.

    A UTF-8 byte-order mark is accepted. GBK/GB18030 files (common from Chinese Excel)
    are refused with advice to save as UTF-8, because a guessed encoding could silently
    corrupt names.
    """
    with reading_file(path):
        raw = Path(path).read_bytes()
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


def line_of(lines: dict[Loc, int] | None, loc: Loc) -> int | None:
    if not lines:
        return None
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# --- validation errors ----------------------------------------------------------------------


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
        msg = f"unknown field {shown(field)}"
        if known and not suggestion:
            msg += f"; allowed: {', '.join(known)}"
    elif kind == "missing":
        msg = "is required but missing"
    elif kind == "enum":
        allowed = e.get("ctx", {}).get("expected", "")
        msg = f"{shown(value)} is not allowed; use one of {allowed}"
        owner_vals = [a.strip(" '") for a in allowed.replace(" or ", ",").split(",")]
        suggestion = did_you_mean(str(value), [v for v in owner_vals if v])
    elif kind in ("greater_than_equal", "greater_than"):
        limit = e.get("ctx", {}).get("ge", e.get("ctx", {}).get("gt"))
        msg = f"must be at least {limit:g}, got {shown(value)}"
    elif kind in ("less_than_equal", "less_than"):
        limit = e.get("ctx", {}).get("le", e.get("ctx", {}).get("lt"))
        msg = f"must be at most {limit:g}, got {shown(value)}; check the figure"
    elif kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        want = "a whole number" if kind.startswith("int") else "a number"
        msg = f"must be {want}, got {shown(value)}"
    elif kind == "finite_number":
        msg = f"must be a finite number, got {shown(value)}"
    elif kind == "string_too_short":
        msg = "must not be empty"
    elif kind == "string_pattern_mismatch":
        msg = (f"{shown(value)} is not an id: use 1–200 letters, digits, '_', '-' or '+' "
               "(no spaces, '/' or '.')")
    elif kind == "too_long":
        limit = e.get("ctx", {}).get("max_length")
        msg = f"holds more than {limit} entries; split the procedure"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"must be a mapping (key: value), got {shown(value)}"
    elif kind == "list_type":
        msg = f"must be a list, got {shown(value)}"
    elif kind == "value_error":
        msg = str(e.get("ctx", {}).get("error", e["msg"]))
    else:
        msg = f"{e['msg'].rstrip('.')}, got {shown(value)}"
    return error_class(
        msg,
        file=file,
        line=line_of(lines, loc),
        path=format_path(loc) or None,
        suggestion=suggestion,
    )


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

    def fail(self, cls: type[ProcedureError], msg: str, loc: Loc,
             suggestion: str | None = None) -> NoReturn:
        raise cls(msg, file=self.file, line=line_of(self.lines, loc), path=format_path(loc),
                  suggestion=suggestion)

    def known(self, value: str, pool: set[str], what: str, loc: Loc) -> None:
        if value not in pool:
            self.fail(UnknownReference, f"unknown {what} {shown(value)}", loc,
                      did_you_mean(value, pool))

    def sizes(self) -> None:
        if not self.proc.steps:
            self.fail(ProcedureError,
                      "the procedure has no steps; add at least one under 'steps:'", ("steps",))
        links = sum(len(s.depends_on) for s in self.proc.steps) + sum(
            len(st.steps) + len(st.milestones) for st in self.proc.stages)
        if links > MAX_DEPENDENCIES:
            self.fail(ProcedureError, f"the procedure has {links} dependencies and stage "
                      f"members; the limit is {MAX_DEPENDENCIES}: split it into procedures",
                      ("steps",))

    def unique_ids(self) -> None:
        self._unique(self.proc.departments, "department", "departments", {})
        self._unique(self.proc.materials, "material", "materials", {})
        nodes = self._unique(self.proc.steps, "step", "steps", {})
        self._unique(self.proc.stages, "stage", "stages", nodes)  # one namespace with steps

    def _unique(self, items: list[Any], what: str, key: str, seen: dict[str, str]
                ) -> dict[str, str]:
        for i, item in enumerate(items):
            if item.id in seen:
                self.fail(DuplicateId, f"duplicate {what} id '{item.id}' (already used by "
                          f"{seen[item.id]}); give each {what} its own id", (key, i, "id"))
            seen[item.id] = f"{key}[{i}]"
        return seen

    def materials(self) -> None:
        for i, m in enumerate(self.proc.materials):
            if m.from_step is not None:
                self.known(m.from_step, self.step_ids, "step", ("materials", i, "from_step"))
            if m.held_by is not None:
                self.known(m.held_by, self.departments, "department", ("materials", i, "held_by"))

    def steps(self) -> None:
        for i, s in enumerate(self.proc.steps):
            self.known(s.department, self.departments, "department", ("steps", i, "department"))
            listed: set[str] = set()
            for j, mid in enumerate(s.materials):
                self.known(mid, self.materials_known, "material", ("steps", i, "materials", j))
                if mid in listed:
                    self.fail(DuplicateId, f"material '{mid}' is listed twice",
                              ("steps", i, "materials"))
                listed.add(mid)
            waits_for: set[str] = set()
            for j, dep in enumerate(s.depends_on):
                loc = ("steps", i, "depends_on", j)
                self.known(dep.step, self.nodes, "step or stage", loc)
                if dep.step in waits_for:
                    self.fail(DuplicateId, f"'{dep.step}' is listed twice; keep one entry", loc)
                waits_for.add(dep.step)
                if dep.step == s.id:
                    raise DependencyCycle([s.id], file=self.file, line=line_of(self.lines, loc),
                                          path=format_path(loc))

    def stages(self) -> None:
        for i, st in enumerate(self.proc.stages):
            for field in ("steps", "milestones"):
                for j, sid in enumerate(getattr(st, field)):
                    self.known(sid, self.step_ids, "step", ("stages", i, field, j))
            if not st.milestones and not st.steps:
                self.fail(ProcedureError, f"stage '{st.id}' has no steps or milestones to join on",
                          ("stages", i))

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
            raise ProcedureError("the file is empty; a procedure needs id, name and steps",
                                 file=file)
        if not isinstance(data, dict):
            raise ProcedureError(
                f"expected a mapping with id, name, steps at the top, got a "
                f"{type(data).__name__}", file=file, line=1,
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
