"""The service under a sustained load: case board and case status at 500 requests/s, then
the same beside decisions and case openings (a busy centre's mix).

Creates a PostgreSQL database of its own (``onething_bench_api_<hex>``, dropped at the end),
opens ``--cases`` newborn cases through the domain (a third with their first step
approved), starts the service (``uvicorn api.main:app``, ``--workers`` processes, access
log off, a data directory of its own) on 127.0.0.1 and a free port, waits until its relay
process watches the database, logs in as an auditor (every case, masked data)
and then, from an open-loop load generator (one request due every 1/rate seconds whatever
the answers do, sent over at most ``--connections`` HTTP/1.1 keep-alive connections on
plain asyncio streams, so the generator stays cheap and never piles requests up):

1. the baseline: ``GET /health`` at the same rate for ``--baseline-seconds``;
2. the load: ``GET /api/cases`` (the case board, every open case with its colour and the
   counts per colour; ``--board-share`` of the requests) and ``GET /api/cases/{id}`` (one
   case's status, steps, materials, decisions and certificates) for ``--seconds``;
3. the mix, for ``--mixed-seconds`` (default ``--seconds``): the same reads at ``--rate``
   less ``--write-rate``, and beside them, on connections of their own, writes at
   ``--write-rate`` as an admin: every other one a decision (``POST
   /api/cases/{id}/steps/{step}/decision``, approve) on a step pending since the setup
   (newborn cases opened for the purpose, each of their steps pending at opening decided
   once), the others a case opening (``POST /api/cases``, the newborn bundle with every
   material). A decision answered 409 (the step raced) is answered, counted apart. After
   the phase every acknowledged write is looked up in the database (each 201 opening's
   case, each 200 decision), and the outbox rows the relay has not yet advanced are
   counted until none is left.

Latency is measured from the moment a request was due, so a server falling behind (or all
connections busy) shows as latency, not as a slower rate. Each phase stops by itself: a
request unanswered after 10 s is an error, and what was not sent 10 s after the schedule's
end is counted unsent. It prints, per phase and kind: requests, errors (non-200, timeout
or transport), unsent, p50 / p99 / max in ms and the achieved rate, p99 as a ratio to the
baseline's; per phase the CPU used by the service, the load generator and the whole machine;
and the service's resident memory (all its processes) sampled every second: first minute,
last minute, and the change between them. The service and the database go away at the end,
also on an error, Ctrl-C or SIGTERM. Where the PostgreSQL server runs without autovacuum,
the bench vacuums its database every ``--vacuum-seconds`` in its stead, and says so.

Run: ``.venv/bin/python bench/bench_api.py [--seconds 300]`` (``--seconds 20`` for a quick
look). Targets: reads p99 < 50 ms, zero errors, memory flat over 5 minutes; in the mix,
writes p99 < 100 ms, reads' p99 as in the read-only load, every acknowledged write in the
database.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ID_NUMBER = "11010519491231002X"
AUDITOR, PASSWORD = "bench_auditor", "bench-auditor-password"
ADMIN = "bench_admin"


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


def fill(url: str, cases: int, deciding: int) -> tuple[list[str], list[str], list[str]]:
    """Open ``cases`` newborn cases for the reads (every third with its first step approved)
    and ``deciding`` more for the decisions; the ids of each, and newborn's steps in order
    (each waits for the one before)."""
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
    ids, decided = [], []
    with Session(engine) as session:
        for username, role in ((AUDITOR, "auditor"), (ADMIN, "admin")):
            add_user(session, username, password_hash=hash_password(PASSWORD), role=role,
                     now=datetime.now(UTC))
        for n in range(cases + deciding):
            now = datetime.now(UTC)
            case = casework.open_case(session, proc, casework.Applicant(f"申请人{n}", ID_NUMBER),
                                      materials, now=now)
            if n >= cases:
                decided.append(case.id)
                continue
            if n % 3 == 0:
                casework.decide(session, case.id, first.id, "approve",
                                department_id=first.department, decided_by="bench", now=now)
                casework.advance_case(session, case.id, now=now)
            ids.append(case.id)
        casework.drain_outbox(session, now=datetime.now(UTC))
    engine.dispose()
    return ids, decided, [step.id for step in proc.steps]


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
    relay: float
    """Of ``service``: its relay processes (and the Prefect API each starts)."""


def relay_tree(service_pid: int) -> list[int]:
    """The service's relay processes (:func:`flows.handoff.relay_process`) and theirs."""
    relays = []
    for pid in process_tree(service_pid):
        try:
            if b"run_service_relay" in Path(f"/proc/{pid}/cmdline").read_bytes():
                relays += process_tree(pid)
        except OSError:
            continue
    return relays


