"""Wall time of ``onething simulate`` on catalog procedures, against ``python -c pass``.

The target is under half a second for the command itself. Each command runs several
times in a fresh process; the best and the median wall times are printed, and the best
CPU time (user + system) of the process, which a busy shared machine inflates less.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONETHING = str(Path(sys.executable).with_name("onething"))
REPEATS = 7


def seconds(argv: list[str]) -> tuple[list[float], float]:
    """Wall times of each run and the best CPU time."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, min(cpus)


def main() -> None:
    baseline, b_cpu = seconds([sys.executable, "-c", "pass"])
    b_best, b_median = min(baseline), statistics.median(baseline)
    print(f"{'python -c pass (baseline)':52s} wall best {b_best:6.3f} s  median "
          f"{b_median:6.3f} s  cpu {b_cpu:6.3f} s")
    commands = [
        ["simulate", "newborn"],
        ["simulate", "newborn", "--json"],
        ["simulate", "construction_permit", "--start", "2025-01-24"],
        ["simulate", "restaurant", "--runs", "100000", "--json"],
    ]
    for args in commands:
        walls, cpu = seconds([ONETHING, *args])
        best, median = min(walls), statistics.median(walls)
        print(f"{'onething ' + ' '.join(args):52s} wall best {best:6.3f} s  median "
              f"{median:6.3f} s  cpu {cpu:6.3f} s  ({best / b_best:4.1f}x baseline wall)")


if __name__ == "__main__":
    main()
