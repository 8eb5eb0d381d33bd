"""Server memory through a fuzz run: malformed YAML, CSV and XLSX against the running service.

Starts ``onething serve`` as a county runs it (embedded SQLite in a throwaway folder, Prefect
in-process, a generated secret, 127.0.0.1 and a free port), logs in as a planner and, from
``--connections`` client threads:

1. the warm-up: every kind of request once with a valid document and once with a generated
   malformed one, so what the service imports or caches on first use is in place; then the
   idle resident memory (all the service's processes), the median of two seconds of samples;
2. the baseline: ``--requests`` valid small requests, the same kinds and shares as the fuzz
   run (catalog procedures to the validate route, catalog reform scenarios to the reform
   route);
3. the fuzz run: ``--requests`` documents drawn by Hypothesis from ``tests.strategies``
   (``malformed_yaml``: random bytes, cut documents, alias bombs, deep nesting, bad tags and
   dates, duplicate keys; ``malformed_csv`` and ``malformed_xlsx``: odd separators and
   encodings, huge numbers, 40,000-character cells, far cells, merged ranges, cut or
   flipped bytes), YAML as a procedure (``POST /api/procedures/validate``, the raw body) and
   as a reform scenario (``POST /api/simulations/reform``), step tables as the file of a
   multipart upload to the validate route, the only route that takes an uploaded file (no
   route reads a step table; ``onething import-table`` does, and ``tests/test_spreadsheets.py``
   fuzzes it).

The service's memory is sampled every 50 ms. Per phase it prints the requests sent, the
status codes, the largest and the final resident memory, the growth over the idle size and
the sum of the processes' peaks (``VmHWM``: a spike between two samples shows there); then
the fuzz run's growth against the baseline's. Each request has ``--timeout`` seconds,
each phase ``--phase-seconds``; what is left is counted unsent. The exit code is 1 when
the fuzz run grew the service by more than ``--max-growth-mb`` (50 MB), or any request
answered 5xx, failed or stayed unsent. The service and its folder go away at the end.

Run: ``.venv/bin/python bench/bench_fuzz_memory.py [--requests 1000]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_api import (
    MemorySampler,
    free_port,
    process_tree,
    rss_kb,
    stop_service,
    wait_until_up,
)

ROOT = Path(__file__).resolve().parent.parent
PLANNER, PASSWORD = "bench_planner", "bench-planner-password"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VALIDATE, REFORM = "/api/procedures/validate", "/api/simulations/reform"
SHARES = {"procedure": 4, "scenario": 2, "csv": 2, "xlsx": 2}
"""The shares of a run: YAML procedures to the validate route, YAML scenarios to the reform
route, and two shares of uploaded files (step tables in the fuzz run, CSV and XLSX; catalog
procedures in the baseline)."""


@dataclass(frozen=True)
class Probe:
    """One request: its kind and what ``httpx.Client.post`` sends."""

    kind: str
    path: str
    content: bytes | None = None
    json: dict | None = None
    files: dict | None = None

    def send(self, client, timeout_seconds: float) -> int:
        """The answer's status code."""
        return client.post(self.path, content=self.content, json=self.json, files=self.files,
                           timeout=timeout_seconds).status_code


def _yaml_procedure(text: str) -> Probe:
    return Probe("YAML procedure", VALIDATE, content=text.encode("utf-8", "replace"))


def _yaml_scenario(procedure_id: str, text: str) -> Probe:
    return Probe("YAML scenario", REFORM, json={"procedure_id": procedure_id, "scenario": text})


def _upload(kind: str, name: str, data: bytes, media_type: str) -> Probe:
    return Probe(kind, VALIDATE, files={"file": (name, data, media_type)})


def _interleaved(groups: dict[str, list[Probe]]) -> list[Probe]:
    """The probes of every group, mixed evenly in proportion to the groups' sizes.

    >>> [p.kind for p in _interleaved({"a": [Probe("a", "/")] * 2, "b": [Probe("b", "/")]})]
    ['a', 'b', 'a']
    """
    order = sorted(((i + 0.5) / len(probes), kind, i)
                   for kind, probes in groups.items() for i in range(len(probes)))
    return [groups[kind][i] for _, kind, i in order]