class CpuMeter:
    """Measures :class:`CpuUse` between :meth:`start` and :meth:`stop`."""

    def __init__(self, service_pid: int) -> None:
        self.service_pid = service_pid

    def _now(self) -> tuple[float, float, float, float, float]:
        return (time.perf_counter(), cpu_seconds(process_tree(self.service_pid)),
                time.process_time(), machine_busy_seconds(),
                cpu_seconds(relay_tree(self.service_pid)))

    def start(self) -> None:
        self.started = self._now()

    def stop(self) -> CpuUse:
        wall, *used = (b - a for a, b in zip(self.started, self._now(), strict=True))
        return CpuUse(*(u / wall for u in used))


class Vacuum(threading.Thread):
    """``VACUUM ANALYZE`` of the database at ``url`` every ``interval_seconds`` while the
    bench runs: what PostgreSQL's autovacuum does for a busy table, where a server runs
    without it (``autovacuum = off``): without it every updated row (an outbox row advanced,
    a step decided) stays dead in its table and indexes, and each read wades through more
    of them as the phase goes on."""

    def __init__(self, url: str, interval_seconds: float) -> None:
        super().__init__(daemon=True)
        self.url, self.interval_seconds = url, interval_seconds
        self.stopped = threading.Event()
        self.runs = 0

    def run(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            while not self.stopped.wait(self.interval_seconds):
                with engine.connect() as connection:
                    connection.execute(text("VACUUM ANALYZE"))
                self.runs += 1
        finally:
            engine.dispose()


def autovacuum_on(url: str) -> bool:
    """Whether the PostgreSQL server at ``url`` runs autovacuum."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        on = connection.execute(text("SHOW autovacuum")).scalar_one() == "on"
    engine.dispose()
    return on


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
    due_seconds: list[float] = field(default_factory=list)
    """When each request was due, in seconds from the phase's start (as ``latencies_ms``)."""
    errors: int = 0
    failed: Counter = field(default_factory=Counter)
    """Errors by status, or by the exception's name (a timeout, a transport error)."""
    conflicts: int = 0
    unsent: int = 0
    rate_per_second: float = 0.0


@dataclass(frozen=True)
class Call:
    """One request of a schedule: its kind (a line of the report), its path, and a JSON
    body to POST (``None``: a GET); ``ok`` is the status of a success."""

    kind: str
    path: str
    body: dict | None = None
    ok: int = 200


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``.

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5), percentile(list(range(1, 101)), 0.99)
    (3.0, 99)
    """
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]


class KeepAlive:
    """One HTTP/1.1 keep-alive connection on asyncio streams, sending GETs and JSON POSTs
    (lean: a load generator sharing the machine with the service must cost little CPU)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}
                            .items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    idle_seconds = 4.0
    """A connection idle longer is not used again: the server closes it after 5 s
    (uvicorn's keep-alive timeout), perhaps as the next request is on its way."""

    async def send(self, call: Call) -> tuple[int, bytes]:
        """The status and body of the answer to ``call``; reconnects when needed."""
        if self.writer is not None and (self.reader.at_eof() or
                                        time.monotonic() - self.used > self.idle_seconds):
            self.close()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.used = time.monotonic()
        if call.body is None:
            self.writer.write(f"GET {call.path} HTTP/1.1\r\n{self.head}\r\n".encode())
        else:
            body = json.dumps(call.body).encode()
            self.writer.write(f"POST {call.path} HTTP/1.1\r\n{self.head}Content-Type: "
                              f"application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                              .encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").lower().split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if "content-length" not in fields:
            raise ValueError(f"no Content-Length in the answer to {call.path}")
        answer = await self.reader.readexactly(int(fields["content-length"]))
        self.used = time.monotonic()
        if fields.get("connection") == "close":
            self.close()
        return int(lines[0].split(" ", 2)[1]), answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


Answered = Callable[[Call, bytes], None]
"""Told of each successful answer (its call and body)."""


