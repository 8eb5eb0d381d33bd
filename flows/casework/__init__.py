"""The running case and its record: tables, operations, the audit chain, accounts.

Imports ``process_models`` and ``simulations``, never Prefect, FastAPI or ``api``: staff
reads and the CLI stay fast. See README.md.
"""

from flows.casework._rows import lock_chain
from flows.casework.audit_chain import CHANGE_MARKER, ChainReport, verify_chain
from flows.casework.colours import SWEEP_BATCH_CASES, StatusChange, case_colour, step_colour, sweep
from flows.casework.definitions import resolve_procedure, store_procedure
from flows.casework.due_dates import DEFERRAL_WORKING_DAYS
from flows.casework.notice import NoticeItem, notification_list
from flows.casework.operations import (
    ADVANCE_BATCH_CASES,
    AdvanceResult,
    Applicant,
    advance_case,
    advance_cases,
    decide,
    open_case,
    submit_materials,
    withdraw_case,
)
from flows.casework.outbox import mark_processed, pending_outbox
from flows.casework.store import init_db, make_engine

__all__ = [
    "ADVANCE_BATCH_CASES",
    "CHANGE_MARKER",
    "DEFERRAL_WORKING_DAYS",
    "SWEEP_BATCH_CASES",
    "AdvanceResult",
    "Applicant",
    "ChainReport",
    "NoticeItem",
    "StatusChange",
    "advance_case",
    "advance_cases",
    "case_colour",
    "decide",
    "init_db",
    "lock_chain",
    "make_engine",
    "mark_processed",
    "notification_list",
    "open_case",
    "pending_outbox",
    "resolve_procedure",
    "step_colour",
    "store_procedure",
    "submit_materials",
    "sweep",
    "verify_chain",
    "withdraw_case",
]
