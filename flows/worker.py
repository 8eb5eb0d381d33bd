"""``onething worker``: the outbox relay, and in server mode a Prefect worker of the pool.

Embedded mode: the relay alone; each advance it requests runs in this process. The
service's relay is the same in a process the service starts (:func:`run_service_relay`).
Server mode: an :class:`InProcessWorker` of the work pool runs the deployments' flow runs
(one at a time per worker: the machines here have two cores), while the relay, in a
thread beside it, restarts whatever a crash left pending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from typing import TYPE_CHECKING, Any

import anyio
from prefect.workers.base import (
    BaseJobConfiguration,
    BaseVariables,
    BaseWorker,
    BaseWorkerResult,
)

from flows.handoff import sole_relay
from flows.runs import (
    DEPLOYMENT_NAME,
    FLOWS,
    ROOT,
    WORK_POOL,
    embedded_api,
    relay_in_background,
    run_relay,
    sla_sweep,
)
from process_models.errors import NotFound
from process_models.settings import settings

if TYPE_CHECKING:
    from uuid import UUID

    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun

__all__ = ["InProcessWorker", "deploy", "run_service_relay", "run_worker"]

log = logging.getLogger(__name__)


class InProcessWorker(BaseWorker[BaseJobConfiguration, BaseVariables, BaseWorkerResult]):
    """A worker that runs each flow run of onething's flows (:data:`flows.runs.FLOWS`) in
    its own process, in a thread.

    A process worker starts a new Python process per flow run, which spends seconds
    importing Prefect and the flows before an ``advance`` run does a fraction of a second
    of work; here a run starts within the worker's poll interval. What that gives up: a
    pending run cannot be killed on its own (it is left to finish; the flows here are
    short), and a run that brings the process down takes the worker with it, leaving its
    outbox rows pending for the relay of the other workers or of the next start.
    """

    type = "onething"
    job_configuration = BaseJobConfiguration
    job_configuration_variables = BaseVariables
    _description = "Runs onething's flow runs in the worker's own process."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flows: dict[UUID, Flow] = {}

    async def run(self, flow_run: FlowRun, configuration: BaseJobConfiguration,
                  task_status: anyio.abc.TaskStatus[str] | None = None) -> BaseWorkerResult:
        """Run ``flow_run`` in a thread of this process until it reaches a final state."""
        flow = await self._flow(flow_run)
        identifier = f"{socket.gethostname()}:{os.getpid()}"
        if task_status is not None:
            task_status.started(identifier)
        status_code = await anyio.to_thread.run_sync(_run_flow, flow, flow_run)
        return BaseWorkerResult(status_code=status_code, identifier=identifier)

    async def _flow(self, flow_run: FlowRun) -> Flow:
        if flow_run.flow_id not in self._flows:
            name = (await self.client.read_flow(flow_run.flow_id)).name
            by_name = {flow.name: flow for flow in FLOWS}
            if name not in by_name:
                raise NotFound(
                    f"flow run '{flow_run.name}' runs flow '{name}', which is not one of "
                    f"onething's flows ({', '.join(by_name)}); give it a work pool of its own"
                )
            self._flows[flow_run.flow_id] = by_name[name]
        return self._flows[flow_run.flow_id]


def _run_flow(flow: Flow, flow_run: FlowRun) -> int:
    """Run ``flow_run`` here; Prefect's engine records its states, failures included.

    Returns 0, or 1 when the engine itself broke down (the worker then marks the run
    crashed).
    """
    from prefect.flow_engine import run_flow

    try:
        outcome = run_flow(flow, flow_run=flow_run, return_type="state")
        if asyncio.iscoroutine(outcome):
            asyncio.run(outcome)
    except Exception:
        log.exception("flow run '%s' broke down outside its flow", flow_run.name)
        return 1
    return 0


def run_worker(pool: str = WORK_POOL, *, interval_seconds: float = 2.0,
               database_url: str | None = None, flow_runs_at_once: int = 1) -> None:
    """Relay outbox rows left behind, and in server mode run flow runs of ``pool``."""
    if settings.prefect_mode == "embedded":
        with embedded_api():
            run_relay(database_url, interval_seconds=interval_seconds)
        return
    with relay_in_background(database_url, interval_seconds=interval_seconds,
                             join_timeout_seconds=interval_seconds + 5):
        asyncio.run(_serve(pool, flow_runs_at_once))


RELAY_NICENESS = 10
"""How much nicer than its service a service's relay process runs (see ``man nice``)."""


def run_service_relay(parent_pid: int, *, interval_seconds: float = 2.0,
                      watch_seconds: float = 1.0) -> None:
    """The relay of a service (:func:`flows.handoff.relay_process` starts this in a child
    process, embedded mode): once it is the one relay of the settings' database on this
    machine (:func:`flows.handoff.sole_relay`), Prefect's API and :func:`run_relay` here,
    until SIGTERM, or until the process ``parent_pid`` is gone (looked at every
    ``watch_seconds``). It runs :data:`RELAY_NICENESS` steps nicer than the service, as do
    Prefect's API and whatever else it starts: the service's requests come first when both
    want the processors."""
    os.nice(RELAY_NICENESS)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_parent() -> None:
        while not stop.wait(watch_seconds):
            if os.getppid() != parent_pid:
                stop.set()

    threading.Thread(target=watch_parent, name="onething-relay-parent", daemon=True).start()
    url = settings.effective_database_url
    with sole_relay(url, stop) as sole:
        if sole:
            with embedded_api():
                run_relay(url, interval_seconds=interval_seconds, stop=stop)


async def _serve(pool: str, flow_runs_at_once: int) -> None:
    async with InProcessWorker(work_pool_name=pool, limit=flow_runs_at_once,
                               prefetch_seconds=1) as worker:
        await worker.start()


def deploy(work_pool: str = WORK_POOL, *, sweep_cron: str = "*/15 * * * *") -> list[str]:
    """Register the deployments the workers of ``work_pool`` run (server mode), creating
    the work pool for :class:`flows.worker.InProcessWorker` if it does not exist."""
    _create_work_pool(work_pool)
    ids = []
    for flow_fn in FLOWS:
        extra = {"cron": sweep_cron} if flow_fn is sla_sweep else {}
        source = flow_fn.from_source(source=str(ROOT),
                                     entrypoint=f"flows/runs.py:{flow_fn.fn.__name__}")
        deployment = source.to_deployment(name=DEPLOYMENT_NAME, work_pool_name=work_pool,
                                          **extra)
        ids.append(str(deployment.apply(work_pool_name=work_pool)))
    return ids


def _create_work_pool(name: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(
                name=name, type=InProcessWorker.type,
                base_job_template=InProcessWorker.get_default_base_job_template()))
        except ObjectAlreadyExists:
            pass