async def load(host: str, port: int, token: str | None, calls: Callable[[int], Call], *,
               rate_per_second: float, seconds: float, connections: int,
               answered: Answered | None = None,
               timeout_seconds: float = 10.0) -> dict[str, Kind]:
    """Send ``calls(0)``, ``calls(1)``, ... one due every 1/rate s for ``seconds``; answers
    per kind (a 409 to a POST is a conflict, answered but not a success).

    Each of ``connections`` keep-alive connections takes the next request when it is free
    and sends it at its due time (at once when late), so at most ``connections`` requests
    are in flight. A request still unanswered after ``timeout_seconds`` is an error; requests
    not sent by the end of the schedule plus ``timeout_seconds`` are left unsent.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    total = int(rate_per_second * seconds)
    planned = Counter(calls(n).kind for n in range(total))
    kinds: dict[str, Kind] = {kind: Kind() for kind in planned}
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
                call = calls(n)
                try:
                    status, body = await asyncio.wait_for(client.send(call), timeout_seconds)
                except (OSError, EOFError, ValueError, TimeoutError) as error:
                    client.close()
                    status, body = type(error).__name__, b""
                kind = kinds[call.kind]
                kind.latencies_ms.append((time.perf_counter() - due) * 1000)
                kind.due_seconds.append(due - start)
                if status == call.ok and answered is not None:
                    answered(call, body)
                conflict = call.body is not None and status == 409
                kind.conflicts += conflict
                if status != call.ok and not conflict:
                    kind.errors += 1
                    kind.failed[status] += 1
        finally:
            client.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    for name, kind in kinds.items():
        kind.unsent = planned[name] - len(kind.latencies_ms)
        kind.rate_per_second = len(kind.latencies_ms) / elapsed
    return kinds


def log_in(base_url: str, username: str = AUDITOR) -> str:
    import httpx

    answer = httpx.post(f"{base_url}/api/login/access-token",
                        data={"username": username, "password": PASSWORD}, timeout=30)
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


def wait_until_relaying(url: str, server: subprocess.Popen,
                        timeout_seconds: float = 300) -> float:
    """Wait until the service's relay process watches ``url`` (its beacon, in the data
    directory the service shares with this process); the seconds waited."""
    from flows.handoff import relay_running

    started = time.monotonic()
    while not relay_running(url):
        if server.poll() is not None:
            raise SystemExit(f"the service exited with code {server.returncode}")
        if time.monotonic() - started > timeout_seconds:
            raise SystemExit(f"the service's relay did not start within {timeout_seconds} s")
        time.sleep(0.5)
    return time.monotonic() - started


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
              f"{kind.conflicts:>4} × 409 {kind.unsent:>5} unsent  p50 {percentile(values, 0.5):7.1f} ms  "
              f"p99 {p99:7.1f} ms  max {max(values):7.1f} ms  "
              f"{kind.rate_per_second:6.1f} req/s{ratio}")
        if kind.failed:
            print(f"  {phase:<8} {name:<14} errors by status or exception: "
                  + ", ".join(f"{status}: {n}" for status, n in sorted(kind.failed.items(),
                                                                        key=str)))
    print(f"  {phase:<8} CPU in cores: service {cpu.service:.2f} (its relay {cpu.relay:.2f}), "
          f"load generator {cpu.generator:.2f}, whole machine {cpu.machine:.2f} of "
          f"{os.cpu_count()}")
    return percentile(everything, 0.99)


class Writes:
    """The writes of the mixed phase: :meth:`call` ``n`` opens a newborn case (even ``n``) or
    decides the next undecided step of one of ``cases`` in turn (odd ``n``: the step the
    last acknowledged decision on that case made ready, once the relay has advanced it, else
    a 409); :meth:`answered` keeps what was acknowledged and moves that case on."""

    def __init__(self, cases: list[str], steps: list[str], materials: list[str]) -> None:
        self.cases, self.steps, self.materials = cases, steps, materials
        self.next_step = dict.fromkeys(cases, 0)
        self.opened: list[str] = []
        self.decided: list[tuple[str, str]] = []

    def call(self, n: int) -> Call:
        if n % 2 == 0:
            return Call("opening", "/api/cases", {
                "procedure_id": "newborn", "submitted": self.materials,
                "applicant": {"name": f"来办人{n}", "id_number": ID_NUMBER}}, ok=201)
        case_id = self.cases[n // 2 % len(self.cases)]
        step_id = self.steps[min(self.next_step[case_id], len(self.steps) - 1)]
        return Call("decision", f"/api/cases/{case_id}/steps/{step_id}/decision",
                    {"outcome": "approve"})

    def answered(self, call: Call, body: bytes) -> None:
        if call.kind == "opening":
            self.opened.append(json.loads(body)["case_id"])
        else:
            _, _, _, case_id, _, step_id, _ = call.path.split("/")
            self.decided.append((case_id, step_id))
            self.next_step[case_id] = self.steps.index(step_id) + 1


def deciding_cases(args, seconds: float, steps: int = 9, gap_seconds: float = 5.0) -> int:
    """Cases to decide on for ``seconds`` of the mixed phase: each of newborn's ``steps``
    decided once with a margin, and at least ``gap_seconds`` between two decisions on one
    case, so the relay has advanced the case before its next step is decided."""
    decisions = args.write_rate * seconds / 2
    return math.ceil(max(decisions / steps * 1.5, args.write_rate / 2 * gap_seconds))


def check_acknowledged(url: str, writes: Writes, wait_seconds: float = 120.0) -> None:
    """Print how many acknowledged writes the database holds, and how long the relay took
    to advance every outbox row left pending at the end of the phase."""
    from sqlmodel import Session, col, func, select

    from flows.casework.store import make_engine
    from flows.casework.tables import Case, Decision, Outbox

    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        cases = set(session.exec(select(Case.id).where(col(Case.id).in_(writes.opened))))
        decided = {tuple(row) for row in session.exec(
            select(Decision.case_id, Decision.step_id).where(
                col(Decision.case_id).in_({case_id for case_id, _ in writes.decided})))}
        print(f"  acknowledged writes in the database: openings {len(cases)} of "
              f"{len(writes.opened)}, decisions {len(decided & set(writes.decided))} of "
              f"{len(writes.decided)}")
        pending = left = session.exec(select(func.count()).where(
            col(Outbox.processed_at).is_(None))).one()
        while left and time.perf_counter() - started < wait_seconds:
            time.sleep(0.5)
            session.commit()
            left = session.exec(select(func.count()).where(
                col(Outbox.processed_at).is_(None))).one()
    engine.dispose()
    print(f"  outbox rows not yet advanced at the end of the phase: {pending}; "
          f"{left} left after {time.perf_counter() - started:.1f} s")


def bundle_materials() -> list[str]:
    """Every material of the newborn bundle the window opens (a case opens accepted)."""
    from flows import casework

    return [i.material_id for i in casework.notification_list(
        casework.window_procedure("newborn"))]


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


def mixed(args, port: int, tokens: tuple[str, str], paths: list[Call], writes: Writes,
          meter: CpuMeter, seconds: float, reads_p99_alone: float,
          baseline_p99: float) -> None:
    """Run and report the mixed phase: ``paths`` read with the first of ``tokens`` at
    ``--rate`` less ``--write-rate``, ``writes`` made with the second at ``--write-rate``."""
    async def both() -> list[dict[str, Kind]]:
        return await asyncio.gather(
            load("127.0.0.1", port, tokens[0], lambda n: paths[n % len(paths)],
                 rate_per_second=args.rate - args.write_rate, seconds=seconds,
                 connections=args.connections),
            load("127.0.0.1", port, tokens[1], writes.call, rate_per_second=args.write_rate,
                 seconds=seconds, connections=args.write_connections,
                 answered=writes.answered))

    print(f"mixed {seconds:.0f} s: reads at {args.rate - args.write_rate:.0f} req/s, "
          f"decisions and openings at {args.write_rate:.0f} req/s; load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)
    meter.start()
    reads, made = asyncio.run(both())
    report("mixed", {**reads, **made}, meter.stop(), baseline_p99)
    reads_p99 = percentile([v for k in reads.values() for v in k.latencies_ms], 0.99)
    writes_p99 = percentile([v for k in made.values() for v in k.latencies_ms], 0.99)
    print_windows("reads", reads, seconds)
    print_windows("writes", made, seconds)
    print(f"  mixed reads p99 {reads_p99:.1f} ms = ×{reads_p99 / reads_p99_alone:.2f} the "
          f"read-only load's p99 ({reads_p99_alone:.1f} ms); writes p99 {writes_p99:.1f} ms "
          f"(target < 100 ms); load average {os.getloadavg()[0]:.1f} at the end")


def print_windows(name: str, kinds: dict[str, Kind], seconds: float,
                  windows: int = 10) -> None:
    """One line: the p99 of ``kinds``' requests due in each of ``windows`` equal parts of
    the phase, in order (a tail that grows as the phase goes on shows here)."""
    width = seconds / windows
    parts: list[list[float]] = [[] for _ in range(windows)]
    for kind in kinds.values():
        for due, latency in zip(kind.due_seconds, kind.latencies_ms, strict=True):
            parts[min(windows - 1, int(due // width))].append(latency)
    print(f"  mixed    {name} p99 by {width:.0f} s: "
          + " ".join(f"{percentile(part, 0.99):.0f}" if part else "-" for part in parts)
          + " ms", flush=True)


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
    parser.add_argument("--mixed-seconds", type=float, default=None,
                        help="length of the mixed phase (default: --seconds; 0: none)")
    parser.add_argument("--write-rate", type=float, default=50.0,
                        help="decisions and openings per second in the mixed phase, "
                             "within --rate")
    parser.add_argument("--write-connections", type=int, default=16,
                        help="client connections of the writes")
    parser.add_argument("--vacuum-seconds", type=float, default=30.0,
                        help="where the server runs without autovacuum, VACUUM ANALYZE the "
                             "bench's database this often, as autovacuum would (0: never)")
    args = parser.parse_args()
    baseline_seconds = args.baseline_seconds or min(60.0, args.seconds / 5)
    mixed_seconds = args.seconds if args.mixed_seconds is None else args.mixed_seconds

    name = f"onething_bench_api_{secrets.token_hex(6)}"
    server = vacuum = None
    data_dir = Path(tempfile.mkdtemp(prefix="onething-bench-api-"))
    from process_models.settings import settings

    settings.data_dir = data_dir  # the audit key and the relay's beacon, shared
    try:
        started = time.perf_counter()
        url = create_database(name)
        case_ids, deciding, steps = fill(url, args.cases, deciding_cases(args, mixed_seconds))
        print(f"database {name}: {len(case_ids)} open newborn cases to read, "
              f"{len(deciding)} to decide, in {time.perf_counter() - started:.1f} s",
              flush=True)
        if args.vacuum_seconds > 0 and not autovacuum_on(url):
            vacuum = Vacuum(url, args.vacuum_seconds)
            vacuum.start()
            print(f"PostgreSQL runs without autovacuum here: the bench vacuums its database "
                  f"every {args.vacuum_seconds:.0f} s in its stead (--vacuum-seconds 0: never)",
                  flush=True)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "ONETHING_DATABASE_URL": url, "ONETHING_ENVIRONMENT": "test",
               "ONETHING_DATA_DIR": str(data_dir),
               "ONETHING_SECRET_KEY": secrets.token_urlsafe(32), "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(args.workers), "--no-access-log",
             "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
        wait_until_up(base_url, server)
        print(f"the service's relay watched the database "
              f"{wait_until_relaying(url, server):.0f} s after the service answered",
              flush=True)
        token = log_in(base_url)
        print(f"service: uvicorn api.main:app, {args.workers} workers, PostgreSQL; load: "
              f"{args.rate:.0f} req/s open loop over at most {args.connections} connections; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start",
              flush=True)

        per_board = round((1 - args.board_share) / args.board_share) \
            if args.board_share > 0 else 0
        paths = []
        for n, case_id in enumerate(case_ids):
            paths.append(Call("case status", f"/api/cases/{case_id}"))
            if per_board and (n + 1) % per_board == 0:
                paths.append(Call("case board", "/api/cases"))

        sampler = MemorySampler(server.pid)
        sampler.start()
        meter = CpuMeter(server.pid)

        def phase(token: str | None, paths: list[Call],
                  seconds: float) -> tuple[dict[str, Kind], CpuUse]:
            meter.start()
            kinds = asyncio.run(load("127.0.0.1", port, token, lambda n: paths[n % len(paths)],
                                     rate_per_second=args.rate, seconds=seconds,
                                     connections=args.connections))
            return kinds, meter.stop()

        health, health_cpu = phase(None, [Call("GET /health", "/health")], baseline_seconds)
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
        if mixed_seconds > 0:
            writes = Writes(deciding, steps, bundle_materials())
            mixed(args, port, (token, log_in(base_url, ADMIN)), paths, writes, meter,
                  mixed_seconds, overall, baseline_p99)
            check_acknowledged(url, writes)
    finally:
        if vacuum is not None:
            vacuum.stopped.set()
            vacuum.join()
        if server is not None:
            stop_service(server)
        drop_database(name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
