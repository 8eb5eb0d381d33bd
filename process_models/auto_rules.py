"""秒批 (无人干预自动审批) rules as data: a step decided by a rule over the submitted and
shared data.

A rule file (YAML) names the procedure and step a rule decides, its id and version, and
its conditions; every condition must hold for the rule to approve the step::

    id: newborn_registration_auto
    version: "1"
    procedure: newborn
    step: household_registration
    conditions:
      - received: [birth_certificate]   # these materials were brought at the window
      - nothing_owed: true              # no 容缺 owed, no 补正 at the window
      - shared: [household_book]        # this material came by 数据共享 in the case's version
      - field: {name: applicant_kind, equals: person}
      - field: {name: applicant_age, at_least: 18}
      - field: {name: applicant_region, in: ["110105", "110106"]}

Conditions: ``received`` and ``shared`` (material ids of the procedure), ``nothing_owed``
(``true``) and ``field`` over a submitted field of the case (:data:`CASE_FIELDS`) with one
test of :data:`FIELD_TESTS`. A field the case does not have (an enterprise's age) fails
every test. A bad file is one line naming the file, the line, the place and the fix
(:class:`~process_models.errors.ProcedureError`).

>>> rule = parse_auto_rule('''
... id: r
... version: "1"
... procedure: newborn
... step: household_registration
... conditions: [{nothing_owed: true}, {field: {name: applicant_age, at_least: 18}}]
... ''')
>>> adult = CaseFacts(fields={"applicant_kind": "person", "applicant_age": 30})
>>> rule.decides(adult), rule.decides(CaseFacts(owed=frozenset({"x"}), fields=adult.fields))
(True, False)
>>> rule.decides(CaseFacts(fields={"applicant_kind": "enterprise"}))
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from process_models.errors import ProcedureError, did_you_mean

__all__ = ["CASE_FIELDS", "CONDITIONS", "FIELD_TESTS", "AutoRule", "CaseFacts", "FieldTest",
           "load_auto_rule", "parse_auto_rule"]

CONDITIONS = ("received", "nothing_owed", "shared", "field")
CASE_FIELDS = {
    "applicant_kind": "text",     # person or enterprise, as submitted at the window
    "applicant_age": "number",    # whole years on the day received, from the ID number's birth date
    "applicant_region": "text",   # 行政区划代码 (6 digits) of the ID number or 统一社会信用代码
}
"""The submitted fields a ``field`` condition reads, and whether each is text or a number."""
FIELD_TESTS = ("equals", "in", "at_least", "at_most")
_NUMBER_TESTS = ("at_least", "at_most")
_FIELDS = ("id", "version", "procedure", "step", "conditions")
MAX_CONDITIONS = 50
MAX_CHOICES = 500


@dataclass(frozen=True)
class CaseFacts:
    """What a rule sees of a case: materials ``received`` at the window, materials ``owed``
    (容缺 owed, or 补正 asked for at the window), materials ``shared`` (数据共享 in the
    case's procedure version) and its submitted ``fields`` (:data:`CASE_FIELDS`)."""

    received: frozenset[str] = frozenset()
    owed: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()
    fields: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldTest:
    """A ``field`` condition: the case's field ``name`` passes ``test`` against ``value``.

    >>> FieldTest("applicant_region", "in", ("110105",)).holds({"applicant_region": "110105"})
    True
    """

    name: str
    test: str
    value: Any

    def holds(self, fields: Mapping[str, str | int]) -> bool:
        """Whether the case's ``fields`` pass; a field the case lacks passes nothing."""
        found = fields.get(self.name)
        if found is None:
            return False
        if self.test == "equals":
            return found == self.value
        if self.test == "in":
            return found in self.value
        return found >= self.value if self.test == "at_least" else found <= self.value


@dataclass(frozen=True)
class AutoRule:
    """A 秒批 rule: it approves ``step`` of ``procedure`` when every condition holds."""

    id: str
    version: str
    procedure: str
    step: str
    received: tuple[str, ...] = ()
    nothing_owed: bool = False
    shared: tuple[str, ...] = ()
    fields: tuple[FieldTest, ...] = ()

    def decides(self, facts: CaseFacts) -> bool:
        """Whether the rule approves a case with these ``facts``."""
        if self.nothing_owed and facts.owed:
            return False
        return (set(self.received) <= facts.received and set(self.shared) <= facts.shared
                and all(test.holds(facts.fields) for test in self.fields))


def parse_auto_rule(text: str, *, file: str | None = None) -> AutoRule:
    """The rule in ``text``, checked against its catalog procedure (step, materials)."""
    from process_models.catalog import load_catalog_procedure
    from process_models.yaml_loader import load_yaml

    data, lines = load_yaml(text, file=file)
    if not isinstance(data, dict):
        raise ProcedureError("a 秒批 rule is a mapping of id, version, procedure, step and "
                             "conditions", file=file)
    for key in data:
        if key not in _FIELDS:
            raise ProcedureError(f"unknown field '{key}'; use {', '.join(_FIELDS)}", file=file,
                                 line=lines.get((key,)), path=str(key),
                                 suggestion=did_you_mean(str(key), _FIELDS))
    missing = [key for key in _FIELDS if key not in data]
    if missing:
        raise ProcedureError(f"missing field '{missing[0]}'", file=file, path=missing[0])
    proc = load_catalog_procedure(str(data["procedure"]))
    steps = [s.id for s in proc.steps]
    if data["step"] not in steps:
        raise ProcedureError(f"unknown step '{data['step']}' of '{proc.id}'", file=file,
                             line=lines.get(("step",)), path="step",
                             suggestion=did_you_mean(str(data["step"]), steps))
    conditions = data["conditions"]
    if not isinstance(conditions, list) or not 0 < len(conditions) <= MAX_CONDITIONS:
        raise ProcedureError(f"conditions: give a list of 1 to {MAX_CONDITIONS} conditions",
                             file=file, line=lines.get(("conditions",)), path="conditions")
    found: dict[str, Any] = {"received": (), "shared": (), "fields": ()}
    for i, condition in enumerate(conditions):
        where = _Place(file, lines, ("conditions", i))
        if not isinstance(condition, dict) or len(condition) != 1:
            raise where.error(f"a condition is one key: {', '.join(CONDITIONS)}")
        (kind, value), = condition.items()
        if kind not in CONDITIONS:
            raise where.error(f"unknown condition '{kind}'; use {', '.join(CONDITIONS)}",
                              suggestion=did_you_mean(str(kind), CONDITIONS))
        where = where / kind
        if kind == "nothing_owed":
            if value not in (True, "true"):
                raise where.error("nothing_owed takes true")
            found["nothing_owed"] = True
        elif kind == "field":
            found["fields"] += (_field_test(value, where),)
        else:
            found[kind] += _materials(proc, value, where)
    return AutoRule(id=str(data["id"]), version=str(data["version"]), procedure=proc.id,
                    step=str(data["step"]), **found)


@dataclass(frozen=True)
class _Place:
    """Where in a rule file a value is, for located errors."""

    file: str | None
    lines: Mapping[tuple, int]
    loc: tuple

    def __truediv__(self, key: Any) -> _Place:
        return _Place(self.file, self.lines, (*self.loc, key))

    def error(self, message: str, suggestion: str | None = None) -> ProcedureError:
        path = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.loc)
        return ProcedureError(message, file=self.file, line=self._line(),
                              path=path.removeprefix("."), suggestion=suggestion)

    def _line(self) -> int | None:
        loc = self.loc
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc)


