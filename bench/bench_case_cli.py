"""Wall time of each ``onething case`` command on the embedded default, against
``python -c pass`` and ``onething --help``.

The target is under 1 s for each command. A fresh data directory (SQLite, migrated by
the first command, which is not timed) holds the cases; each command runs ``--repeats``
times (default 5) in a fresh process, Prefect's home in the data directory, each time on a case of its own where it changes one, and the
best and median wall times are printed with the best CPU time (user + system) of the
process, which a busy shared machine inflates less. ``--checkout DIR`` times another
checkout of the code with this interpreter (the code before a change, say).

    .venv/bin/python bench/bench_case_cli.py
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
ID_NUMBER = "11010519491231002X"
PROCEDURE = "convenience_store"
"""A small reformed bundle: opened with every material it is accepted at once."""


class Cli:
    """``onething`` of one checkout on one data directory, run in fresh processes."""

    def __init__(self, checkout: Path, data_dir: Path) -> None:
        self.checkout = checkout
        self.env = {**os.environ, "ONETHING_DATA_DIR": str(data_dir),
                    "ONETHING_DATABASE_URL": "", "ONETHING_PREFECT_MODE": "embedded"}
        self.env.pop("PREFECT_API_URL", None)
        self.env["PREFECT_HOME"] = str(data_dir / "prefect")

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
                        *self.materials(), "--json"])[2]
        return json.loads(out)["case_id"]

    def materials(self) -> list[str]:
        """Every material of the 一次性告知单 of the bundle the window runs."""
        from flows import casework

        items = casework.notification_list(casework.window_procedure(PROCEDURE))
        return [part for item in items for part in ("-m", item.material_id)]

    def first_step(self, case_id: str) -> tuple[str, str]:
        shown = json.loads(self.run(["case", "show", case_id, "--json"])[2])
        step = next(s for s in shown["steps"] if s["status"] == "pending")
        return step["step_id"], step["department_id"]


def report(label: str, walls: list[float], cpu: float, baselines: dict[str, float]) -> None:
    ratios = "  ".join(f"{min(walls) / best:5.1f}x {name}"
                       for name, best in baselines.items())
    print(f"{label:44s} wall best {min(walls):6.3f} s  median {statistics.median(walls):6.3f} s"
          f"  cpu {cpu:6.3f} s  {ratios}")


def timed(cli: Cli, make_args, repeats: int) -> tuple[list[float], float]:
    """Wall times of ``repeats`` runs of the command ``make_args()`` names, best CPU time."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu, _out = cli.run(make_args())
        walls.append(wall)
        cpus.append(cpu)
    return walls, min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="the checkout whose code is timed (default: this one)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs of each command")
    options = parser.parse_args()
    checkout = options.checkout.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-case-cli-") as tmp:
        cli, n = Cli(checkout, Path(tmp)), options.repeats
        cli.open_case()                       # migrates the database; not timed
        pass_walls, pass_cpu = timed(cli, lambda: None, n)
        baselines = {"python -c pass": min(pass_walls)}
        report("python -c pass (baseline)", pass_walls, pass_cpu, baselines)
        help_walls, help_cpu = timed(cli, lambda: ["--help"], n)
        baselines["--help"] = min(help_walls)
        report("onething --help", help_walls, help_cpu, baselines)
        case_id = cli.open_case()
        step, department = cli.first_step(case_id)
        for label, args in [("case show", ["case", "show", case_id]),
                            ("case list", ["case", "list"]),
                            ("case checks", ["case", "checks"])]:
            report(f"onething {label}", *timed(cli, lambda args=args: args, n), baselines)
        opening = ["case", "open", PROCEDURE, "--name", "张三", "--id-number", ID_NUMBER,
                   *cli.materials()]
        report("onething case open", *timed(cli, lambda: opening, n), baselines)
        cases = [cli.open_case() for _ in range(n)]
        report("onething case decide",
               *timed(cli, lambda: ["case", "decide", cases.pop(), step, "approve",
                                    "--department", department], n), baselines)


if __name__ == "__main__":
    main()
