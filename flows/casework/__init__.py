"""The running case and its record: tables, operations, the audit chain, accounts.

Imports ``process_models`` and ``simulations``, never Prefect, FastAPI or ``api``: staff
reads and the CLI stay fast. See README.md.
"""

from flows.casework.operations import (
    ADVANCE_BATCH_CASES,
    CHANGE_MARKER,
    DEFERRAL_WORKING_DAYS,
    SWEEP_BATCH_CASES,
    AdvanceResult,
    Applicant,
    ChainReport,
    NoticeItem,
    StatusChange,
    advance_case,
    advance_cases,
    case_colour,
    decide,
    lock_chain,
    mark_processed,
    notification_list,
    open_case,
    pending_outbox,
    resolve_procedure,
    step_colour,
    store_procedure,
    submit_materials,
    sweep,
    verify_chain,
    withdraw_case,
)
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
