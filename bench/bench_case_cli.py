"""Wall time of each ``onething case`` command on the embedded default, against
``python -c pass``.

The target is under 1 s for each command. A fresh data directory (SQLite, migrated by
the first command, which is not timed; the official days' cache file warmed by it too)
holds the cases; each command runs ``--repeats`` times (default 5) in a fresh process,
Prefect's home in the data directory, each time on a case of its own where it changes one.
Each line gives the best and median wall times, the best CPU time (user + system) of the
process, which a busy shared machine inflates less, and the best wall time as a multiple
of ``python -c pass``'s. ``--against DIR`` times another checkout of the code (the code
before a change, say) with this interpreter, each run alternating with this checkout's,
so both meet the same load; its lines follow, with this checkout's CPU time as a share of
its.

    .venv/bin/python bench/bench_case_cli.py
    .venv/bin/python bench/bench_case_cli.py --against ../main
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
TARGET_SECONDS = 1.0
ID_NUMBER = "11010519491231002X"
PROCEDURE = "convenience_store"
"""A small reformed bundle: opened with every material it is accepted at once."""


class Cli:
    """``onething`` of one checkout on one data directory, run in fresh processes."""

    def __init__(self, checkout: Path, data_dir: Path) -> None:
        self.checkout = checkout
        self.env = {**os.environ, "ONETHING_DATA_DIR": str(data_dir),
                    "ONETHING_DATABASE_URL": "", "ONETHING_PREFECT_MODE": "embedded",
                    "PREFECT_HOME": str(data_dir / "prefect"),
                    "XDG_CACHE_HOME": str(data_dir / "cache")}
        self.env.pop("PREFECT_API_URL", None)

    def argv(self, args: list[str] | None) -> list[str]:
        """The command line of ``onething args`` (``None``: ``python -c pass``)."""
        if args is None:
            return [sys.executable, "-c", "pass"]
        return [sys.executable, "-c", "from api.cli import main; main()", *args]

    def run(self, args: list[str] | None) -> tuple[float, float, str]:
        """Wall and CPU seconds of one command, and what it printed."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(self.argv(args), cwd=self.checkout, env=self.env,
                              capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
                done.stdout)

    def open_case(self) -> str:
        out = self.run(["case", "open", PROCEDURE, "--name", "张三", "--id-number", ID_NUMBER,
                        *materials(), "--json"])[2]
        return json.loads(out)["case_id"]

    def first_step(self, case_id: str) -> tuple[str, str]:
        shown = json.loads(self.run(["case", "show", case_id, "--json"])[2])
        step = next(s for s in shown["steps"] if s["status"] == "pending")
        return step["step_id"], step["department_id"]

    def commands(self, repeats: int) -> dict[str, Callable[[], list[str] | None]]:
        """Each timed command line by its label; a command that changes a case takes one
        of its own on each run."""
        case_id = self.open_case()
        step, department = self.first_step(case_id)
        to_decide = [self.open_case() for _ in range(repeats)]
        to_withdraw = [self.open_case() for _ in range(repeats)]
        return {
            "python -c pass": lambda: None,
            "onething --help": lambda: ["--help"],
            "onething case show": lambda: ["case", "show", case_id],
            "onething case list": lambda: ["case", "list"],
            "onething case checks": lambda: ["case", "checks"],
            "onething case open": lambda: ["case", "open", PROCEDURE, "--name", "张三",
                                           "--id-number", ID_NUMBER, *materials()],
            "onething case decide": lambda: ["case", "decide", to_decide.pop(), step,
                                             "approve", "--department", department],
            "onething case withdraw": lambda: ["case", "withdraw", to_withdraw.pop(),
                                               "--reason", "申请人撤回"],
        }


def materials() -> list[str]:
    """Every material of the 一次性告知单 of the bundle the window runs."""
    from flows import casework

    items = casework.notification_list(casework.window_procedure(PROCEDURE))
    return [part for item in items for part in ("-m", item.material_id)]


class Timing:
    """The runs of one command in one checkout."""

    def __init__(self) -> None:
        self.walls: list[float] = []
        self.cpus: list[float] = []

    def line(self, label: str, baseline: float, share_of: Timing | None = None) -> str:
        best = min(self.walls)
        mark = "under" if best < TARGET_SECONDS else "OVER "
        share = (f"  cpu {min(self.cpus) / min(share_of.cpus):4.0%} of --against"
                 if share_of else "")
        return (f"{label:34s} wall best {best:6.3f} s  median {statistics.median(self.walls):6.3f}"
                f" s  cpu {min(self.cpus):6.3f} s  {best / baseline:5.1f}x python -c pass  "
                f"{mark} {TARGET_SECONDS:g} s{share}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="the checkout whose code is timed (default: this one)")
    parser.add_argument("--against", type=Path, default=None,
                        help="another checkout timed alongside (e.g. the code before a change)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs of each command")
    options = parser.parse_args()
    checkouts = [options.checkout.resolve()]
    if options.against:
        checkouts.append(options.against.resolve())
    with tempfile.TemporaryDirectory(prefix="bench-case-cli-") as tmp:
        clis = [Cli(checkout, Path(tmp) / str(i)) for i, checkout in enumerate(checkouts)]
        for cli in clis:
            cli.open_case()                   # migrates the database; not timed
        commands = [cli.commands(options.repeats) for cli in clis]
        baseline = None
        for label in commands[0]:
            timings = [Timing() for _ in clis]
            for _ in range(options.repeats):  # the checkouts in turn: the same load
                for cli, own, timing in zip(clis, commands, timings, strict=True):
                    wall, cpu, _out = cli.run(own[label]())
                    timing.walls.append(wall)
                    timing.cpus.append(cpu)
            baseline = baseline or min(timings[0].walls)
            print(timings[0].line(label, baseline, timings[1] if options.against else None))
            if options.against:
                print(timings[1].line(f"  --against {label}", baseline))


if __name__ == "__main__":
    main()
