"""Capacity simulator against Prosimos 2.1.0 on Prosimos's Purchasing example.

Both engines run 10,000 cases of the same scenario (``../shared/bench-models``) as
child processes of this script, each under ``/usr/bin/time -v`` for wall time and peak
memory. Prosimos runs from its own virtual environment (``bench/.prosimos-venv``,
created here when missing). Then our engine runs a catalog-based service centre for
task events per second.

Calendar semantics, the same in both: weekly resource time tables with no public
holidays; a task starts when a pool member is free and inside the table and pauses
outside it; the next case arrives one sampled gap later, moved into the arrival calendar.

    .venv/bin/python bench/bench_capacity.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT.parent / "shared" / "bench-models"
BPMN = MODELS / "PurchasingExampleQBP.bpmn"
PARAMS = MODELS / "PurchasingExampleQBP_2.1.json"
VENV = ROOT / "bench" / ".prosimos-venv"
START = "2024-01-01T08:00:00+08:00"


def timed(cmd: list[str], **kw) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``cmd`` under /usr/bin/time -v: (process, wall seconds, peak MiB)."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                          check=False, **kw)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"{cmd[0]} failed:\n{proc.stderr[-2000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return proc, wall, int(peak.group(1)) / 1024 if peak else math.nan


def ensure_prosimos() -> Path:
    exe = VENV / "bin" / "prosimos"
    if not exe.exists():
        print(f"creating {VENV} with prosimos==2.1.0 ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "prosimos==2.1.0"],
                       check=True)
    return exe


def run_prosimos(cases: int) -> dict:
    exe = ensure_prosimos()
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.csv"
        _, wall, peak = timed([str(exe), "start-simulation", "--bpmn_path", str(BPMN),
                               "--json_path", str(PARAMS), "--total_cases", str(cases),
                               "--stat_out_path", str(stats), "--starting_at", START])
        cycle = math.nan
        with open(stats, encoding="utf-8") as f:
            for row in csv.reader(f):
                if row and row[0] == "cycle_time":
                    cycle = float(row[3])
                    break
    return {"wall_seconds": wall, "peak_mib": peak, "mean_cycle_hours": cycle / 3600}


def run_ours(cases: int) -> dict:
    proc, wall, peak = timed([sys.executable, __file__, "--child", "--cases", str(cases)],
                             cwd=ROOT)
    out = json.loads(proc.stdout)
    out.update(wall_seconds=wall, peak_mib=peak)
    return out


def child(cases: int) -> None:
    """One run of our engine on the Purchasing example; prints JSON."""
    from simulations.capacity.prosimos import load_prosimos, simulate_prosimos

    t = time.perf_counter()
    scenario = load_prosimos(BPMN, PARAMS)
    result = simulate_prosimos(scenario, cases=cases,
                               start=datetime.fromisoformat(START).replace(tzinfo=None), seed=1)
    print(json.dumps({"simulate_seconds": time.perf_counter() - t,
                      "mean_cycle_hours": result.mean_cycle_seconds / 3600,
                      "task_events": result.task_events}))


def service_centre() -> dict:
    """Every catalog procedure at 8 cases a day for a year, staff sized to ~80% load."""
    from process_models.catalog import load_catalog
    from simulations.capacity.plans import HOURS_PER_WORKING_DAY, StaffPlan, parse_arrivals
    from simulations.capacity.service_centre import procedure_graph, simulate_capacity

    per_day = 8.0
    graphs = [procedure_graph(p) for p in load_catalog()]
    hours: dict[str, float] = {}
    for g in graphs:
        for t in g.tasks:
            hours[t.pool] = hours.get(t.pool, 0.0) + per_day * t.work.mean / 3600
    staff = StaffPlan({d: max(1, math.ceil(h / HOURS_PER_WORKING_DAY / 0.8))
                       for d, h in hours.items()})
    arrivals = parse_arrivals({g.id: {"per_day": per_day, "rework_probability": 0.05}
                               for g in graphs})
    timings = []
    for _ in range(3):   # the machine is shared: keep the fastest of three identical runs
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate_capacity(graphs, start=date(2025, 1, 2), end=date(2025, 12, 31),
                                   arrivals=arrivals, staff=staff, seed=1)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = min(timings)
    return {"procedures": len(graphs), "departments": len(staff.staff),
            "staff": sum(staff.staff.values()),
            "cases": sum(p.cases for p in result.procedures.values()),
            "task_events": result.task_events, "wall_seconds": wall, "cpu_seconds": cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.cases)
        return
    if not BPMN.exists():
        sys.exit(f"missing {MODELS}: Prosimos's Purchasing example is needed")
    print(f"Purchasing example, {args.cases:,} cases, start {START}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("calendar semantics (both): weekly resource time tables, no public holidays; tasks "
          "start inside the table and pause outside it; arrivals moved into the arrival "
          "calendar")
    ours = run_ours(args.cases)
    theirs = run_prosimos(args.cases)
    print(f"{'':12}{'wall s':>10}{'peak MiB':>10}{'mean cycle h':>14}")
    print(f"{'onething':12}{ours['wall_seconds']:>10.2f}{ours['peak_mib']:>10.1f}"
          f"{ours['mean_cycle_hours']:>14.2f}   (simulation alone "
          f"{ours['simulate_seconds']:.2f} s, {ours['task_events']:,} task events)")
    print(f"{'prosimos':12}{theirs['wall_seconds']:>10.2f}{theirs['peak_mib']:>10.1f}"
          f"{theirs['mean_cycle_hours']:>14.2f}")
    print(f"ratio: {theirs['wall_seconds'] / ours['wall_seconds']:.1f}x faster, "
          f"{theirs['peak_mib'] / ours['peak_mib']:.1f}x less peak memory, mean cycle time "
          f"{(ours['mean_cycle_hours'] / theirs['mean_cycle_hours'] - 1) * 100:+.1f}% "
          "against Prosimos")
    sc = service_centre()
    print(f"service centre: {sc['procedures']} catalog procedures, {sc['departments']} "
          f"departments, {sc['staff']} staff, {sc['cases']:,} cases in 2025 (best of 3): "
          f"{sc['task_events']:,} task events in {sc['wall_seconds']:.2f} s wall "
          f"({sc['task_events'] / sc['wall_seconds']:,.0f}/s), {sc['cpu_seconds']:.2f} s CPU "
          f"({sc['task_events'] / sc['cpu_seconds']:,.0f}/s)")


if __name__ == "__main__":
    main()