def counts(requests: int) -> dict[str, int]:
    """``requests`` split by :data:`SHARES`.

    >>> counts(151)
    {'procedure': 61, 'scenario': 30, 'csv': 30, 'xlsx': 30}
    """
    total = sum(SHARES.values())
    split = {group: requests * share // total for group, share in SHARES.items()}
    split["procedure"] += requests - sum(split.values())
    return split


def valid_probes(requests: int) -> list[Probe]:
    """The baseline: catalog procedures to validate (raw, and as uploaded files in the CSV
    and XLSX shares) and each one's catalog reform scenario to the reform route."""
    from process_models.catalog import CATALOG_DIR, catalog_ids
    from simulations.planning.scenario import catalog_scenario_path

    ids = [i for i in catalog_ids() if catalog_scenario_path(i).exists()]
    texts = {i: (CATALOG_DIR / f"{i}.yaml").read_text(encoding="utf-8") for i in ids}
    scenarios = {i: catalog_scenario_path(i).read_text(encoding="utf-8") for i in ids}

    def cycle(n: int) -> Iterator[str]:
        return (ids[k % len(ids)] for k in range(n))

    n = counts(requests)
    return _interleaved({
        "procedure": [_yaml_procedure(texts[i]) for i in cycle(n["procedure"])],
        "scenario": [_yaml_scenario(i, scenarios[i]) for i in cycle(n["scenario"])],
        "files": [_upload("YAML file upload", f"{i}.yaml", texts[i].encode(), "application/yaml")
                  for i in cycle(n["csv"] + n["xlsx"])],
    })


def _drawn(strategy, count: int, seed: int) -> list:
    """``count`` examples of ``strategy`` as a Hypothesis test run draws them (the same ones
    for the same seed)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    examples: list = []
    if not count:
        return examples

    @with_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(example) -> None:
        examples.append(example)

    draw()
    return examples[:count]


def malformed_probes(requests: int, seed: int = 0) -> list[Probe]:
    """The fuzz run: documents drawn from ``tests.strategies``, in the shares of :data:`SHARES`."""
    from tests.strategies import malformed_csv, malformed_xlsx, malformed_yaml

    n = counts(requests)
    return _interleaved({
        "procedure": [_yaml_procedure(t) for t in _drawn(malformed_yaml(), n["procedure"], seed)],
        "scenario": [_yaml_scenario("newborn", t)
                     for t in _drawn(malformed_yaml(), n["scenario"], seed + 1)],
        "csv": [_upload("CSV file upload", "steps.csv", data, "text/csv")
                for _, data in _drawn(malformed_csv(), n["csv"], seed)],
        "xlsx": [_upload("XLSX file upload", "steps.xlsx", data, XLSX)
                 for _, data in _drawn(malformed_xlsx(), n["xlsx"], seed)],
    })


@dataclass
class Phase:
    """What one phase sent, got back, and did to the service's memory."""

    name: str
    sent: int = 0
    unsent: int = 0
    statuses: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0
    max_kb: int = 0
    final_kb: int = 0
    peaks_kb: int = 0

    @property
    def server_errors(self) -> int:
        """Answers 5xx, plus requests that got no answer (a timeout or a dropped connection)."""
        return sum(n for status, n in self.statuses.items()
                   if not isinstance(status, int) or status >= 500)

    def growth_mb(self, idle_kb: int) -> float:
        """The largest resident memory of the phase over ``idle_kb``, in MB."""
        return (self.max_kb - idle_kb) / 1024


def run_phase(name: str, probes: list[Probe], base_url: str, token: str, *,
              sampler: MemorySampler, connections: int, timeout_seconds: float,
              phase_seconds: float) -> Phase:
    """Send ``probes`` over ``connections`` threads; stops sending after ``phase_seconds``."""
    import httpx

    phase = Phase(name)
    lock = threading.Lock()
    start = time.perf_counter()
    first_sample = len(sampler.samples_kb)

    def send(probe: Probe) -> None:
        if time.perf_counter() - start > phase_seconds:
            status: int | str = "unsent"
        else:
            try:
                status = probe.send(client, timeout_seconds)
            except httpx.HTTPError as error:
                status = type(error).__name__
        with lock:
            if status == "unsent":
                phase.unsent += 1
                return
            phase.sent += 1
            phase.statuses[status] += 1
            phase.by_kind.setdefault(probe.kind, Counter())[status] += 1

    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                      limits=httpx.Limits(max_connections=connections)) as client, \
            ThreadPoolExecutor(connections) as pool:
        list(pool.map(send, probes))
    phase.seconds = time.perf_counter() - start
    time.sleep(2 * sampler.interval_seconds)
    samples = sampler.samples_kb[first_sample:]
    phase.max_kb, phase.final_kb = max(samples), samples[-1]
    phase.peaks_kb = rss_kb(process_tree(sampler.pid), "VmHWM")
    return phase


