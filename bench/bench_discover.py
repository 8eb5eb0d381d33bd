"""Discovery and fitting on a 50,000-event log, against PM4Py's heuristics miner.

Builds a CSV log of ``--events`` events by resampling the cases of a real log (default the
WABO receipt log, CC BY, J.C.A.M. Buijs 2014, doi:10.4121/uuid:a07386a5-7be3-4367-9535-
70bc9e77dbe6): each new case copies a random real case, shifted to a random start within
the real log's period, under a new id. Then, in this process:

1. ours: read the CSV by column (:func:`~simulations.interchange.read_columns.read_table`),
   group the cases and discover the procedure with fitted durations (``onething
   discover``'s work, without writing the file) on the Dutch calendar;
2. the baseline: PM4Py reads the same CSV with pandas and discovers a heuristics net
   (``pm4py.discover_heuristics_net``), the control flow alone;
3. ``onething fidelity``'s work on the same log (discovery, simulation of the later 30 %,
   the distances of ``log-distance-measures``, both baselines).

It prints the seconds of each (the best of three runs for ours and PM4Py's, in wall-clock
time and in CPU time of this process: on a shared machine other processes stretch the
wall clock of a short run more than its CPU time), the ratios baseline / ours, and the
peak memory Python allocated during a second run of ours (``tracemalloc``, which slows
the run it traces) and the process's peak resident memory before PM4Py is imported.
Targets: ours under 5 s and 500 MB, at least 5× faster than PM4Py; fidelity under 60 s.

Measured on the 2-core development machine (December 2026), the row-by-row reader before
(load ~10, wall clock only)::

    onething discover (read, group, discover, fit): 2.30 s, 6 steps, peak traced 18 MB, ...
    pm4py heuristics miner (read, discover): 1.31 s
    ratio pm4py / onething: 0.6x

and the column reader after (load ~9; bench/README.md holds more runs)::

    onething discover (read, group, discover, fit): 0.24 s (0.10 s CPU), 6 steps, ...
    pm4py heuristics miner (read, discover): 1.54 s (0.52 s CPU)
    ratio pm4py / onething: 6.5x wall clock, 5.4x CPU

Run: ``.venv/bin/python bench/bench_discover.py [--events 50000] [--log LOG.csv]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WABO = ROOT.parent / "shared" / "logs" / "wabo_receipt.csv"
CASE, TIME = "case:concept:name", "time:timestamp"
REPEATS = 3


def resampled_log(source: Path, events: int, target: Path, seed: int = 0) -> int:
    """Write about ``events`` events of resampled cases of ``source`` to ``target``."""
    with open(source, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        cases: dict[str, list[dict]] = {}
        for row in reader:
            cases.setdefault(row[CASE], []).append(row)
    runs = list(cases.values())
    starts = [datetime.fromisoformat(r[0][TIME]) for r in runs]
    first, span = min(starts), (max(starts) - min(starts)).total_seconds()
    rng = random.Random(seed)
    written = 0
    with open(target, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, header)
        w.writeheader()
        n = 0
        while written < events:
            k = rng.randrange(len(runs))
            shift = first + timedelta(seconds=rng.uniform(0, span)) - starts[k]
            n += 1
            for row in runs[k]:
                at = datetime.fromisoformat(row[TIME]) + shift
                w.writerow({**row, CASE: f"case-{n}", TIME: at.isoformat()})
                written += 1
    return written


def best_of(run, repeats: int = REPEATS) -> tuple[float, float]:
    """The least wall-clock and the least CPU seconds of ``repeats`` calls of ``run``."""
    wall = cpu = math.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def ours(log: Path) -> tuple[tuple[float, float], float, int]:
    """Seconds (wall, CPU), peak traced MB, and steps of discovery and fitting on ``log``."""
    from process_models.calendar import country_calendar
    from simulations.interchange.read_columns import read_table
    from simulations.planning.discovery import discover

    calendar = country_calendar("NL")
    calendar.working_days_between(datetime(2010, 1, 1).date(), datetime(2013, 1, 1).date())
    found = discover(read_table(log), log=str(log), calendar=calendar)
    seconds = best_of(lambda: discover(read_table(log), log=str(log), calendar=calendar))
    tracemalloc.start()  # a second run for memory: tracing slows every allocation
    discover(read_table(log), log=str(log), calendar=calendar)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, len(found.procedure.steps)


def pm4py_heuristics(log: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) PM4Py takes to read ``log`` and discover its heuristics net."""
    import pandas as pd
    import pm4py

    def run() -> None:
        frame = pd.read_csv(log)
        frame = pm4py.format_dataframe(frame, case_id=CASE, activity_key="concept:name",
                                       timestamp_key=TIME)
        pm4py.discover_heuristics_net(frame)

    return best_of(run)


def fidelity_seconds(log: Path) -> float:
    from process_models.calendar import country_calendar
    from simulations.interchange.log_cases import log_cases
    from simulations.interchange.read import read_log
    from simulations.planning.fidelity import fidelity

    t0 = time.perf_counter()
    fidelity(log_cases(read_log(log)), log=str(log), calendar=country_calendar("NL"))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--log", type=Path, default=WABO)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "resampled.csv"
        events = resampled_log(args.log, args.events, log)
        seconds, peak_mb, steps = ours(log)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"log: {events} events resampled from {args.log.name}")
        print(f"onething discover (read, group, discover, fit): {seconds[0]:.2f} s "
              f"({seconds[1]:.2f} s CPU), {steps} steps, peak traced {peak_mb:.0f} MB, "
              f"process peak RSS {rss_mb:.0f} MB")
        baseline = pm4py_heuristics(log)
        print(f"pm4py heuristics miner (read, discover): {baseline[0]:.2f} s "
              f"({baseline[1]:.2f} s CPU)")
        print(f"ratio pm4py / onething: {baseline[0] / seconds[0]:.1f}x wall clock, "
              f"{baseline[1] / seconds[1]:.1f}x CPU")
        print(f"onething fidelity (discover, simulate, distances, baselines): "
              f"{fidelity_seconds(log):.2f} s")


if __name__ == "__main__":
    main()
