"""One error tree for the whole project.

Every error onething raises on purpose is an :class:`OnethingError`. Narrow
children also subclass the matching builtin, so ``except ValueError`` and
``except LookupError`` keep working for callers who do not know our names.

The message is the whole story, on one line: where (file, line, field), what
(the bad value) and how to fix it (with a did-you-mean where one helps). The CLI
prints it in red and exits with code 2; the API maps each family to one HTTP
status in ``api/main.py``.

>>> err = UnknownReference("unknown step 'food_licnse'", file="restaurant.yaml",
...                        path="steps[3].depends_on[0]", suggestion="food_license")
>>> str(err)
"restaurant.yaml: steps[3].depends_on[0]: unknown step 'food_licnse' (did you mean 'food_license'?)"
>>> isinstance(err, LookupError) and isinstance(err, ValueError)
True
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from typing import Any

SHOWN_CHARS = 60
"""How much of a bad value an error message echoes; the rest is cut (a file may hold a
20 MB value, and the message must stay one readable line)."""

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = SHOWN_CHARS
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 2, 4, 4, 4


def shown(value: Any) -> str:
    """``repr(value)`` cut to about :data:`SHOWN_CHARS` characters, for error messages
    that echo input; a cut text says how long it was.

    >>> shown("food_licnse")
    "'food_licnse'"
    >>> shown("A" * 1_000_000)
    "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…' (1000000 characters)"
    >>> shown([[1, 2, 3, 4, 5]])
    '[[1, 2, 3, 4, ...]]'
    """
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        cut = repr(value[:SHOWN_CHARS])
        return f"{cut[:-1]}…{cut[-1]} ({len(value)} characters)"
    return _SHORT.repr(value)


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts as one edit)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def did_you_mean(value: str, choices: Iterable[str]) -> str | None:
    """Return the closest of ``choices`` to ``value``, or ``None`` when none is close.

    >>> did_you_mean("licnse", ["food_license", "licence"])
    'licence'
    >>> did_you_mean("zzz", ["food_license"]) is None
    True
    """
    value = str(value)
    best: tuple[float, float, str] | None = None
    for choice in map(str, choices):
        if not _may_be_close(len(value), len(choice)):
            continue
        distance = _edit_distance(value.lower(), choice.lower())
        ratio = difflib.SequenceMatcher(None, value, choice).ratio()
        if distance <= max(1, len(choice) // 3) or ratio >= 0.75:
            key = (distance, -ratio, choice)
            best = key if best is None or key < best else best
    return best[2] if best else None


def worded(template: str, values: dict[str, Any], *, either: str = " or ") -> str:
    """``template`` with its ``{name}`` blanks filled from ``values``, a list joined by
    ``either``: the line of an error's ``reason`` in any language.

    >>> worded("{value} is not allowed; use {choices}", {"value": "'月'", "choices": ["日", "周"]})
    "'月' is not allowed; use 日 or 周"
    """
    return template.format_map({key: either.join(map(str, value)) if isinstance(value, list)
                                else value for key, value in values.items()})


def problem_error(kind: type[OnethingError], lines: dict[str, str], reason: str,
                  values: dict[str, Any] | None = None, **where: Any) -> OnethingError:
    """The error ``kind`` of ``reason``: its English line from ``lines`` worded with
    ``values``, which it keeps with its reason so that a page or the CLI words it in its
    reader's language (``error.<reason>``), located by ``where`` (file, line, path, ...).

    >>> e = problem_error(ProcedureError, {"empty": "{what} is empty"}, "empty",
    ...                   {"what": "the file"}, file="a.yaml")
    >>> str(e), e.reason, e.values
    ('a.yaml: the file is empty', 'empty', {'what': 'the file'})
    """
    values = values or {}
    return kind(worded(lines[reason], values), reason=reason, values=values, **where)


class FieldProblem(ValueError):
    """A value one of our pydantic validators refuses, with its ``reason`` and ``values``:
    pydantic passes a ``ValueError`` through as ``ctx["error"]``, and
    :func:`process_models._reading.validation_error` makes it the :meth:`error` of the
    file, so that a page and the CLI word it in their reader's language.

    A model's validator names the ``field`` it refuses, so that the error points at it
    rather than at the whole model.

    >>> problem = FieldProblem({"odd": "{value} is odd"}, "odd", {"value": 3})
    >>> str(problem), str(problem.error(ProcedureError, file="a.yaml", path="n"))
    ('3 is odd', 'a.yaml: n: 3 is odd')
    """

    def __init__(self, lines: dict[str, str], reason: str,
                 values: dict[str, Any] | None = None, *, field: str | None = None) -> None:
        self.reason = reason
        self.values = values or {}
        self.field = field
        super().__init__(worded(lines[reason], self.values))

    def error(self, kind: type[OnethingError], **where: Any) -> OnethingError:
        """The error ``kind`` of this problem, located by ``where`` (file, line, path)."""
        return kind(str(self), reason=self.reason, values=self.values, **where)


def _may_be_close(a: int, b: int) -> bool:
    """Whether texts of lengths ``a`` and ``b`` can pass :func:`did_you_mean`'s test: the
    edit distance is at least the length difference and the similarity ratio at most
    ``2·min / (a + b)``; skipping the rest keeps a huge bad value from costing
    (length × length) for every choice."""
    return abs(a - b) <= max(1, b // 3) or 2 * min(a, b) >= 0.75 * (a + b)


class OnethingError(Exception):
    """Base of every error onething raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong and, where it helps, how to fix it.
    file : str, optional
        The file the bad input came from, if any.
    line : int, optional
        1-based line number in ``file``, if known.
    path : str, optional
        Where in the document: ``steps[3].depends_on[0]``, or a CLI option name.
    suggestion : str, optional
        A did-you-mean value, appended as ``(did you mean 'x'?)``.
    reason : str, optional
        What went wrong as a key, for a page to say it in its reader's language
        (``api/i18n.py``: ``error.<reason>``), with ``values`` filling in its blanks.
    values : dict, optional
        The values a ``reason`` names (the bad value, a limit, a name).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        suggestion: str | None = None,
        reason: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.suggestion = suggestion
        self.reason = reason
        self.values = values or {}
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        if self.path:  # a key written in the file may be as long as a value
            path = self.path
            where += (f"{path}: " if len(path) <= 2 * SHOWN_CHARS else
                      f"{path[:SHOWN_CHARS]}… ({len(path)} characters): ")
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        return f"{where}{self.message}{hint}"

    def located(self, *, file: str | None = None, line: int | None = None) -> OnethingError:
        """Fill in the file (and line) where the caller knows them; returns ``self``."""
        if file and not self.file:
            self.file = file
        if line and not self.line:
            self.line = line
        self.args = (self.__str__(),)
        return self


