"""Case handling on Prefect: short flows started by events, the database as the record.

Staff actions commit in the database first (:mod:`flows.casework`: a decision
is one transaction that also writes an :class:`~flows.casework.tables.Outbox` row); then
an :func:`advance` run is requested (:func:`request_advance`). One run drains the pending
outbox rows of MANY cases at once, mapping :func:`advance_cases` tasks over groups of
cases, then marks the rows processed, so throughput grows with load instead of paying
one flow run per transition. Nobody waits inside Prefect: a case waiting on people is
only rows in the database.

Crash safety: every row stays pending until the run that handled it marks it processed.
If a process dies after a commit and before (or during) the run, :func:`relay_once`
(run in a loop by ``onething serve`` and ``onething worker``, :func:`relay_in_background`)
finds the rows left behind and starts another run. Handling a row twice is harmless: :func:`~flows.casework.advance_case` is
idempotent, certificates are unique per (case, step, name) in the database, and each
:func:`advance_cases` task is cached under a key naming its outbox rows (case, step,
decision), so a retried run returns the recorded result instead of doing the work again.

Two modes from the same code (``ONETHING_PREFECT_MODE``): ``embedded`` runs the flows
in this process on Prefect's ephemeral API; ``server`` starts them through deployments
on a Prefect server, where the workers of the ``onething`` work pool run them, each in its
own process (:class:`flows.worker.InProcessWorker`, :func:`flows.worker.deploy`,
``scripts/production.sh``).

>>> sorted(ADVANCING_KINDS)
['case_opened', 'decision', 'materials_submitted']
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped
from prefect.futures import wait
from sqlmodel import Session, col, select

from flows import casework
from flows.casework.outbox import ADVANCING_KINDS
from flows.casework.tables import Outbox
from flows.handoff import (
    advanced_message,
    engine_for,
    not_advanced_message,
    open_here,
    prefect_served_here,
    relay_beacon,
)
from process_models.settings import settings

__all__ = [
    "ADVANCING_KINDS",
    "DEPLOYMENT_NAME",
    "FLOWS",
    "WORK_POOL",
    "AdvanceSummary",
    "advance",
    "advance_after_commit",
    "advance_cases",
    "embedded_api",
    "open_case",
    "quiet_runs",
    "relay_in_background",
    "relay_once",
    "request_advance",
    "run_flow",
    "run_open_case",
    "run_relay",
    "sla_sweep",
]

WORK_POOL = "onething"
DEPLOYMENT_NAME = "onething"
ROOT = Path(__file__).resolve().parent.parent
CASES_PER_TASK = 100
"""Cases one :func:`advance_cases` task handles (in transactions of
:data:`~flows.casework.advancing.ADVANCE_BATCH_CASES`), so Prefect's per-task cost (tens of
milliseconds) is shared by many cases."""

log = logging.getLogger(__name__)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


# --- advance: drain the outbox ------------------------------------------------------------


def _work_key(_context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of one :func:`advance_cases` task: its database and outbox rows.

    Each row names one event of one case (an opening, a decision on a step, materials
    brought), so the key stands for (case, step, decision). ``created_at`` is part of it
    so that a database emptied and refilled never meets an old key.
    """
    rows = ";".join(f"{r['id']}:{r['case_id']}:{r['created_at']}" for r in parameters["work"])
    text = f"{parameters.get('database_url') or settings.effective_database_url}|{rows}"
    return "advance-" + hashlib.sha256(text.encode()).hexdigest()