def _materials(proc, value: Any, where: _Place) -> tuple[str, ...]:
    ids = value if isinstance(value, list) else [value]
    known = [m.id for m in proc.materials]
    for j, material in enumerate(ids):
        if material not in known:
            raise (where / j).error(f"unknown material '{material}' of '{proc.id}'",
                                    suggestion=did_you_mean(str(material), known))
    return tuple(str(m) for m in ids)


def _field_test(value: Any, where: _Place) -> FieldTest:
    """``{name: FIELD, TEST: VALUE}`` checked: a known field, one known test, a value of
    the field's type (a list of them for ``in``)."""
    if not isinstance(value, dict) or "name" not in value or len(value) != 2:
        raise where.error(f"a field condition is {{name: FIELD, TEST: VALUE}} with one TEST "
                          f"of {', '.join(FIELD_TESTS)}")
    name = str(value["name"])
    if name not in CASE_FIELDS:
        raise (where / "name").error(f"unknown field '{name}'; use {', '.join(CASE_FIELDS)}",
                                     suggestion=did_you_mean(name, CASE_FIELDS))
    (test, wanted), = ((k, v) for k, v in value.items() if k != "name")
    if test not in FIELD_TESTS:
        raise (where / test).error(f"unknown test '{test}'; use {', '.join(FIELD_TESTS)}",
                                   suggestion=did_you_mean(str(test), FIELD_TESTS))
    number = CASE_FIELDS[name] == "number"
    if test in _NUMBER_TESTS and not number:
        raise (where / test).error(f"{test} compares numbers; '{name}' is text: use equals or in")
    items = wanted if test == "in" else [wanted]
    if test == "in" and not (isinstance(wanted, list) and 0 < len(wanted) <= MAX_CHOICES):
        raise (where / test).error(f"in takes a list of 1 to {MAX_CHOICES} values")
    for j, item in enumerate(items):
        if number and (isinstance(item, bool) or not isinstance(item, int)):
            raise (where / test / j if test == "in" else where / test).error(
                f"'{item}' is not a whole number; '{name}' is one (e.g. 18)")
    checked = tuple(i if number else str(i) for i in items)
    return FieldTest(name, test, checked if test == "in" else checked[0])


def load_auto_rule(path: str | Path) -> AutoRule:
    """The 秒批 rule in the YAML file ``path`` (:func:`parse_auto_rule`)."""
    from process_models.loading import read_text

    return parse_auto_rule(read_text(Path(path)), file=str(path))
