"""The basis of every number in a procedure: one census for every output that shows it.

:func:`numbers` lists each limit, untimed part, lag, dependency kind, material count,
trips, 环节 (links), fee and ``commitment_allowed`` with its :class:`~process_models.procedure.Basis`
and source; a number whose basis is not stated counts as an estimate. ``show --json``,
``export-table``, ``audit report`` and ``validate --strict`` all read it.

>>> from process_models.catalog import load_catalog_procedure
>>> print(sourced_line([load_catalog_procedure("restaurant")]))
有来源的承诺时限 0/5 (0%)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from process_models.errors import UnsourcedNumber
from process_models.procedure import Basis, Limit, Procedure, Step

__all__ = ["Number", "basis_data", "check_sourced", "numbers", "sourced_count", "sourced_line",
           "step_numbers"]


@dataclass(frozen=True)
class Number:
    """One number of a procedure: ``where`` it is (``steps[s].committed``), its value, its
    basis and source, and whether the file stated the basis (else it is an estimate)."""

    where: str
    value: Any
    basis: Basis
    source: str | None
    stated: bool

    @property
    def sourced(self) -> bool:
        return self.basis is Basis.sourced

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "basis": self.basis.value, "source": self.source,
                "stated": self.stated}


def _number(where: str, value: Any, basis: Basis | None, source: str | None) -> Number:
    return Number(where, value, basis or Basis.estimate, source, basis is not None)


def _limit(where: str, limit: Limit) -> Number:
    return _number(where, limit.days, limit.basis, limit.source)


def step_numbers(step: Step) -> list[Number]:
    """The numbers of one step: statutory and committed limits, untimed parts, each
    dependency's kind and lag, trips, links, ``commitment_allowed`` and the fee (when the
    model gives one)."""
    at = f"steps[{step.id}]"
    out = []
    if step.statutory is not None:
        out.append(_limit(f"{at}.statutory", step.statutory))
    out.append(_limit(f"{at}.committed", step.committed))
    out += [_number(f"{at}.untimed[{i}]", u.days, u.basis, u.source)
            for i, u in enumerate(step.untimed)]
    for d in step.depends_on:
        out.append(_number(f"{at}.depends_on[{d.step}].kind", d.kind.value, d.basis, d.source))
        if d.lag is not None:
            out.append(_limit(f"{at}.depends_on[{d.step}].lag", d.lag))
    for figure in ("trips", "links", "commitment_allowed", "fee_yuan"):
        if figure == "fee_yuan" and step.fee_yuan is None:
            continue
        p = step.provenance.get(figure)
        out.append(_number(f"{at}.{figure}", getattr(step, figure),
                           p.basis if p else None, p.source if p else None))
    return out


def numbers(proc: Procedure) -> list[Number]:
    """Every number of ``proc`` with its basis: each step's, then each material's count."""
    out = [n for s in proc.steps for n in step_numbers(s)]
    out += [_number(f"materials[{m.id}].count", m.count, m.basis, m.source)
            for m in proc.materials]
    return out


def basis_data(proc: Procedure) -> dict[str, dict[str, Any]]:
    """``{where: {value, basis, source, stated}}`` for every number: what JSON outputs carry
    beside the procedure."""
    return {n.where: n.as_dict() for n in numbers(proc)}


def sourced_count(procs: Iterable[Procedure]) -> tuple[int, int]:
    """(sourced, all) committed limits over ``procs``, follow-up checks included."""
    limits = [s.committed for p in procs for s in p.steps]
    return sum(limit.basis is Basis.sourced for limit in limits), len(limits)


def sourced_line(procs: Iterable[Procedure], *, language: str = "zh") -> str:
    """The closing line of every report: how many committed limits have a source.

    >>> sourced_line([], language="en")
    'sourced committed limits 0/0'
    """
    sourced, total = sourced_count(procs)
    share = f" ({sourced / total:.0%})" if total else ""
    label = "有来源的承诺时限" if language == "zh" else "sourced committed limits"
    return f"{label} {sourced}/{total}{share}"


def check_sourced(proc: Procedure, *, file: str | None = None) -> Procedure:
    """``proc`` itself, unless it claims to be published data (``status: published``) and a
    number in it has no source: then :class:`UnsourcedNumber` names the first one (a
    published number needs ``basis: sourced`` and a ``source``).

    >>> p = Procedure(id="p", name="P", status="published", steps=[Step(id="a", name="A",
    ...     department="d", committed=Limit(days=3, basis="S", source="办事指南"))])
    >>> check_sourced(p)
    Traceback (most recent call last):
    ...
    process_models.errors.UnsourcedNumber: steps[a].trips: 0 is estimate (no basis stated), no source (2 more); a file with status: published needs basis: sourced and a source for every number, or drop status: published
    """
    if proc.status != "published":
        return proc
    missing = [n for n in numbers(proc) if not (n.sourced and n.source)]
    if missing:
        first = missing[0]
        more = f" ({len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UnsourcedNumber(
            f"{first.value} is {first.basis.value}"
            f"{'' if first.stated else ' (no basis stated)'}{'' if first.source else ', no source'}"
            f"{more}; a file with status: published needs basis: sourced and a source "
            "for every number, or drop status: published", file=file, path=first.where)
    return proc
