"""The service under a sustained load: case board and case status at 500 requests/s.

Creates a PostgreSQL database of its own (``onething_bench_api_<hex>``, dropped at the end),
opens ``--cases`` newborn cases through the domain (a third with their first step
approved), starts the service (``uvicorn api.main:app``, ``--workers`` processes, access
log off) on 127.0.0.1 and a free port, logs in as an auditor (every case, masked data)
and then, from an open-loop load generator (asyncio + httpx, ``--connections``
keep-alive connections, one request sent every 1/rate seconds whatever the answers do):

1. the baseline: ``GET /health`` at the same rate for ``--baseline-seconds``;
2. the load: ``GET /api/cases`` (the case board, every open case with its colour and the
   counts per colour; ``--board-share`` of the requests) and ``GET /api/cases/{id}`` (one
   case's status, steps, materials, decisions and certificates) for ``--seconds``.

Latency is measured from the moment a request was due, so a server falling behind shows
as latency, not as a slower rate. It prints, per phase and kind: requests, errors (non-200
or transport), p50 / p99 / max in ms and the achieved rate, p99 as a ratio to the baseline's,
and the service's resident memory (all its processes) sampled every second: first minute,
last minute, and the change between them.

Run: ``.venv/bin/python bench/bench_api.py [--seconds 300]``. Target: p99 < 50 ms, zero
errors, memory flat over 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ID_NUMBER = "11010519491231002X"
AUDITOR, PASSWORD = "bench_auditor", "bench-auditor-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database() -> tuple[str, str]:
    """(name, URL) of a new, migrated database."""
    from sqlalchemy import create_engine, text

    from process_models.store import init_db, make_engine

    name = f"onething_bench_api_{secrets.token_hex(6)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return name, url


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fill(url: str, cases: int) -> list[str]:
    """Open ``cases`` newborn cases (every third with its first step approved); their ids."""
    from sqlmodel import Session

    from api.security import hash_password
    from process_models import casework
    from process_models.accounts import add_user
    from process_models.catalog import load_catalog_procedure
    from process_models.store import make_engine

    proc = load_catalog_procedure("newborn")
    materials = [i.material_id for i in casework.notification_list(proc)]
    first = proc.steps[0]
    engine = make_engine(url)
    ids = []
    with Session(engine) as session:
        add_user(session, AUDITOR, password_hash=hash_password(PASSWORD), role="auditor",
                 now=datetime.now(UTC))
        for n in range(cases):
            now = datetime.now(UTC)
            case = casework.open_case(session, proc, casework.Applicant(f"申请人{n}", ID_NUMBER),
                                      materials, now=now)
            if n % 3 == 0:
                casework.decide(session, case.id, first.id, "approve",
                                department_id=first.department, decided_by="bench", now=now)
                casework.advance_case(session, case.id, now=now)
            ids.append(case.id)
    engine.dispose()
    return ids


def process_tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class MemorySampler(threading.Thread):
    """The server's resident memory once a second, while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples_kb = pid, []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.samples_kb.append(process_tree_rss_kb(self.pid))


@dataclass
class Kind:
    """The answers to one kind of request in one phase."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    rate_per_second: float = 0.0


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``.

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5), percentile(list(range(1, 101)), 0.99)
    (3.0, 99)
    """
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


