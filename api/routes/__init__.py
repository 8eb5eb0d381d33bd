"""The API's routers, gathered in :data:`api_router` (mounted under ``/api``)."""

from fastapi import APIRouter

from api.routes import audit, cases, login, procedures, simulations

api_router = APIRouter()
for module in (login, procedures, simulations, cases, audit):
    api_router.include_router(module.router)

__all__ = ["api_router"]
