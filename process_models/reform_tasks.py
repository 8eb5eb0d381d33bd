"""The reform programme's own ledger (宾县's 百日会战): tasks with an owner department, a
deadline and a status, coloured red (overdue), yellow (blocked) or green (on track or
done); every red and yellow task owes a written explanation.

A ledger file (YAML)::

    name: 宾县“一件事一次办”改革任务
    departments:                       # names of owners the catalog does not know (optional)
      data_bureau: 县政务服务和数据管理局
    tasks:
      - id: newborn_bundle
        title: 出生“一件事”并联办理
        owner: health                  # a catalog department, or one named under departments
        deadline: 2025-03-31
        status: on_track               # on_track, blocked or done
        scenario: newborn              # the catalog reform (catalog/reforms/<id>.yaml) it delivers
        explanation: ""                # required once the task is red or yellow

>>> ledger = parse_reform_tasks('''
... tasks:
...   - {id: a, title: 甲, owner: health, deadline: 2025-03-31, status: on_track, scenario: newborn}
...   - {id: b, title: 乙, owner: police, deadline: 2025-01-31, status: on_track}
... ''')
>>> from datetime import date
>>> [(t.id, t.colour(date(2025, 2, 1))) for t in ledger.tasks]
[('a', 'green'), ('b', 'red')]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from process_models.calendar import parse_date
from process_models.errors import ProcedureError, did_you_mean

__all__ = ["STATUSES", "ReformLedger", "ReformTask", "load_reform_tasks", "parse_reform_tasks"]

STATUSES = ("on_track", "blocked", "done")
_FIELDS = ("id", "title", "owner", "deadline", "status", "scenario", "explanation")
_REQUIRED = ("id", "title", "owner", "deadline", "status")
MAX_TASKS = 2000


@dataclass(frozen=True)
class ReformTask:
    """One task of the reform programme."""

    id: str
    title: str
    owner: str
    deadline: date
    status: str
    scenario: str | None = None
    explanation: str = ""

    def colour(self, today: date) -> str:
        """Red past its deadline and not done; yellow blocked; green otherwise."""
        if self.status != "done" and today > self.deadline:
            return "red"
        return "yellow" if self.status == "blocked" else "green"

    def explanation_missing(self, today: date) -> bool:
        """Whether the task is red or yellow without its written explanation."""
        return self.colour(today) != "green" and not self.explanation.strip()


@dataclass(frozen=True)
class ReformLedger:
    """A ledger file: its ``name``, the ``departments`` it names itself (id → name, for
    owners outside the catalog) and its ``tasks`` in file order."""

    name: str
    departments: dict[str, str]
    tasks: list[ReformTask]


def parse_reform_tasks(text: str, *, file: str | None = None) -> ReformLedger:
    """The ledger in ``text``; a fault is one line naming the file, the task and field."""
    from process_models.yaml_loader import load_yaml

    data, _lines = load_yaml(text, file=file)
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, list) or not tasks:
        raise ProcedureError("a reform-task ledger is a mapping with a list 'tasks'", file=file)
    unknown = [key for key in data if key not in ("name", "departments", "tasks")]
    if unknown:
        raise ProcedureError(f"unknown field '{unknown[0]}'; use name, departments, tasks",
                             file=file, path=str(unknown[0]),
                             suggestion=did_you_mean(str(unknown[0]), ("name", "departments")))
    departments = data.get("departments") or {}
    if not isinstance(departments, dict):
        raise ProcedureError("departments: give a mapping of department id to name",
                             file=file, path="departments")
    if len(tasks) > MAX_TASKS:
        raise ProcedureError(f"{len(tasks)} tasks; split the ledger (at most {MAX_TASKS})",
                             file=file, path="tasks")
    owners = sorted({*map(str, departments), *_catalog_departments()})
    found, seen = [], set()
    for i, task in enumerate(tasks):
        found.append(_task(task, file, f"tasks[{i}]"))
        if found[-1].id in seen:
            raise ProcedureError(f"duplicate task id '{found[-1].id}'", file=file,
                                 path=f"tasks[{i}].id")
        if found[-1].owner not in owners:
            raise ProcedureError(
                f"unknown owner '{found[-1].owner}'; use a catalog department id or name "
                "it under departments (id: name)", file=file, path=f"tasks[{i}].owner",
                suggestion=did_you_mean(found[-1].owner, owners))
        seen.add(found[-1].id)
    return ReformLedger(name=str(data.get("name") or ""),
                        departments={str(k): str(v) for k, v in departments.items()},
                        tasks=found)


@cache
def _catalog_departments() -> frozenset[str]:
    """The department ids of the catalog's procedures (owners a ledger need not name)."""
    from process_models.catalog import load_catalog

    return frozenset(d.id for proc in load_catalog() for d in proc.departments)


def _task(task: Any, file: str | None, where: str) -> ReformTask:
    if not isinstance(task, dict):
        raise ProcedureError(f"a task is a mapping of {', '.join(_FIELDS)}", file=file,
                             path=where)
    for key in task:
        if key not in _FIELDS:
            raise ProcedureError(f"unknown field '{key}'; use {', '.join(_FIELDS)}", file=file,
                                 path=f"{where}.{key}", suggestion=did_you_mean(str(key), _FIELDS))
    for key in _REQUIRED:
        if task.get(key) in (None, ""):
            raise ProcedureError(f"missing field '{key}'", file=file, path=f"{where}.{key}")
    status = str(task["status"])
    if status not in STATUSES:
        raise ProcedureError(f"unknown status '{status}'; use {', '.join(STATUSES)}",
                             file=file, path=f"{where}.status",
                             suggestion=did_you_mean(status, STATUSES))
    scenario = task.get("scenario")
    if scenario is not None:
        from process_models.catalog import catalog_reform_ids

        reforms = catalog_reform_ids()
        if str(scenario) not in reforms:
            raise ProcedureError(f"no catalog reform '{scenario}'", file=file,
                                 path=f"{where}.scenario",
                                 suggestion=did_you_mean(str(scenario), reforms))
    return ReformTask(id=str(task["id"]), title=str(task["title"]), owner=str(task["owner"]),
                      deadline=parse_date(task["deadline"], file=file,
                                          path=f"{where}.deadline"),
                      status=status, scenario=None if scenario is None else str(scenario),
                      explanation=str(task.get("explanation") or ""))


def load_reform_tasks(path: str | Path) -> ReformLedger:
    """The ledger file ``path`` (:func:`parse_reform_tasks`)."""
    from process_models.loading import read_text

    return parse_reform_tasks(read_text(Path(path)), file=str(path))