@task(
    cache_key_fn=_work_key,
    cache_expiration=timedelta(days=7),
    persist_result=True,
    result_serializer="json",
    retries=2,
    retry_delay_seconds=1,
    task_run_name="advance-cases",
)
def advance_cases(
    work: list[dict[str, Any]], database_url: str | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Advance every case named in ``work`` (outbox rows as dicts) once, in row order
    (:func:`~flows.casework.advance_cases`: one transaction per batch of cases).

    Returns one dict per case: ``case_id``, ``status``, ``started``, ``certificates`` and
    ``closed`` (whether this call closed it).
    """
    with Session(engine_for(database_url)) as session:
        results = casework.advance_cases(session, [r["case_id"] for r in work],
                                         now=_now(now))
    return [{"case_id": r.case_id, "status": r.status, "started": list(r.started),
             "certificates": list(r.certificates), "closed": r.closed} for r in results]


@dataclass(frozen=True)
class AdvanceSummary:
    """What one :func:`advance` run did."""

    rows: int
    cases: int
    closed: int
    certificates: int

    def as_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "cases": self.cases, "closed": self.closed,
                "certificates": self.certificates}


def _row(row: Outbox) -> dict[str, Any]:
    return {"id": row.id, "case_id": row.case_id, "kind": row.kind,
            "created_at": row.created_at.isoformat()}


def _groups(rows: Sequence[Outbox], cases_per_task: int) -> list[list[dict[str, Any]]]:
    """Advancing rows grouped by case, ``cases_per_task`` cases to a group.

    >>> from datetime import datetime
    >>> rows = [Outbox(id=i, case_id=c, kind="decision", created_at=datetime(2025, 1, 24))
    ...         for i, c in enumerate("AABCA", 1)]
    >>> [[(r["id"], r["case_id"]) for r in g] for g in _groups(rows, 2)]
    [[(1, 'A'), (2, 'A'), (5, 'A'), (3, 'B')], [(4, 'C')]]
    """
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.kind in ADVANCING_KINDS:
            by_case.setdefault(row.case_id, []).append(_row(row))
    cases = list(by_case.values())
    return [
        [r for case_rows in cases[i:i + cases_per_task] for r in case_rows]
        for i in range(0, len(cases), cases_per_task)
    ]


@flow(name="advance", persist_result=False, log_prints=False)
async def advance(
    database_url: str | None = None,
    limit: int = 5000,
    cases_per_task: int = CASES_PER_TASK,
    now: datetime | None = None,
) -> dict[str, int]:
    """Drain up to ``limit`` pending outbox rows: advance their cases, mark them processed,
    and with them the notice rows pending when the cases are done, the run's own included.

    Rows of cases whose task failed stay pending for the next run (or the relay).
    """
    engine = engine_for(database_url)
    with Session(engine) as session:
        rows = casework.pending_outbox(session, limit)
    groups = _groups(rows, cases_per_task)
    futures = advance_cases.map(work=groups, database_url=unmapped(database_url),
                                now=unmapped(now))
    wait(futures)
    done_cases: set[str] = set()
    results: list[dict[str, Any]] = []
    for future in futures:
        if future.state.is_completed():
            case_results = future.result()
            results += case_results
            done_cases.update(r["case_id"] for r in case_results)
    with Session(engine) as session:
        settled = casework.settle_outbox(session, rows, done_cases, limit=limit,
                                         now=_now(now))
    failed = len(futures) - sum(f.state.is_completed() for f in futures)
    if failed:
        log.warning("advance: %d of %d task(s) failed; their rows stay pending", failed,
                    len(futures))
    return AdvanceSummary(
        rows=settled, cases=len(results),
        closed=sum(r["closed"] for r in results),
        certificates=sum(len(r["certificates"]) for r in results),
    ).as_dict()


# --- open_case and sla_sweep ---------------------------------------------------------------


@task(persist_result=False, retries=0)
def open_one(
    procedure_id: str, applicant: dict[str, str | None], submitted: list[str],
    database_url: str | None, now: datetime | None, version: str | None = None,
) -> dict[str, Any]:
    """Open one case at the window (:func:`flows.handoff.open_here`)."""
    return open_here(procedure_id, applicant, submitted, database_url, now, version)


@flow(name="open_case", persist_result=False)
async def open_case(
    procedure_id: str,
    applicant: dict[str, str | None],
    submitted: list[str],
    database_url: str | None = None,
    now: datetime | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Open a case (一窗受理): check the applicant and materials, start the ready steps.
    ``version`` ``None`` opens the published (else the reformed) bundle, ``"before"`` the
    procedure before its reform.

    Opening is not retried: a second attempt after an unknown outcome could open the
    case twice; the caller sees the error instead.
    """
    return open_one(procedure_id, applicant, submitted, database_url, now, version)


@flow(name="sla_sweep", persist_result=False)
async def sla_sweep(database_url: str | None = None, now: datetime | None = None
                    ) -> dict[str, int]:
    """Recolour every open case and step (red / yellow / green); escalate new reds (督办)."""
    with Session(engine_for(database_url)) as session:
        changes = casework.sweep(session, now=_now(now))
    return {
        "changes": len(changes),
        "red": sum(c.after == "red" for c in changes),
        "yellow": sum(c.after == "yellow" for c in changes),
        "green": sum(c.after == "green" for c in changes),
        "escalated": sum(c.escalated for c in changes),
    }


# --- starting runs in either mode ---------------------------------------------------------


def run_flow(flow_fn, /, **parameters) -> Any:
    """Run one of the flows above in this process and return its result (embedded mode)."""
    return asyncio.run(flow_fn(**parameters))


def quiet_runs():
    """Prefect's flow and task run loggers off while flows start here: a domain error reaches
    the caller (an HTTP answer, the CLI's one line) as itself, not as a run log."""
    from prefect.logging import disable_run_logger

    return disable_run_logger()


def run_open_case(procedure_id: str, applicant: dict[str, str | None], submitted: list[str],
                  database_url: str | None = None, version: str | None = None
                  ) -> dict[str, Any]:
    """Open a case through :func:`open_case`, here and now, its run logs off.

    A malformed ID number (or an enterprise's 统一社会信用代码) is refused before the flow
    (and, in a fresh process, Prefect) starts; everything else is checked in the flow.
    """
    casework.Applicant(**applicant).checked_number(None)
    with quiet_runs():
        return run_flow(open_case, procedure_id=procedure_id, applicant=applicant,
                        submitted=submitted, database_url=database_url, version=version)


def _deployment(flow_name: str) -> str:
    return f"{flow_name}/{DEPLOYMENT_NAME}"


def _advance_queued(client) -> bool:
    """Whether an ``advance`` run is already scheduled or pending on the server (runs of
    the other flows, such as the sweep's schedule, do not count)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return bool(client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[advance.name])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING]))),
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[DEPLOYMENT_NAME])),
        limit=1,
    ))


def request_advance(database_url: str | None = None, *, coalesce: bool = True) -> str:
    """Have the pending outbox rows handled; call after committing a change.

    Embedded mode runs :func:`advance` here and now. Server mode starts it through its
    deployment without waiting (one API client for the check and the start); with
    ``coalesce`` no run is added while one is still queued (that run will drain this
    change too). Returns what happened, for logs.
    """
    if settings.prefect_mode == "embedded":
        summary = run_flow(advance, database_url=database_url)
        return advanced_message(summary["cases"])
    from prefect import get_client

    with get_client(sync_client=True) as client:
        if coalesce and _advance_queued(client):
            return "an advance run is already queued"
        deployment = client.read_deployment_by_name(_deployment(advance.name))
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters={"database_url": database_url} if database_url else {})
    return f"started advance run {run.name}"


def advance_after_commit(database_url: str | None = None) -> str:
    """:func:`request_advance` after a change has committed, its run logs off; what happened.

    The committed change is the record. If the advance cannot be had now (Prefect
    unreachable, a run breaking down outside the domain), the change still stands and its
    outbox row stays pending for the relay (:func:`relay_once`): this logs the failure and
    says so instead of raising, so the caller answers for what was recorded.
    """
    try:
        with quiet_runs():
            return request_advance(database_url)
    except Exception as error:  # noqa: BLE001  (committed; the relay retries its rows)
        log.warning("advance after a committed change failed (%s: %s); its outbox rows stay "
                    "pending for the relay", type(error).__name__, error)
        return not_advanced_message()


def relay_once(database_url: str | None = None, *, grace_seconds: float = 5.0,
               now: datetime | None = None) -> int:
    """Start a run for advancing rows a crash or a lost request left pending.

    Rows younger than ``grace_seconds`` are left to the run their writer requested. The
    run's own logs are off (:func:`quiet_runs`): a busy relay starts runs back to back.
    Returns how many rows were found.
    """
    from flows.casework.tables import aware_time

    cutoff = aware_time(_now(now)) - timedelta(seconds=grace_seconds)
    with Session(engine_for(database_url)) as session:
        stale = session.exec(
            select(Outbox.id).where(col(Outbox.processed_at).is_(None),
                                    col(Outbox.created_at) <= cutoff)
        ).all()
    if stale:
        with quiet_runs():
            log.info("relay: %d outbox row(s) left pending; %s", len(stale),
                     request_advance(database_url))
    return len(stale)


NUDGE_POLL_SECONDS = 0.1
"""How often a waiting relay looks whether a command nudged it (one ``stat`` call)."""

RELAY_GAP_SECONDS = 1.0
"""The least time from one run a relay starts to the next: under a stream of changes, the
changes of that time share one run (each run costs Prefect's bookkeeping)."""


def run_relay(database_url: str | None = None, *, interval_seconds: float = 2.0,
              grace_seconds: float = 5.0, stop: threading.Event | None = None) -> None:
    """Call :func:`relay_once` every ``interval_seconds`` until ``stop`` is set, and without
    grace when a command hands its advance over (:mod:`flows.handoff`: the beacon says this
    process relays the database while this runs): at once, or :data:`RELAY_GAP_SECONDS`
    after the previous run started."""
    from prefect.context import SyncClientContext

    stop = stop if stop is not None else threading.Event()
    grace = grace_seconds
    # One API client for every run started here: each run would otherwise build a new one
    # (loading the certificate bundle, ~20 ms) to read the server's result storage.
    with (relay_beacon(database_url or settings.effective_database_url) as nudged,
          SyncClientContext.get_or_create()):
        while not stop.is_set():
            started = time.monotonic()
            try:
                relay_once(database_url, grace_seconds=grace)
            except Exception:  # keep relaying through a database or API outage
                log.exception("relay: attempt failed; retrying")
            grace = grace_seconds
            if _wait(stop, nudged, interval_seconds):
                grace = 0.0
                stop.wait(max(started + RELAY_GAP_SECONDS - time.monotonic(), 0))


def _wait(stop: threading.Event, nudged, interval_seconds: float) -> bool:
    """Wait up to ``interval_seconds`` or until ``stop``; whether a command nudged."""
    deadline = time.monotonic() + interval_seconds
    while not stop.wait(min(NUDGE_POLL_SECONDS, max(deadline - time.monotonic(), 0))):
        if nudged():
            return True
        if time.monotonic() >= deadline:
            return False
    return False


@contextmanager
def relay_in_background(database_url: str | None = None, *, interval_seconds: float = 2.0,
                        grace_seconds: float = 5.0, join_timeout_seconds: float = 30.0
                        ) -> Iterator[None]:
    """:func:`run_relay` in a thread of this process while the block runs; on leaving, the
    relay stops after the attempt under way (waiting for it up to ``join_timeout_seconds``;
    an attempt cut short leaves its rows pending for the next start)."""
    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(database_url,),
                             kwargs={"interval_seconds": interval_seconds,
                                     "grace_seconds": grace_seconds, "stop": stop},
                             name="onething-relay", daemon=True)
    relay.start()
    try:
        yield
    finally:
        stop.set()
        relay.join(timeout=join_timeout_seconds)


_EMBEDDED_API_LOCK = threading.Lock()


@contextmanager
def embedded_api() -> Iterator[None]:
    """In embedded mode, this process's one Prefect API, started here and stopped on leaving.

    Left to itself Prefect starts its temporary API server on the first flow run, without
    a lock: flow runs starting together in threads (requests arriving together at a fresh
    service) each start a server or use one still starting, and fail; a second server then
    outlives the process. A long-running process enters this before running anything.
    Nothing is started in server mode, when an API URL is set (a test harness, say), or
    when the API is already running; only a server started here is stopped here. While
    the block runs, commits here advance through Prefect (:mod:`flows.handoff`).
    """
    from prefect.settings import PREFECT_API_URL

    server, serving = None, not prefect_served_here.is_set()
    if settings.prefect_mode == "embedded" and not PREFECT_API_URL.value():
        from prefect.server.api.server import SubprocessASGIServer

        with _EMBEDDED_API_LOCK:
            candidate = SubprocessASGIServer()
            if not candidate.running:
                candidate.start()
                server = candidate
    if serving:
        prefect_served_here.set()
    try:
        yield
    finally:
        if serving:
            prefect_served_here.clear()
        if server is not None:
            server.stop()


FLOWS = (advance, open_case, sla_sweep)
"""The flows deployed to the work pool, all run by ``onething worker``."""

