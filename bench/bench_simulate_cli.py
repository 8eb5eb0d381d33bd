"""Wall time of ``onething simulate`` on catalog procedures, against ``python -c pass``.

The target is under half a second for the command itself. Each command runs several
times in a fresh process; the best and the median are printed (the machine is shared).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONETHING = str(Path(sys.executable).with_name("onething"))
REPEATS = 7


def wall_seconds(argv: list[str]) -> list[float]:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    baseline = wall_seconds([sys.executable, "-c", "pass"])
    b_best, b_median = min(baseline), statistics.median(baseline)
    print(f"{'python -c pass (baseline)':52s} best {b_best:6.3f} s  median {b_median:6.3f} s")
    commands = [
        ["simulate", "newborn"],
        ["simulate", "newborn", "--json"],
        ["simulate", "construction_permit", "--start", "2025-01-24"],
        ["simulate", "restaurant", "--runs", "100000", "--json"],
    ]
    for args in commands:
        times = wall_seconds([ONETHING, *args])
        best, median = min(times), statistics.median(times)
        print(f"{'onething ' + ' '.join(args):52s} best {best:6.3f} s  median {median:6.3f} s  "
              f"({best / b_best:4.1f}x baseline, {best - b_best:5.3f} s over it)")


if __name__ == "__main__":
    main()
