"""The one way onething reads YAML: safe, bounded, and every error located.

Procedures, scenarios, calendar overrides, staff and arrival plans all come through
:func:`load_yaml`. On top of PyYAML's safe loading it

- refuses aliases (``*name``): a few hundred bytes of nested aliases expand to billions
  of nodes (the "billion laughs"), and no onething file needs them;
- refuses duplicate keys, naming both lines (YAML would keep the last one silently);
- refuses nesting deeper than :data:`MAX_NESTING_LEVELS` and tags it does not know;
- turns a value its tag cannot read (``2025-02-30``, ``!!int abc``) into one line naming
  the file, line, field, value and fix, instead of a ``ValueError`` from deep inside PyYAML;
- remembers the line of every mapping key and list item, for later error messages.

Everything it raises is the caller's :class:`~process_models.errors.OnethingError`
subclass, so a bad file never escapes as another exception.

>>> load_yaml("a: &x [1, 2]\\nb: *x\\n", file="s.yaml")
Traceback (most recent call last):
...
process_models.errors.ProcedureSyntaxError: s.yaml:2: b: aliases (*name) are not allowed; write the value out in full
>>> load_yaml("id: x\\nid: y\\n", file="s.yaml")
Traceback (most recent call last):
...
process_models.errors.ProcedureSyntaxError: s.yaml:2: id: duplicate key 'id' (first on line 1); keep one
>>> load_yaml("effective_date: 2025-02-30\\n", file="s.yaml")
Traceback (most recent call last):
...
process_models.errors.ProcedureSyntaxError: s.yaml:1: effective_date: '2025-02-30' is not a valid date (day is out of range for month); write a real date as YYYY-MM-DD, or quote it to keep it as text
>>> load_yaml("steps:\\n- {id: a, days: 2}\\n")
({'steps': [{'id': 'a', 'days': 2}]}, {(): 1, ('steps',): 1, ('steps', 0): 2, ('steps', 0, 'id'): 2, ('steps', 0, 'days'): 2})
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from process_models.errors import SHOWN_CHARS, OnethingError, ProcedureSyntaxError, shown
from process_models.reading_problems import reading_error

__all__ = ["MAX_NESTING_LEVELS", "Loc", "collector_paused", "format_path", "load_yaml"]

MAX_NESTING_LEVELS = 50
"""Mappings and lists inside each other; a procedure needs six."""

Loc = tuple[Any, ...]
"""Where a value sits in the document: ``('steps', 3, 'committed', 'days')``."""

# libyaml composes ten times faster than the pure-Python parser and keeps the same line
# marks; fall back where PyYAML was built without it.
_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"
_SCALARS = {tag: fn for tag, fn in SafeConstructor.yaml_constructors.items()
            if tag and tag.removeprefix(_TAG) in
            ("null", "bool", "int", "float", "binary", "timestamp", "str")}


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


def load_yaml(
    text: str, *, file: str | None = None, error: type[OnethingError] = ProcedureSyntaxError,
    plain: bool = False,
) -> tuple[Any, dict[Loc, int]]:
    """Parse one YAML document; return its data and the line of every key and list item.

    Parameters
    ----------
    text:
        The document.
    file:
        Names the document in error messages.
    error:
        The error class raised for anything wrong (a scenario raises ``ScenarioError``).
    plain:
        Keep every scalar as the text it was written as (no numbers, dates or booleans),
        for files whose own parser reads the values.
    """
    with collector_paused():
        root = _compose(text, file, error)
        if root is None:
            return None, {}
        return _Builder(text, file, error, plain).build(root)


def _compose(text: str, file: str | None, error: type[OnethingError]) -> yaml.Node | None:
    try:
        loader = _Composer(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = " ".join((e.problem or e.context or "malformed YAML").split())
        # libyaml marks a truncated file one line past its end; point at the last line
        line = min(mark.line + 1, text.count("\n") + 1) if mark else None
        # what is written there: that line, or the last one written before it
        written = next((t.strip() for t in reversed(text.split("\n", line)[:line]
                                                      if line else []) if t.strip()), "")
        raise reading_error("yaml_malformed", {"problem": problem, "text": shown(written)},
                            kind=error, file=file, line=line) from None
    except yaml.reader.ReaderError as e:
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise reading_error("yaml_character", {"code": f"{code:04X}", "problem": e.reason},
                            kind=error, file=file,
                            line=text.count("\n", 0, e.position) + 1) from None
    except yaml.YAMLError as e:
        raise reading_error("yaml_unreadable", {"problem": " ".join(str(e).split())},
                            kind=error, file=file) from None
    except RecursionError:  # the pure-Python composer on deep nesting
        raise reading_error("yaml_too_deep_file", {"most": MAX_NESTING_LEVELS}, kind=error,
                            file=file) from None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a document is read and checked.

    Nodes, data and models built from a document hold no cycles (aliases are refused), so
    the collector has nothing to find there; left on, its full passes over the growing
    heap make a large file cost more than linear time (a 20,000-step procedure: 5× more).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Builder:
    """Builds the data of a composed document in one pass over its nodes, in document
    order, without recursion (so nesting costs no Python stack)."""

    def __init__(self, text: str, file: str | None, error: type[OnethingError], plain: bool
                 ) -> None:
        self.text, self.file, self.error, self.plain = text, file, error, plain
        self.constructor = SafeConstructor()
        self.lines: dict[Loc, int] = {}
        self.seen: set[int] = set()

    def fail(self, reason: str, values: dict[str, Any] | None, node: yaml.Node, loc: Loc,
             line: int | None = None) -> OnethingError:
        return reading_error(reason, values, kind=self.error, file=self.file,
                             line=line or node.start_mark.line + 1, path=format_path(loc) or None)

    def first_alias_line(self) -> int | None:
        """The line of the first ``*name``: a node reached twice is the one its anchor
        marks, so the events are read again (only on this error path) to find it."""
        for event in yaml.parse(self.text, Loader=_Composer):
            if isinstance(event, yaml.AliasEvent):
                return event.start_mark.line + 1
        return None

    def build(self, root: yaml.Node) -> tuple[Any, dict[Loc, int]]:
        lines = self.lines
        lines[()] = root.start_mark.line + 1
        holder: list[Any] = [None]
        # The collections being filled, outermost first: [node, where it sits, its depth,
        # its container, the next child to read]. Children are read in document order.
        stack: list[list[Any]] = []
        self.place(root, (), 0, holder, 0, stack)
        while stack:
            frame = stack[-1]
            node, loc, depth, into, i = frame
            if i == len(node.value):
                stack.pop()
                continue
            frame[4] = i + 1
            if type(into) is list:
                child, key = node.value[i], i
                lines[here := (*loc, i)] = child.start_mark.line + 1
            else:
                key_node, child = node.value[i]
                key = self.key(key_node, loc, into)
                lines[here := (*loc, key)] = key_node.start_mark.line + 1
            self.place(child, here, depth + 1, into, key, stack)
        return holder[0], lines

    def place(self, node: yaml.Node, loc: Loc, depth: int, into: Any, key: Any,
              stack: list[list[Any]]) -> None:
        """Read a scalar into its place; open a collection and stack it to be filled."""
        seen = self.seen
        before = len(seen)
        seen.add(id(node))
        if len(seen) == before:  # the very node reached again: an alias
            raise self.fail("yaml_alias", None, node, loc, self.first_alias_line())
        if isinstance(node, yaml.ScalarNode):
            into[key] = node.value if node.tag == _STR or self.plain else self.scalar(node, loc)
            return
        if depth >= MAX_NESTING_LEVELS:
            raise self.fail("yaml_too_deep", {"most": MAX_NESTING_LEVELS}, node, loc)
        if node.tag == _SEQ and isinstance(node, yaml.SequenceNode):
            into[key] = container = [None] * len(node.value)
        elif node.tag == _MAP and isinstance(node, yaml.MappingNode):
            into[key] = container = {}
        else:
            raise self.fail("yaml_tag", {"tag": shown(node.tag)}, node, loc)
        stack.append([node, loc, depth, container, 0])

    def key(self, node: yaml.Node, loc: Loc, mapping: dict[Any, Any]) -> Any:
        if id(node) in self.seen:
            raise self.fail("yaml_alias", None, node, loc, self.first_alias_line())
        self.seen.add(id(node))
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail("yaml_key_not_text", None, node, loc)
        if node.tag == _TAG + "merge":
            raise self.fail("yaml_merge_key", None, node, loc)
        name = self.scalar(node, loc)
        if name in mapping:
            first = self.lines[(*loc, name)]
            raise self.fail("yaml_duplicate_key", {"key": shown(name), "first": first},
                            node, (*loc, name))
        mapping[name] = None  # keeps the written order
        return name

    def scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if self.plain or node.tag == _STR:
            return node.value
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise self.fail("yaml_tag", {"tag": shown(node.tag)}, node, loc)
        try:
            return construct(self.constructor, node)
        except Exception as e:  # noqa: BLE001 (PyYAML raises ValueError, KeyError, IndexError…)
            kind = node.tag.removeprefix(_TAG)
            # the date's own reason says which part is wrong; the others only repeat the value
            because = f" ({' '.join(str(e).split())[:SHOWN_CHARS]})" if kind == "timestamp" \
                and type(e) is ValueError else ""
            raise self.fail(f"yaml_bad_{kind}", {"value": shown(node.value), "because": because},
                            node, loc) from None
