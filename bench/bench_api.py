"""The service under a sustained load: case board and case status at 500 requests/s.

Creates a PostgreSQL database of its own (``onething_bench_api_<hex>``, dropped at the end),
opens ``--cases`` newborn cases through the domain (a third with their first step
approved), starts the service (``uvicorn api.main:app``, ``--workers`` processes, access
log off) on 127.0.0.1 and a free port, logs in as an auditor (every case, masked data)
and then, from an open-loop load generator (one request due every 1/rate seconds whatever
the answers do, sent over at most ``--connections`` HTTP/1.1 keep-alive connections on
plain asyncio streams, so the generator stays cheap and never piles requests up):

1. the baseline: ``GET /health`` at the same rate for ``--baseline-seconds``;
2. the load: ``GET /api/cases`` (the case board, every open case with its colour and the
   counts per colour; ``--board-share`` of the requests) and ``GET /api/cases/{id}`` (one
   case's status, steps, materials, decisions and certificates) for ``--seconds``.

Latency is measured from the moment a request was due, so a server falling behind (or all
connections busy) shows as latency, not as a slower rate. Each phase stops by itself: a
request unanswered after 10 s is an error, and what was not sent 10 s after the schedule's
end is counted unsent. It prints, per phase and kind: requests, errors (non-200, timeout
or transport), unsent, p50 / p99 / max in ms and the achieved rate, p99 as a ratio to the
baseline's; per phase the CPU used by the service, the load generator and the whole machine;
and the service's resident memory (all its processes) sampled every second: first minute,
last minute, and the change between them. The service and the database go away at the end,
also on an error, Ctrl-C or SIGTERM.

Run: ``.venv/bin/python bench/bench_api.py [--seconds 300]``. Target: p99 < 50 ms, zero
errors, memory flat over 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
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


def create_database(name: str) -> str:
    """The URL of a new, migrated database called ``name``."""
    from sqlalchemy import create_engine, text

    from flows.casework.store import init_db, make_engine

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


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
    from flows import casework
    from flows.casework.accounts import add_user
    from flows.casework.store import make_engine
    from process_models.catalog import load_catalog_procedure

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


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_kb(pids: list[int], field: str = "VmRSS") -> int:
    """Resident memory of ``pids`` together (``field="VmHWM"``: the sum of their peaks)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of ``pids`` together so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores, every process) so far."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


@dataclass
class CpuUse:
    """CPU used during one phase, in cores (1.0 = one core busy all the time)."""

    service: float
    generator: float
    machine: float


class CpuMeter:
    """Measures :class:`CpuUse` between :meth:`start` and :meth:`stop`."""

    def __init__(self, service_pid: int) -> None:
        self.service_pid = service_pid

    def _now(self) -> tuple[float, float, float, float]:
        return (time.perf_counter(), cpu_seconds(process_tree(self.service_pid)),
                time.process_time(), machine_busy_seconds())

    def start(self) -> None:
        self.started = self._now()

    def stop(self) -> CpuUse:
        wall, *used = (b - a for a, b in zip(self.started, self._now(), strict=True))
        return CpuUse(*(u / wall for u in used))


class MemorySampler(threading.Thread):
    """The server's resident memory (all its processes) every ``interval_seconds``, while
    it runs."""

    def __init__(self, pid: int, interval_seconds: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_seconds, self.samples_kb = pid, interval_seconds, []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_seconds):
            self.samples_kb.append(rss_kb(process_tree(self.pid)))


@dataclass
class Kind:
    """The answers to one kind of request in one phase."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    unsent: int = 0
    rate_per_second: float = 0.0


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``.

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5), percentile(list(range(1, 101)), 0.99)
    (3.0, 99)
    """
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]


