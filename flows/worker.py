"""``onething worker``: the outbox relay, and in server mode a Prefect process worker.

Embedded mode: the relay alone; each advance it requests runs in this process.
Server mode: a :class:`~prefect.workers.process.ProcessWorker` of the work pool runs the
deployments' flow runs (one at a time per worker: the machines here have two cores),
while the relay, in a thread beside it, restarts whatever a crash left pending.
"""

from __future__ import annotations

import asyncio
import threading

from flows.cases import WORK_POOL, run_relay
from process_models.settings import settings

__all__ = ["run_worker"]


def run_worker(pool: str = WORK_POOL, *, interval_seconds: float = 2.0,
               database_url: str | None = None, flow_runs_at_once: int = 1) -> None:
    """Relay outbox rows left behind, and in server mode run flow runs of ``pool``."""
    if settings.prefect_mode == "embedded":
        run_relay(database_url, interval_seconds=interval_seconds)
        return
    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(database_url,),
                             kwargs={"interval_seconds": interval_seconds, "stop": stop},
                             name="onething-relay", daemon=True)
    relay.start()
    try:
        asyncio.run(_process_worker(pool, flow_runs_at_once))
    finally:
        stop.set()
        relay.join(timeout=interval_seconds + 5)


async def _process_worker(pool: str, flow_runs_at_once: int) -> None:
    from prefect.workers.process import ProcessWorker

    async with ProcessWorker(work_pool_name=pool, limit=flow_runs_at_once,
                             prefetch_seconds=1) as worker:
        await worker.start()