async def load(base_url: str, token: str | None, paths: list[tuple[str, str]], *,
               rate_per_second: float, seconds: float, connections: int) -> dict[str, Kind]:
    """Send ``paths`` round-robin, one every 1/rate s for ``seconds``; answers per kind."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    kinds: dict[str, Kind] = {kind: Kind() for kind, _ in paths}
    total = int(rate_per_second * seconds)
    interval = 1.0 / rate_per_second
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=10.0) as client:
        async def one(kind: str, path: str, due: float) -> None:
            try:
                answer = await client.get(path)
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            kinds[kind].latencies_ms.append((time.perf_counter() - due) * 1000)
            kinds[kind].errors += not ok

        start = time.perf_counter()
        tasks = []
        for n in range(total):
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, path = paths[n % len(paths)]
            tasks.append(asyncio.create_task(one(kind, path, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    for kind in kinds.values():
        kind.rate_per_second = len(kind.latencies_ms) / elapsed
    return kinds


def log_in(base_url: str) -> str:
    import httpx

    answer = httpx.post(f"{base_url}/api/login/access-token",
                        data={"username": AUDITOR, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


def wait_until_up(base_url: str, server: subprocess.Popen, timeout_seconds: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the service exited with code {server.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the service did not answer within {timeout_seconds} s")


def report(phase: str, kinds: dict[str, Kind], baseline_p99_ms: float | None) -> float:
    """Print one line per kind; the phase's p99 over all its requests."""
    everything: list[float] = []
    for name, kind in kinds.items():
        values = kind.latencies_ms
        everything += values
        p99 = percentile(values, 0.99)
        ratio = f"  p99 ×{p99 / baseline_p99_ms:5.1f} of /health" if baseline_p99_ms else ""
        print(f"  {phase:<8} {name:<14} {len(values):>7} requests {kind.errors:>5} errors  "
              f"p50 {percentile(values, 0.5):7.1f} ms  p99 {p99:7.1f} ms  "
              f"max {max(values):7.1f} ms  {kind.rate_per_second:6.1f} req/s{ratio}")
    return percentile(everything, 0.99)


def _stop(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)  # the database is dropped and the service stopped
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the load phase")
    parser.add_argument("--baseline-seconds", type=float, default=None,
                        help="length of the /health baseline (default: a fifth of --seconds, "
                             "at most 60)")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--cases", type=int, default=100, help="open cases on the board")
    parser.add_argument("--board-share", type=float, default=0.2,
                        help="share of the load that asks for the case board")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=64, help="client connections")
    args = parser.parse_args()
    baseline_seconds = args.baseline_seconds or min(60.0, args.seconds / 5)

    name, url = create_database()
    server = None
    try:
        started = time.perf_counter()
        case_ids = fill(url, args.cases)
        print(f"database {name}: {len(case_ids)} open newborn cases in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "ONETHING_DATABASE_URL": url, "ONETHING_ENVIRONMENT": "test",
               "ONETHING_SECRET_KEY": secrets.token_urlsafe(32), "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(args.workers), "--no-access-log",
             "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
        wait_until_up(base_url, server)
        token = log_in(base_url)
        print(f"service: uvicorn api.main:app, {args.workers} workers, PostgreSQL; load: "
              f"{args.rate:.0f} req/s open loop over {args.connections} connections; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start", flush=True)

        per_board = round((1 - args.board_share) / args.board_share) \
            if args.board_share > 0 else 0
        paths = []
        for n, case_id in enumerate(case_ids):
            paths.append(("case status", f"/api/cases/{case_id}"))
            if per_board and (n + 1) % per_board == 0:
                paths.append(("case board", "/api/cases"))

        sampler = MemorySampler(server.pid)
        sampler.start()
        health = asyncio.run(load(base_url, None, [("GET /health", "/health")],
                                  rate_per_second=args.rate, seconds=baseline_seconds,
                                  connections=args.connections))
        health_samples = len(sampler.samples_kb)
        cases = asyncio.run(load(base_url, token, paths, rate_per_second=args.rate,
                                 seconds=args.seconds, connections=args.connections))
        sampler.stopped.set()
        sampler.join()

        print(f"baseline {baseline_seconds:.0f} s, load {args.seconds:.0f} s:")
        baseline_p99 = report("baseline", health, None)
        overall = report("load", cases, baseline_p99)
        errors = sum(k.errors for k in cases.values())
        print(f"  load p99 over every request {overall:.1f} ms = ×{overall / baseline_p99:.1f} "
              f"the /health p99 ({baseline_p99:.1f} ms); errors {errors}")
        during = sampler.samples_kb[health_samples:]
        window = min(60, max(1, len(during) // 3))
        first = sum(during[:window]) / window / 1024
        last = sum(during[-window:]) / window / 1024
        print(f"  service memory (RSS, all processes): first {window} s {first:.1f} MB, "
              f"last {window} s {last:.1f} MB, change {last - first:+.1f} MB "
              f"({(last - first) / first * 100:+.1f}%); min {min(during) / 1024:.1f} MB, "
              f"max {max(during) / 1024:.1f} MB")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        drop_database(name)


if __name__ == "__main__":
    main()
