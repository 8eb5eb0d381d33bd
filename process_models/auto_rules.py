"""秒批 (无人干预自动审批) rules as data: a step decided by a rule over what was submitted.

A rule file (YAML) names the procedure and step a rule decides, its id and version, and
its conditions; every condition must hold for the rule to approve the step::

    id: newborn_registration_auto
    version: "1"
    procedure: newborn
    step: household_registration
    conditions:
      - received: [birth_certificate]   # these materials were brought at the window
      - nothing_owed: true              # no 容缺 owed, no 补正 at the window

Conditions: ``received`` (material ids of the procedure), ``nothing_owed`` (``true``).
A bad file is one line naming the file, the place and the fix
(:class:`~process_models.errors.ProcedureError`).

>>> rule = parse_auto_rule('''
... id: r
... version: "1"
... procedure: newborn
... step: household_registration
... conditions: [{nothing_owed: true}]
... ''')
>>> rule.decides({"received": set(), "owed": set()}), rule.decides({"received": set(), "owed": {"x"}})
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from process_models.errors import ProcedureError, did_you_mean

__all__ = ["CONDITIONS", "AutoRule", "load_auto_rule", "parse_auto_rule"]

CONDITIONS = ("received", "nothing_owed")
_FIELDS = ("id", "version", "procedure", "step", "conditions")


@dataclass(frozen=True)
class AutoRule:
    """A 秒批 rule: it approves ``step`` of ``procedure`` when every condition holds."""

    id: str
    version: str
    procedure: str
    step: str
    received: tuple[str, ...] = ()
    nothing_owed: bool = False

    def decides(self, facts: dict[str, set[str]]) -> bool:
        """Whether the rule approves a case whose ``facts`` are ``received`` (materials
        brought at the window) and ``owed`` (容缺 owed or 补正 asked at the window)."""
        if self.nothing_owed and facts["owed"]:
            return False
        return set(self.received) <= facts["received"]


def parse_auto_rule(text: str, *, file: str | None = None) -> AutoRule:
    """The rule in ``text``, checked against its catalog procedure (step, materials)."""
    from process_models.catalog import load_catalog_procedure
    from process_models.yaml_loader import load_yaml

    data, _lines = load_yaml(text, file=file)
    if not isinstance(data, dict):
        raise ProcedureError("a 秒批 rule is a mapping of id, version, procedure, step and "
                             "conditions", file=file)
    for key in data:
        if key not in _FIELDS:
            raise ProcedureError(f"unknown field '{key}'; use {', '.join(_FIELDS)}", file=file,
                                 path=str(key), suggestion=did_you_mean(str(key), _FIELDS))
    missing = [key for key in _FIELDS if key not in data]
    if missing:
        raise ProcedureError(f"missing field '{missing[0]}'", file=file, path=missing[0])
    proc = load_catalog_procedure(str(data["procedure"]))
    steps = [s.id for s in proc.steps]
    if data["step"] not in steps:
        raise ProcedureError(f"unknown step '{data['step']}' of '{proc.id}'", file=file,
                             path="step", suggestion=did_you_mean(str(data["step"]), steps))
    found: dict[str, Any] = {}
    conditions = data["conditions"]
    if not isinstance(conditions, list) or not conditions:
        raise ProcedureError("conditions: give a list of at least one condition", file=file,
                             path="conditions")
    for i, condition in enumerate(conditions):
        where = f"conditions[{i}]"
        if not isinstance(condition, dict) or len(condition) != 1:
            raise ProcedureError(f"a condition is one key: {', '.join(CONDITIONS)}", file=file,
                                 path=where)
        (kind, value), = condition.items()
        if kind not in CONDITIONS:
            raise ProcedureError(f"unknown condition '{kind}'; use {', '.join(CONDITIONS)}",
                                 file=file, path=where,
                                 suggestion=did_you_mean(str(kind), CONDITIONS))
        found[kind] = _condition(proc, kind, value, file, f"{where}.{kind}")
    return AutoRule(id=str(data["id"]), version=str(data["version"]), procedure=proc.id,
                    step=str(data["step"]), **found)


def _condition(proc, kind: str, value: Any, file: str | None, where: str) -> Any:
    if kind == "nothing_owed":
        if value not in (True, "true"):
            raise ProcedureError("nothing_owed takes true", file=file, path=where)
        return True
    ids = value if isinstance(value, list) else [value]
    known = [m.id for m in proc.materials]
    for j, material in enumerate(ids):
        if material not in known:
            raise ProcedureError(f"unknown material '{material}' of '{proc.id}'", file=file,
                                 path=f"{where}[{j}]",
                                 suggestion=did_you_mean(str(material), known))
    return tuple(str(m) for m in ids)


def load_auto_rule(path: str | Path) -> AutoRule:
    """The 秒批 rule in the YAML file ``path`` (:func:`parse_auto_rule`)."""
    from process_models.loading import read_text

    return parse_auto_rule(read_text(Path(path)), file=str(path))