class KeepAlive:
    """One HTTP/1.1 keep-alive connection on asyncio streams, sending GETs (lean: a load
    generator sharing the machine with the service must cost little CPU)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}
                            .items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """The status of ``GET path`` (the body is read and dropped); reconnects when needed."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").lower().split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if "content-length" not in fields:
            raise ValueError(f"no Content-Length in the answer to GET {path}")
        await self.reader.readexactly(int(fields["content-length"]))
        if fields.get("connection") == "close":
            self.close()
        return int(lines[0].split(" ", 2)[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def load(host: str, port: int, token: str | None, paths: list[tuple[str, str]], *,
               rate_per_second: float, seconds: float, connections: int,
               timeout_seconds: float = 10.0) -> dict[str, Kind]:
    """Send ``paths`` round-robin, one due every 1/rate s for ``seconds``; answers per kind.

    Each of ``connections`` keep-alive connections takes the next request when it is free
    and sends it at its due time (at once when late), so at most ``connections`` requests
    are in flight. A request still unanswered after ``timeout_seconds`` is an error; requests
    not sent by the end of the schedule plus ``timeout_seconds`` are left unsent.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kinds: dict[str, Kind] = {kind: Kind() for kind, _ in paths}
    total = int(rate_per_second * seconds)
    interval = 1.0 / rate_per_second
    numbers = itertools.count()
    start = time.perf_counter()
    deadline = start + seconds + timeout_seconds

    async def connection() -> None:
        client = KeepAlive(host, port, headers)
        try:
            while (n := next(numbers)) < total and time.perf_counter() < deadline:
                due = start + n * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                kind, path = paths[n % len(paths)]
                try:
                    ok = await asyncio.wait_for(client.get(path), timeout_seconds) == 200
                except (OSError, EOFError, ValueError, TimeoutError):
                    client.close()
                    ok = False
                kinds[kind].latencies_ms.append((time.perf_counter() - due) * 1000)
                kinds[kind].errors += not ok
        finally:
            client.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    planned = Counter(paths[n % len(paths)][0] for n in range(total))
    for name, kind in kinds.items():
        kind.unsent = planned[name] - len(kind.latencies_ms)
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


def report(phase: str, kinds: dict[str, Kind], cpu: CpuUse,
           baseline_p99_ms: float | None) -> float:
    """Print one line per kind and one of CPU use; the phase's p99 over all its requests."""
    everything: list[float] = []
    for name, kind in kinds.items():
        values = kind.latencies_ms
        everything += values
        p99 = percentile(values, 0.99)
        ratio = f"  p99 ×{p99 / baseline_p99_ms:5.1f} of /health" if baseline_p99_ms else ""
        print(f"  {phase:<8} {name:<14} {len(values):>7} requests {kind.errors:>5} errors "
              f"{kind.unsent:>5} unsent  p50 {percentile(values, 0.5):7.1f} ms  "
              f"p99 {p99:7.1f} ms  max {max(values):7.1f} ms  "
              f"{kind.rate_per_second:6.1f} req/s{ratio}")
    print(f"  {phase:<8} CPU in cores: service {cpu.service:.2f}, load generator "
          f"{cpu.generator:.2f}, whole machine {cpu.machine:.2f} of {os.cpu_count()}")
    return percentile(everything, 0.99)


def stop_service(server: subprocess.Popen) -> None:
    """Stop the service's process group (its workers too); kill what is left after 30 s."""
    try:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


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

    name = f"onething_bench_api_{secrets.token_hex(6)}"
    server = None
    try:
        started = time.perf_counter()
        url = create_database(name)
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
              f"{args.rate:.0f} req/s open loop over at most {args.connections} connections; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start",
              flush=True)

        per_board = round((1 - args.board_share) / args.board_share) \
            if args.board_share > 0 else 0
        paths = []
        for n, case_id in enumerate(case_ids):
            paths.append(("case status", f"/api/cases/{case_id}"))
            if per_board and (n + 1) % per_board == 0:
                paths.append(("case board", "/api/cases"))

        sampler = MemorySampler(server.pid)
        sampler.start()
        meter = CpuMeter(server.pid)

        def phase(token: str | None, paths: list[tuple[str, str]],
                  seconds: float) -> tuple[dict[str, Kind], CpuUse]:
            meter.start()
            kinds = asyncio.run(load("127.0.0.1", port, token, paths,
                                     rate_per_second=args.rate, seconds=seconds,
                                     connections=args.connections))
            return kinds, meter.stop()

        health, health_cpu = phase(None, [("GET /health", "/health")], baseline_seconds)
        health_samples = len(sampler.samples_kb)
        cases, cases_cpu = phase(token, paths, args.seconds)
        sampler.stopped.set()
        sampler.join()

        print(f"baseline {baseline_seconds:.0f} s, load {args.seconds:.0f} s:")
        baseline_p99 = report("baseline", health, health_cpu, None)
        overall = report("load", cases, cases_cpu, baseline_p99)
        errors = sum(k.errors + k.unsent for k in cases.values())
        print(f"  load p99 over every request {overall:.1f} ms = ×{overall / baseline_p99:.1f} "
              f"the /health p99 ({baseline_p99:.1f} ms); errors and unsent {errors}")
        during = sampler.samples_kb[health_samples:]
        window = min(60, max(1, len(during) // 3))
        first = sum(during[:window]) / window / 1024
        last = sum(during[-window:]) / window / 1024
        print(f"  service memory (RSS, all processes): first {window} s {first:.1f} MB, "
              f"last {window} s {last:.1f} MB, change {last - first:+.1f} MB "
              f"({(last - first) / first * 100:+.1f}%); min {min(during) / 1024:.1f} MB, "
              f"max {max(during) / 1024:.1f} MB")
    finally:
        if server is not None:
            stop_service(server)
        drop_database(name)


if __name__ == "__main__":
    main()
