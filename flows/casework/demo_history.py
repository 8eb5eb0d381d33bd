"""Generated case history for demos and tests: real cases, simulated staff.

:func:`demo_history` runs cases through the real case-handling operations
(:mod:`flows.casework`: ``open_case``, ``decide``, ``submit_materials``,
``advance_case``) on a simulated clock. Applicants arrive a few per working day; each
pending step is decided after a duration drawn from its ``duration`` distribution (or,
without one, around its committed limit, sometimes over it); some applicants forget a key
material at the window (补正 before acceptance), some steps ask for a material again
(补正, pausing the legal clock) and a few are rejected. Every action happens in time
order across all cases, so the audit trail reads like a real service centre's.

>>> import tempfile, pathlib
>>> from sqlmodel import Session
>>> from process_models.catalog import load_catalog_procedure
>>> from flows.casework.store import init_db, make_engine
>>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'demo.db'}")
>>> init_db(engine)
>>> with Session(engine) as session:
...     stats = demo_history(session, [load_catalog_procedure("newborn")], cases=3, seed=1)
>>> stats.cases, stats.decisions > 0
(3, True)
>>> engine.dispose()
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from process_models.procedure import Distribution, Procedure, Step

__all__ = ["DemoStats", "demo_history"]

OPEN_MINUTES = (9 * 60, 17 * 60 + 30)


@dataclass
class DemoStats:
    """What :func:`demo_history` did."""

    cases: int = 0
    decisions: int = 0
    supplements: int = 0
    rejections: int = 0
    approved: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


def _id_number(rng, n: int) -> str:
    from flows.casework.identity import check_digit

    born = date(1970, 1, 1) + timedelta(days=int(rng.integers(0, 12000)))
    first17 = f"110105{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_digit(first17)


class _Clock:
    """Service-centre time: working days from the calendar, opening hours 9:00–17:30."""

    def __init__(self, calendar: Any, rng) -> None:
        self.calendar = calendar
        self.rng = rng

    def at(self, day: date, not_before: datetime | None = None) -> datetime:
        minute = int(self.rng.integers(*OPEN_MINUTES))
        moment = datetime.combine(day, time(minute // 60, minute % 60))
        if not_before is not None and moment <= not_before:
            moment = not_before + timedelta(minutes=int(self.rng.integers(5, 60)))
        return moment

    def after(self, start: datetime, working_days: float) -> datetime:
        """A moment ``working_days`` after ``start`` (whole days on the calendar)."""
        day = self.calendar.add_working_days(start.date(), round(working_days))
        if not self.calendar.is_working_day(day):
            day = self.calendar.add_working_days(day, 1)
        return self.at(day, not_before=start)


def _duration(step: Step, rng, tables: dict[str, Any]) -> float:
    """Working days a department takes on ``step``: drawn from its distribution, or around
    its committed limit (a triangular reaching 20 % past it) when it has none."""
    from simulations.planning.montecarlo import quantile_table

    if step.id not in tables:
        dist = step.duration or (
            Distribution(kind="fixed", days=0) if step.committed.days == 0 else
            Distribution(kind="triangular", low=0.2 * step.committed.days,
                         mode=0.6 * step.committed.days, high=1.2 * step.committed.days))
        tables[step.id] = quantile_table(dist)
    table = tables[step.id]
    return float(table[int(rng.integers(len(table)))])


def demo_history(
    session: Any,
    procedures: Sequence[Procedure],
    *,
    cases: int,
    seed: int = 0,
    start: date = date(2025, 3, 3),
    cases_per_day: float = 4.0,
    window_supplement_share: float = 0.08,
    step_supplement_share: float = 0.1,
    rejection_share: float = 0.03,
) -> DemoStats:
    """Run ``cases`` cases of ``procedures`` (chosen at random) from ``start`` on."""
    import numpy as np
    from sqlmodel import select

    from flows.casework import (
        Applicant,
        advance_case,
        decide,
        notification_list,
        open_case,
        submit_materials,
    )
    from flows.casework.tables import CaseStatus, CaseStep, StepStatus
    from process_models.calendar import default_calendar

    rng = np.random.default_rng(seed)
    clock = _Clock(default_calendar(), rng)
    tables: dict[tuple[str, str], dict] = {}
    stats = DemoStats()
    queue: list[tuple[datetime, int, str, tuple]] = []
    order = 0

    def push(at: datetime, action: str, *args) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, (at, order, action, args))

    day, arrivals = start, 0
    while arrivals < cases:
        if clock.calendar.is_working_day(day):
            for _ in range(min(cases - arrivals, int(rng.poisson(cases_per_day)))):
                push(clock.at(day), "open", arrivals)
                arrivals += 1
        day += timedelta(days=1)

    scheduled: set[tuple[str, str]] = set()
    procs: dict[str, Procedure] = {}

    def schedule_pending(case_id: str, now: datetime) -> None:
        proc = procs[case_id]
        rows = session.exec(select(CaseStep).where(CaseStep.case_id == case_id,
                                                   CaseStep.status == StepStatus.PENDING)).all()
        for row in rows:
            if (case_id, row.step_id) in scheduled:
                continue
            scheduled.add((case_id, row.step_id))
            step = proc.step(row.step_id)
            took = _duration(step, rng, tables.setdefault(proc.key, {}))
            push(clock.after(now, took), "decide", case_id, row.step_id)

    while queue:
        now, _, action, args = heapq.heappop(queue)
        stats.first_at = stats.first_at or now
        stats.last_at = now
        if action == "open":
            (n,) = args
            proc = procedures[int(rng.integers(len(procedures)))]
            brought = [i.material_id for i in notification_list(proc)]
            keys = [i.material_id for i in notification_list(proc) if i.key]
            forgot = keys[int(rng.integers(len(keys)))] \
                if keys and rng.random() < window_supplement_share else None
            case = open_case(session, proc, Applicant(f"申请人{n:05d}", _id_number(rng, n)),
                             [m for m in brought if m != forgot], now=now)
            procs[case.id] = proc
            stats.cases += 1
            if forgot:
                push(clock.after(now, 1 + rng.integers(0, 4)), "bring", case.id, forgot)
            else:
                schedule_pending(case.id, now)
        elif action == "bring":
            case_id, material_id, *paused_step = args
            submit_materials(session, case_id, [material_id], now=now)
            for step_id in paused_step:
                scheduled.discard((case_id, step_id))
            advance_case(session, case_id, now=now)
            schedule_pending(case_id, now)
        elif action == "decide":
            case_id, step_id = args
            proc = procs[case_id]
            step = proc.step(step_id)
            roll = rng.random()
            asked = [m for m in step.materials if proc.material(m).provider.value == "applicant"]
            if roll < rejection_share:
                outcome, reason = "reject", "材料不符合法定条件"
            elif roll < rejection_share + step_supplement_share and asked:
                outcome, reason = "supplement", "材料需补正"
            else:
                outcome, reason = "approve", None
            ask = [asked[int(rng.integers(len(asked)))]] if outcome == "supplement" else []
            decide(session, case_id, step_id, outcome, department_id=step.department,
                   decided_by=f"{step.department}-staff-{int(rng.integers(1, 4))}",
                   reason=reason, materials=ask, now=now)
            stats.decisions += 1
            if outcome == "supplement":
                stats.supplements += 1
                push(clock.after(now, 1 + rng.integers(0, 5)), "bring", case_id, ask[0], step_id)
                continue
            stats.rejections += outcome == "reject"
            result = advance_case(session, case_id, now=now)
            if result.closed:
                stats.approved += result.status == CaseStatus.APPROVED
            else:
                schedule_pending(case_id, now)
    return stats
