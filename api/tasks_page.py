"""The reform-task ledger page (宾县's 百日会战 board beside the planner's scenarios): each
task with its owner department, deadline, colour chip and written explanation (a red or
yellow task without one is flagged), linked to the planner page of the reform it
delivers; an XLSX download of the same table. The lines come from
:func:`api.reform_ledger.ledger_lines`, as ``GET /api/reform-tasks`` gives them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import PageUser
from api.page_kit import error_page, gate, language, render
from api.reform_ledger import configured_ledger, ledger_day, ledger_lines, ledger_xlsx
from process_models.errors import OnethingError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/reform-tasks")
def read_reform_tasks(request: Request, user: PageUser, on: str = "") -> Response:
    """The reform programme's tasks, red / yellow / green, with their explanations."""
    if refused := gate(request, user, "reform_tasks:read"):
        return refused
    from process_models.settings import settings

    if settings.reform_tasks_file is None:   # the page says how to set one
        return render(request, "reform_tasks.html", user, ledger=None)
    try:
        day = ledger_day(on)
        ledger = configured_ledger()
    except OnethingError as error:
        return error_page(request, user, error)
    lines = ledger_lines(ledger, day, language(request))
    return render(request, "reform_tasks.html", user, ledger=ledger, lines=lines, on=day,
                  owed=sum(line["explanation_missing"] for line in lines))


@router.get("/reform-tasks.xlsx")
def download_reform_tasks(request: Request, user: PageUser, on: str = "") -> Response:
    """The ledger's table as XLSX, in the page's language."""
    if refused := gate(request, user, "reform_tasks:read"):
        return refused
    try:
        return ledger_xlsx(configured_ledger(), ledger_day(on), language(request))
    except OnethingError as error:
        return error_page(request, user, error)
