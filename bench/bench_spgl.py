"""SPGL tables in and out, against the XES writer and the CSV reader on the same events.

Generates ``--events`` events of cases of a few steps (start, sometimes 补正, a decision),
then, in this process, the best of three runs of:

1. writing them as SPGL tables (``audit export --format spgl``'s work) against writing
   them as XES (the baseline, the same events);
2. reading the SPGL tables back (``discover EXPORT``'s reading) against reading the same
   events from one CSV log sorted by case (the baseline: ``read_log``, which streams).

It prints the seconds of each, the ratio SPGL / baseline, and the peak memory Python
allocated while reading the tables (``tracemalloc``, in a separate run): the reader holds
the detail rows, since exports are not sorted by case, where the CSV reader holds one row.

Run: ``.venv/bin/python bench/bench_spgl.py [--events 200000]``.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from process_models.calendar import SERVICE_CENTRE_TZ
from simulations.interchange.eventlog import TRANSITIONS, Event
from simulations.interchange.read import read_log
from simulations.interchange.spgl import read_spgl, write_spgl
from simulations.interchange.xes import write_xes

REPEATS = 3
STEPS = [("规划许可", "规划科"), ("施工许可", "住建局"), ("消防审查", "消防科"),
         ("人防审查", "人防办"), ("联合验收", "住建局")]


def generated_events(count: int, seed: int = 0) -> list[Event]:
    """About ``count`` events, grouped by case and in time order within each."""
    rng = random.Random(seed)
    events: list[Event] = []
    start = datetime(2025, 1, 6, 9, tzinfo=SERVICE_CENTRE_TZ)
    n = 0
    while len(events) < count:
        at = start + timedelta(minutes=37 * n)
        for step, dept in STEPS[:rng.randint(2, len(STEPS))]:
            kinds = ["start", *(["supplement"] if rng.random() < 0.2 else []),
                     "reject" if rng.random() < 0.05 else "approve"]
            for kind in kinds:
                at += timedelta(seconds=rng.randint(60, 5 * 86400))
                events.append(Event(f"SL-{n:07d}", step, kind, at, dept,
                                    None if kind == "start" else f"staff-{rng.randint(1, 40)}",
                                    None, "gcxm"))
        n += 1
    return events


def write_csv_log(events: list[Event], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case:concept:name", "concept:name", "lifecycle:transition",
                    "time:timestamp", "org:resource", "org:group"])
        w.writerows([e.case_id, e.step_id, TRANSITIONS[e.kind], e.time, e.resource or "",
                     e.department_id or ""] for e in events)


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    events = generated_events(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        counter = iter(range(10 * REPEATS))
        spgl_write = best(lambda: write_spgl(events, root / f"spgl-{next(counter)}"))
        xes_write = best(lambda: write_xes(events, root / "log.xes"))
        log = root / "log.csv"
        write_csv_log(events, log)
        tables = root / "spgl-0"
        spgl_read = best(lambda: sum(1 for _ in read_spgl(tables)))
        csv_read = best(lambda: sum(1 for _ in read_log(log)))
        tracemalloc.start()
        sum(1 for _ in read_spgl(tables))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"events: {len(events)}")
    print(f"write: spgl {spgl_write:.2f} s, xes (baseline) {xes_write:.2f} s, "
          f"ratio spgl/xes {spgl_write / xes_write:.2f}")
    print(f"read: spgl {spgl_read:.2f} s, csv log (baseline) {csv_read:.2f} s, "
          f"ratio spgl/csv {spgl_read / csv_read:.2f}")
    print(f"read peak traced memory: {peak / 2**20:.0f} MB "
          f"({peak / len(events):.0f} bytes an event)")


if __name__ == "__main__":
    main()
