"""Due dates on the working-day calendar: a step's, the case's, and when a step is ready.

A step's clock starts on the acceptance day, or the day its last dependency was approved
(plus lag); due = start + committed limit + untimed parts (+ 补正 pauses), the start day
not counted.
"""

from __future__ import annotations

import graphlib
from datetime import date

from process_models.calendar import default_calendar
from process_models.procedure import Procedure, Step, Unit

__all__ = [
    "DEFERRAL_WORKING_DAYS",
]

DEFERRAL_WORKING_DAYS = 5
"""Working days an applicant has to bring a material owed under 容缺受理."""


def _after(day: date, days: float, unit: Unit) -> date:
    calendar = default_calendar()
    if unit is Unit.working:
        return calendar.add_working_days(day, days)
    return calendar.add_calendar_days(day, days)


def step_due(step: Step, start_day: date, paused_working_days: int = 0) -> date:
    """Committed due date: the limit plus untimed parts (公示 ...) plus 补正 pauses."""
    due = _after(start_day, step.committed.days + step.untimed_days(step.committed.unit),
                 step.committed.unit)
    other = Unit.calendar if step.committed.unit is Unit.working else Unit.working
    if step.untimed_days(other):
        due = _after(due, step.untimed_days(other), other)
    if paused_working_days:
        due = default_calendar().add_working_days(due, paused_working_days)
    return due


def _members(proc: Procedure, target: str) -> tuple[list[str], bool]:
    """The steps of a case a dependency target stands for (itself, or a stage's milestones)
    and whether one of them is enough (a stage joining on ``any``)."""
    active = {s.id for s in proc.applicant_steps}
    for stage in proc.stages:
        if stage.id == target:
            members = [m for m in (stage.milestones or stage.steps) if m in active]
            return members, stage.join.value == "any"
    return ([target] if target in active else []), False


def dependency_day(proc: Procedure, target: str, finished: dict[str, date]) -> date | None:
    """When a dependency target (step or stage) completed, or ``None`` while it has not.

    A target standing for no step of the case (a follow-up check) never holds anything up.
    """
    members, any_one = _members(proc, target)
    if not members:
        return date.min
    done = [finished[m] for m in members if m in finished]
    if any_one:
        return min(done) if done else None
    return max(done) if len(done) == len(members) else None


def ready_day(proc: Procedure, step: Step, finished: dict[str, date], accepted: date):
    """The day ``step``'s clock starts (after every dependency and its lag), or ``None``."""
    day = accepted
    for dependency in step.depends_on:
        done = dependency_day(proc, dependency.step, finished)
        if done is None:
            return None
        if done == date.min:
            continue
        if dependency.lag is not None:
            done = _after(done, dependency.lag.days, dependency.lag.unit)
        day = max(day, done)
    return day


def planned_due_date(proc: Procedure, accepted: date, paused: dict[str, int]) -> date:
    """The case's committed due date: every step on its limit (plus pauses), in order."""
    steps = {s.id: s for s in proc.applicant_steps}
    order = graphlib.TopologicalSorter()
    for step in steps.values():
        order.add(step.id, *[m for d in step.depends_on for m in _members(proc, d.step)[0]])
    finished: dict[str, date] = {}
    for step_id in order.static_order():
        start = ready_day(proc, steps[step_id], finished, accepted)
        finished[step_id] = step_due(steps[step_id], start, paused.get(step_id, 0))
    return max(finished.values(), default=accepted)