def prepare(data_dir: Path) -> None:
    """A migrated embedded database in ``data_dir`` with the planner account."""
    from sqlmodel import Session

    from api.security import hash_password
    from flows.casework.accounts import add_user
    from flows.casework.store import init_db, make_engine

    engine = make_engine(f"sqlite:///{data_dir / 'onething.db'}")
    init_db(engine)
    with Session(engine) as session:
        add_user(session, PLANNER, password_hash=hash_password(PASSWORD), role="planner",
                 now=datetime.now(UTC))
    engine.dispose()


def start_service(data_dir: Path, port: int) -> subprocess.Popen:
    """``onething serve`` on ``data_dir`` (its output in ``data_dir/serve.log``)."""
    env = {**os.environ, "ONETHING_DATA_DIR": str(data_dir), "ONETHING_ENVIRONMENT": "test",
           "ONETHING_SECRET_KEY": secrets.token_urlsafe(48), "ONETHING_DATABASE_URL": "",
           "ONETHING_PREFECT_MODE": "embedded", "PREFECT_HOME": str(data_dir / "prefect"),
           "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    with open(data_dir / "serve.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve",
             "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_relaying(data_dir: Path, server: subprocess.Popen,
                        timeout_seconds: float = 300) -> None:
    """Wait until the service's relay process has started and watches the database (its
    beacon in ``data_dir``), so that its start-up is part of the idle size, not growth."""
    started = time.monotonic()
    while not any(data_dir.glob("relay-*-*.pid")):
        if server.poll() is not None:
            raise SystemExit(f"the service exited with code {server.returncode}")
        if time.monotonic() - started > timeout_seconds:
            raise SystemExit(f"the service's relay did not start within {timeout_seconds} s")
        time.sleep(0.2)


