"""Step tables: importing a 10,000-row table, CSV and XLSX.

Baseline, measured in the same run: reading the same file's cells with the ``csv`` module
or openpyxl's read-only iterator alone, what any importer must pay. Prints seconds for the
cells (``read_table``: encoding detection, bounds, merges, formulas) and for the whole import
(``load_table``: also the checked procedure), each as a ratio to the baseline.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

from openpyxl import load_workbook

from process_models.table import load_table
from process_models.table_files import read_table, write_table

ROWS = 10_000


def table() -> list[list]:
    """A header and ``ROWS`` steps in 50 departments, each after the one before it in its
    department, with two materials of its own and one shared."""
    rows: list[list] = [["序号", "事项", "部门", "前置事项", "法定时限", "承诺时限", "要件", "跑动次数",
                         "备注"]]
    for i in range(ROWS):
        before = f"事项{i - 50}" if i >= 50 else ""
        rows.append([i + 1, f"事项{i}", f"部门{i % 50}", before, 20, 5 + i % 10,
                     f"申请表{i}、证明{i}、身份证", 1, "当场办结" if i % 7 == 0 else ""])
    return rows


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    rows = table()
    baselines = {
        ".csv": lambda p: list(csv.reader(p.open(encoding="utf-8-sig", newline=""))),
        ".xlsx": lambda p: list(load_workbook(p, read_only=True, data_only=True)
                                .active.iter_rows(values_only=True)),
    }
    for suffix, baseline in baselines.items():
        path = folder / f"steps{suffix}"
        write_table(rows, path)
        base = best_of(3, lambda: baseline(path))  # noqa: B023 (called right here)
        cells = best_of(3, lambda: read_table(path))  # noqa: B023
        whole = best_of(2, lambda: load_table(path))  # noqa: B023
        print(f"{suffix:5} {ROWS} rows: baseline {base:6.3f} s; read_table {cells:6.3f} s "
              f"({cells / base:4.1f}× baseline); load_table {whole:6.3f} s "
              f"({whole / base:4.1f}× baseline)")


if __name__ == "__main__":
    main()
