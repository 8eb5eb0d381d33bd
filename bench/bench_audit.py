"""Auditors' figures over 100,000 cases on PostgreSQL: planned versus actual and event-log export.

Fills a database of its own (``onething_bench_audit_<hex>``, dropped at the end) with the
generated history of 100,000 newborn cases — cases, steps, decisions (with 补正) and
certificates — by COPY, then times, in this run:

- the baseline: ``SELECT count(*)`` over the same event rows (step starts, decisions,
  certificates), in events per second;
- ``audit actual`` (summary and the per-step CSV) and ``audit export`` in XES, OCEL 2.0
  JSON and OCEL 2.0 SQLite, each in events per second and as a ratio to the baseline,
  with the process's peak resident memory.

Run: ``.venv/bin/python bench/bench_audit.py [cases]``. Targets: each under 30 s, < 1 GB.
"""

from __future__ import annotations

import os
import resource
import secrets
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, cases: int, seed: int = 0, chunk_cases: int = 5000) -> dict[str, int]:
    """COPY generated history of ``cases`` newborn cases into the database at ``url``,
    ``chunk_cases`` at a time (memory stays flat)."""
    import numpy as np
    import psycopg

    from process_models.calendar import default_calendar
    from process_models.catalog import load_catalog_procedure
    from process_models.loading import dump_procedure

    proc = load_catalog_procedure("newborn")
    cal = default_calendar()
    rng = np.random.default_rng(seed)
    steps = [s for s in proc.steps if not getattr(s, "follow_up", False)]
    counts = dict.fromkeys(("cases", "steps", "decisions", "certificates"), 0)
    columns = {
        "cases": "id, procedure_id, procedure_version, applicant_name, applicant_id_number, "
                 "status, received_at, accepted_at, due_date, closed_at, version",
        "case_step": "id, case_id, step_id, department_id, status, started_at, due_date, "
                     "paused_working_days, version, decided_at",
        "decision": "id, case_id, case_step_id, step_id, outcome, reason, decided_by, "
                    "department_id, decided_at",
        "certificate": "id, number, name, case_id, step_id, department_id, issued_at",
    }
    keys = {"case_step": 0, "decision": 0, "certificate": 0}
    day0 = date(2024, 1, 2)
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO procedure_definition VALUES (%s, %s, %s, %s)",
                    (proc.id, proc.version, dump_procedure(proc), datetime.now(UTC)))
        for first in range(0, cases, chunk_cases):
            rows: dict[str, list] = {table: [] for table in columns}
            for n in range(first, min(cases, first + chunk_cases)):
                case_id = f"C-{n:08d}"
                day = cal.add_working_days(day0, n // 160)
                accepted = datetime.combine(day, datetime.min.time(), UTC) + \
                    timedelta(hours=1 + int(rng.integers(0, 8)))
                finish: dict[str, datetime] = {}
                for s in steps:
                    ready = max([finish[d.step] for d in s.depends_on if d.step in finish],
                                default=accepted)
                    took = max(0.0, rng.normal(s.committed.days * 0.7, 1 + s.committed.days / 4))
                    paused = int(rng.integers(1, 5)) if rng.random() < 0.1 else 0
                    decided = ready + timedelta(days=(took + paused) * 1.4,
                                                minutes=int(rng.integers(5, 90)))
                    finish[s.id] = decided
                    keys["case_step"] += 1
                    step_pk = keys["case_step"]
                    rows["case_step"].append((
                        step_pk, case_id, s.id, s.department, "approved", ready,
                        cal.add_working_days(ready.date(), s.committed.days + paused), paused, 2,
                        decided))
                    if paused:
                        keys["decision"] += 1
                        rows["decision"].append((keys["decision"], case_id, step_pk, s.id,
                                                 "supplement", "材料需补正", f"{s.department}-1",
                                                 s.department, ready + timedelta(hours=2)))
                    keys["decision"] += 1
                    rows["decision"].append((keys["decision"], case_id, step_pk, s.id, "approve",
                                             None, f"{s.department}-1", s.department, decided))
                closed = max(finish.values()) + timedelta(minutes=1)
                for s in steps:
                    for name in s.certificates:
                        keys["certificate"] += 1
                        rows["certificate"].append((keys["certificate"],
                                                    f"Z{keys['certificate']:010d}", name,
                                                    case_id, s.id, s.department, closed))
                rows["cases"].append((case_id, proc.id, proc.version, f"申请人{n}",
                                      "11010519491231002X", "approved", accepted, accepted,
                                      cal.add_working_days(day, 32), closed, 3))
            for table, batch in rows.items():
                with cur.copy(f"COPY {table} ({columns[table]}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            counts["cases"] += len(rows["cases"])
            counts["steps"] += len(rows["case_step"])
            counts["decisions"] += len(rows["decision"])
            counts["certificates"] += len(rows["certificate"])
        conn.commit()
        cur.execute("ANALYZE")
    return counts


def main() -> None:
    from sqlalchemy import create_engine, text
    from sqlmodel import Session

    from flows.casework.actual import ActualSummary, case_actuals
    from flows.casework.history import history_events
    from flows.casework.store import init_db, make_engine
    from simulations.interchange.export import export_events
    from simulations.planning.audit_report import View, write_views

    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
          "cpu = this process's CPU seconds (the database server's are not counted)",
          flush=True)
    name = f"onething_bench_audit_{secrets.token_hex(6)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    out_dir = Path(tempfile.mkdtemp(prefix="bench_audit_"))
    try:
        engine = make_engine(url)
        init_db(engine)
        t = time.perf_counter()
        counts = fill(url, cases)
        print(f"filled {counts['cases']:,} cases, {counts['steps']:,} steps, "
              f"{counts['decisions']:,} decisions, {counts['certificates']:,} certificates "
              f"by COPY in {time.perf_counter() - t:.1f} s", flush=True)

        with engine.connect() as c:
            t = time.perf_counter()
            events = c.execute(text(
                "SELECT count(*) FROM (SELECT 1 FROM case_step WHERE started_at IS NOT NULL "
                "UNION ALL SELECT 1 FROM decision UNION ALL SELECT 1 FROM certificate) e"
            )).scalar_one()
            baseline_s = time.perf_counter() - t
        baseline_rate = events / baseline_s
        print(f"baseline  SELECT count(*) over the event rows: {events:,} events in "
              f"{baseline_s:.2f} s = {baseline_rate:,.0f} events/s", flush=True)

        def report(label: str, seconds: float, n_events: int, extra: str = "") -> None:
            cpu = time.process_time() - cpu_start[0]
            rate = n_events / seconds
            verdict = "ok" if seconds < 30 and peak_rss_mb() < 1024 else "OVER TARGET"
            load = os.getloadavg()[0]
            print(f"{label:<28} {seconds:6.1f} s (cpu {cpu:5.1f} s, load {load:4.1f})  "
                  f"{rate:>10,.0f} events/s  "
                  f"= baseline / {baseline_rate / rate:,.0f}  peak RSS {peak_rss_mb():,.0f} MB"
                  f"  {extra}[{verdict}]", flush=True)

        cpu_start = [0.0]

        with Session(engine) as session:
            t, cpu_start[0] = time.perf_counter(), time.process_time()
            summary = ActualSummary()
            for case, steps in case_actuals(session, as_of=date(2026, 1, 1)):
                summary.add(case, steps)
            report("audit actual (summary)", time.perf_counter() - t, events,
                   f"{summary.cases:,} cases, 超期率 {summary.overdue_rate:.1%}  ")

        with Session(engine) as session:
            t, cpu_start[0] = time.perf_counter(), time.process_time()
            rows = ([s.case_id, s.step_id, s.department_id, s.elapsed_working_days,
                     s.paused_working_days, s.clock_working_days, s.overdue]
                    for _, steps in case_actuals(session, as_of=date(2026, 1, 1)) for s in steps)
            path = out_dir / "actual.csv"
            write_views([View("步骤", ["案件", "步骤", "部门", "经过", "暂停", "计时", "超期"],
                              rows)], path, "csv")
            report("audit actual --format csv", time.perf_counter() - t, events,
                   f"{path.stat().st_size / 1e6:,.0f} MB  ")

        for fmt, suffix in (("xes", "xes"), ("ocel-json", "json"), ("ocel-sqlite", "sqlite")):
            with Session(engine) as session:
                path = out_dir / f"log.{suffix}"
                t, cpu_start[0] = time.perf_counter(), time.process_time()
                n = export_events(history_events(session), path, fmt)
                report(f"audit export --format {fmt}", time.perf_counter() - t, n,
                       f"{path.stat().st_size / 1e6:,.0f} MB  ")
        engine.dispose()
    finally:
        for f in out_dir.iterdir():
            f.unlink()
        out_dir.rmdir()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