def log_in(base_url: str) -> str:
    import httpx

    answer = httpx.post(f"{base_url}/api/login/access-token",
                        data={"username": PLANNER, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


@dataclass
class FuzzRun:
    """The idle size and the two phases; :meth:`failures` says what broke the bound."""

    idle_kb: int
    idle_peaks_kb: int
    baseline: Phase
    fuzz: Phase
    max_growth_mb: float

    def failures(self) -> list[str]:
        problems = []
        if self.fuzz.growth_mb(self.idle_kb) > self.max_growth_mb:
            problems.append(f"the fuzz run grew the service by "
                            f"{self.fuzz.growth_mb(self.idle_kb):.1f} MB, over "
                            f"{self.max_growth_mb:.0f} MB")
        for phase in (self.baseline, self.fuzz):
            if phase.server_errors:
                problems.append(f"{phase.name}: {phase.server_errors} answers 5xx or none")
            if phase.unsent:
                problems.append(f"{phase.name}: {phase.unsent} requests unsent in time")
        return problems


def fuzz_service(requests: int, *, connections: int = 4, timeout_seconds: float = 30.0,
                 phase_seconds: float = 900.0, max_growth_mb: float = 50.0,
                 seed: int = 0) -> FuzzRun:
    """Start the service, warm it up, run the baseline and the fuzz run; stop it."""
    valid, malformed = valid_probes(requests), malformed_probes(requests, seed)
    one_round = sum(SHARES.values())
    warm_up = [*valid_probes(one_round), *malformed_probes(one_round, seed + 100)]
    with tempfile.TemporaryDirectory(prefix="onething-fuzz-memory-") as folder:
        data_dir = Path(folder)
        prepare(data_dir)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_service(data_dir, port)
        sampler = MemorySampler(server.pid, interval_seconds=0.05)
        try:
            wait_until_up(base_url, server)
            wait_until_relaying(data_dir, server)
            token = log_in(base_url)
            options = {"sampler": sampler, "connections": connections,
                       "timeout_seconds": timeout_seconds, "phase_seconds": phase_seconds}
            sampler.start()
            run_phase("warm-up", warm_up, base_url, token, **options)
            time.sleep(1.0)
            first = len(sampler.samples_kb)
            time.sleep(2.0)
            idle_kb = int(statistics.median(sampler.samples_kb[first:]))
            idle_peaks_kb = rss_kb(process_tree(server.pid), "VmHWM")
            baseline = run_phase("baseline", valid, base_url, token, **options)
            fuzz = run_phase("fuzz run", malformed, base_url, token, **options)
        finally:
            sampler.stopped.set()
            stop_service(server)
    return FuzzRun(idle_kb, idle_peaks_kb, baseline, fuzz, max_growth_mb)


def report(run: FuzzRun) -> None:
    mb = 1024
    print(f"idle RSS (all service processes, after the warm-up): {run.idle_kb / mb:.1f} MB; "
          f"their peaks (VmHWM, summed) {run.idle_peaks_kb / mb:.1f} MB")
    for phase in (run.baseline, run.fuzz):
        codes = ", ".join(f"{status}: {n}" for status, n in sorted(phase.statuses.items(),
                                                                    key=str))
        print(f"  {phase.name:<9} {phase.sent:>5} requests in {phase.seconds:6.1f} s, "
              f"{phase.unsent} unsent; max RSS {phase.max_kb / mb:7.1f} MB, "
              f"final {phase.final_kb / mb:7.1f} MB, growth {phase.growth_mb(run.idle_kb):+6.1f} "
              f"MB; peaks {phase.peaks_kb / mb:7.1f} MB; status codes {codes}")
        for kind, statuses in phase.by_kind.items():
            kind_codes = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str))
            print(f"    {kind:<17} {kind_codes}")
    base, fuzz = run.baseline.growth_mb(run.idle_kb), run.fuzz.growth_mb(run.idle_kb)
    ratio = f"×{fuzz / base:.1f}" if base >= 1 else "n/a (baseline growth under 1 MB)"
    print(f"fuzz growth {fuzz:+.1f} MB against the baseline's {base:+.1f} MB: {ratio}; "
          f"bound {run.max_growth_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000,
                        help="requests in the baseline and in the fuzz run, each")
    parser.add_argument("--connections", type=int, default=4, help="client threads")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--phase-seconds", type=float, default=900.0,
                        help="a phase stops sending after this long")
    parser.add_argument("--max-growth-mb", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed of the documents")
    args = parser.parse_args()
    started = time.perf_counter()
    run = fuzz_service(args.requests, connections=args.connections,
                       timeout_seconds=args.timeout, phase_seconds=args.phase_seconds,
                       max_growth_mb=args.max_growth_mb, seed=args.seed)
    print(f"onething serve (embedded SQLite, Prefect in-process), {args.requests} requests "
          f"per phase over {args.connections} connections, seed {args.seed}; "
          f"{time.perf_counter() - started:.0f} s in all, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    report(run)
    if problems := run.failures():
        print("FAILED: " + "; ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
