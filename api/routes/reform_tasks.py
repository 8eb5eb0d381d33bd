"""The reform programme's task ledger (``settings.reform_tasks_file``): each task's owner,
deadline, colour, written explanation and the catalog reform it delivers, as JSON or XLSX
(the lines of :func:`api.reform_ledger.ledger_lines`, as the page shows them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import allowed
from api.reform_ledger import configured_ledger, ledger_day, ledger_lines, ledger_xlsx
from api.routes.audit import JSON_OR_XLSX
from flows.casework.accounts import User

router = APIRouter(tags=["reform tasks"])


@router.get("/reform-tasks", responses=JSON_OR_XLSX)
def read_reform_tasks(
    user: Annotated[User, Depends(allowed("reform_tasks:read"))],
    on: Annotated[date | None, Query(description="the day to colour on (default today)")] = None,
    report_format: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
) -> Any:
    """The reform-task ledger: red overdue, yellow blocked, green; explanations owed."""
    ledger = configured_ledger()
    day = on or ledger_day(None)
    if report_format == "xlsx":
        return ledger_xlsx(ledger, day, lang)
    return {"name": ledger.name, "on": day, "tasks": ledger_lines(ledger, day, lang)}
