"""The API's routers, gathered in :data:`api_router` (mounted under ``/api``).

The cases come first: their reads are the busiest requests, and a request tries the
routes in order until one matches."""

from fastapi import APIRouter

from api.routes import (
    audit,
    cases,
    login,
    procedures,
    ratings,
    reform_tasks,
    simulations,
    supervision,
    workspace,
)

api_router = APIRouter()
for module in (cases, ratings, login, procedures, simulations, audit, supervision, workspace,
               reform_tasks):
    api_router.include_router(module.router)

__all__ = ["api_router"]