# --- definitions: procedures, scenarios, tables, calendars -------------------------------


class ProcedureError(OnethingError, ValueError):
    """A procedure (or a file meant to hold one) is not valid."""


class ProcedureSyntaxError(ProcedureError):
    """The file cannot be read as YAML/CSV/XLSX at all: malformed, truncated or wrongly encoded."""


class UnknownReference(ProcedureError, LookupError):
    """An id names a step, department, material or stage that does not exist."""


class DuplicateId(ProcedureError):
    """Two things of one kind share an id."""


class DependencyCycle(ProcedureError):
    """Dependencies form a cycle; ``cycle`` lists every step in it, in order."""

    LINE = "dependency cycle: {loop}; remove one of these dependencies"
    """The English line of its reason, ``dependency_cycle``."""

    def __init__(self, cycle: list[str], **kwargs) -> None:
        self.cycle = list(cycle)
        values = {"loop": " → ".join([*self.cycle, self.cycle[0]]) if self.cycle else ""}
        super().__init__(worded(self.LINE, values), reason="dependency_cycle", values=values,
                         **kwargs)


class UnsourcedNumber(ProcedureError):
    """A file that claims to be published data (``status: published``) holds a number
    without a source (``validate --strict``)."""


class ScenarioError(OnethingError, ValueError):
    """A reform scenario is not valid or cannot be applied to its procedure."""


class TableError(ProcedureError):
    """A step table (CSV/XLSX) cannot be turned into a procedure; ``row`` (1-based, as a
    spreadsheet shows it) and ``column`` (its header as written) name the cell at fault
    when there is one.

    >>> e = TableError("not a number", file="t.csv", path="row 3, 承诺时限", row=3,
    ...                column="承诺时限")
    >>> str(e), e.row, e.column
    ('t.csv: row 3, 承诺时限: not a number', 3, '承诺时限')
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None,
                 **where) -> None:
        self.row = row
        self.column = column
        super().__init__(message, **where)


class RegistryError(OnethingError, ValueError):
    """A county item registry (事项目录 / 实施清单), a list it is read from or its column
    mapping is not valid."""


class BpmnError(ProcedureError):
    """A BPMN file cannot be read, or holds an element or flow onething does not model."""


class CapacityError(OnethingError, ValueError):
    """A staff plan, arrival plan, simulation parameter file or capacity option is not valid."""


class CalendarError(OnethingError, ValueError):
    """A date, a day count or a calendar override file is not valid."""


class EventLogError(OnethingError, ValueError):
    """An event log (XES, OCEL, CSV) cannot be read or does not fit its procedure."""


class MissingDependency(OnethingError, RuntimeError):
    """A system package the command needs is not installed (a CJK font for charts, ...)."""


# --- running things: cases, users ----------------------------------------------------------


class NotFound(OnethingError, LookupError):
    """Something asked for by id does not exist (procedure, case, step, user)."""


class ProcedureNotFound(NotFound):
    """No procedure with that id in the catalog or the store."""


class CaseNotFound(NotFound):
    """No case with that id."""


class InvalidInput(OnethingError, ValueError):
    """A value given to a running case is not acceptable (ID number, material, reason)."""


class Conflict(OnethingError, RuntimeError):
    """The request clashes with the current state (closed case, step not ready, stale version)."""


class DecisionConflict(Conflict):
    """Somebody else decided this step first, or its version moved on."""


class Forbidden(OnethingError, PermissionError):
    """The current user's role or department does not allow this."""


class ReadOnly(Forbidden):
    """Something shared with the current user read-only: only its owner changes it."""
