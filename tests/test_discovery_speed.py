"""The fast path of ``onething discover`` (columns read at once, working days counted by
array) gives exactly the procedure the row-by-row path gave: the same YAML and the same
report, byte for byte, on the WABO log and on generated logs of every shape the reader
takes. The expected files in ``tests/data/discovery/`` were written by the row-by-row
path before the fast one replaced it."""

from __future__ import annotations

import csv
import gzip
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from process_models.calendar import country_calendar
from process_models.loading import dump_procedure
from simulations.interchange.log_cases import log_cases
from simulations.interchange.read import LogColumns, read_log
from simulations.planning.discovery import discover

EXPECTED = Path(__file__).parent / "data" / "discovery"
WABO = Path(__file__).resolve().parents[2] / "shared" / "logs" / "wabo_receipt.csv"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
RARE = [f"code-{k:02d}" for k in range(40)]


def _run(rng: random.Random, runs: list, at: datetime, activity: str, hours: int) -> datetime:
    """Add a run of ``activity`` starting up to three hours after ``at``; its end."""
    start = at + timedelta(hours=rng.randint(0, 3))
    end = start + timedelta(hours=hours)
    runs.append((activity, start, end))
    return end


def generated_runs(seed: int, cases: int = 300) -> list[list[tuple[str, datetime, datetime]]]:
    """Cases of (activity, start, end): 受理, then 审查 A and 现场/勘验 in either order, 补正
    and a second 审查 A in some, 会审 in most, a rare code in a few, then 发证; gaps of whole
    hours so that some events share a timestamp."""
    rng = random.Random(seed)
    out = []
    for _ in range(cases):
        at = datetime(2025, 2, 20, 8) + timedelta(days=rng.randint(0, 70),
                                                  hours=rng.randint(0, 9))
        runs: list[tuple[str, datetime, datetime]] = []
        at = _run(rng, runs, at, "受理", rng.randint(0, 2))
        pair = [("审查 A", rng.randint(4, 60)), ("现场/勘验", rng.randint(4, 90))]
        rng.shuffle(pair)
        for activity, hours in pair:
            at = _run(rng, runs, at, activity, hours)
        if rng.random() < 0.2:
            at = _run(rng, runs, at, "补正", rng.randint(10, 200))
            at = _run(rng, runs, at, "审查 A", rng.randint(2, 30))
        if rng.random() < 0.7:
            at = _run(rng, runs, at, "会审", rng.randint(1, 40))
        if rng.random() < 0.04:
            at = _run(rng, runs, at, rng.choice(RARE), rng.randint(0, 5))
        _run(rng, runs, at, "发证", rng.randint(0, 20))
        out.append(runs)
    return out


def _zoned(at: datetime) -> str:
    return at.replace(tzinfo=AMSTERDAM).isoformat(sep=" ")


SHAPES = {
    # name: (header, rows of one run, delimiter, columns, calendar)
    "zoned": (["case:concept:name", "concept:name", "time:timestamp", "org:group",
               "org:resource"],
              lambda c, a, s, e, k: [[c, a, _zoned(e), "" if k % 5 == 0 else f"G{len(a)}",
                                      f"R{k % 7}"]], ",", LogColumns(), "NL"),
    "lifecycle": (["case", "activity", "lifecycle:transition", "timestamp", "user"],
                  lambda c, a, s, e, k: [[c, a, "start", s.isoformat(), f"u{k % 3}"],
                                         [c, a, "complete", e.isoformat(), f"u{k % 3}"]],
                  "\t", LogColumns(), "CN"),
    "dates": (["办件编号", "环节", "办结日期", "部门"],
              lambda c, a, s, e, k: [[c, a, e.date().isoformat(), f"部门{len(a)}"]], ";",
              LogColumns(case="办件编号", activity="环节", timestamp="办结日期", group="部门"),
              "CN"),
    "start_end": (["case_id", "step", "started_at", "decided_at", "department"],
                  lambda c, a, s, e, k: [[c, a, s.strftime("%Y/%m/%d %H:%M"),
                                          e.strftime("%Y/%m/%d %H:%M"), "窗口"]], "|",
                  LogColumns(start_timestamp="started_at"), "DE"),
}


def write_shape(shape: str, seed: int, folder: Path, gz: bool = False) -> Path:
    header, rows_of, delimiter, _, _ = SHAPES[shape]
    path = folder / f"{shape}-{seed}.csv{'.gz' if gz else ''}"
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for i, runs in enumerate(generated_runs(seed)):
            for k, (a, s, e) in enumerate(runs):
                w.writerows(rows_of(f"C-{seed}-{i}", a, s, e, k))
    return path


def discovered(path: Path, columns: LogColumns, calendar: str) -> tuple[str, str]:
    """The procedure's YAML and the report's JSON for one log."""
    found = discover(log_cases(read_log(path, columns), file=str(path)), log=path.name,
                     calendar=country_calendar(calendar))
    return dump_procedure(found.procedure), json.dumps(found.as_dict(), ensure_ascii=False,
                                                        indent=1, sort_keys=True)


CASES = [(shape, seed, gz) for shape in SHAPES for seed, gz in ((1, False), (2, shape == "zoned"))]


@pytest.mark.parametrize(("shape", "seed", "gz"), CASES)
def test_a_generated_log_gives_the_procedure_the_row_by_row_path_gave(shape, seed, gz,
                                                                      tmp_path):
    path = write_shape(shape, seed, tmp_path, gz)
    yaml_text, report = discovered(path, SHAPES[shape][3], SHAPES[shape][4])
    name = f"{shape}-{seed}"
    assert yaml_text == (EXPECTED / f"{name}.yaml").read_text(encoding="utf-8")
    assert report == (EXPECTED / f"{name}.json").read_text(encoding="utf-8")


@pytest.mark.skipif(not WABO.exists(), reason="the WABO log is not checked out")
def test_the_wabo_log_gives_the_procedure_the_row_by_row_path_gave():
    yaml_text, report = discovered(WABO, LogColumns(), "NL")
    assert yaml_text == (EXPECTED / "wabo_receipt.yaml").read_text(encoding="utf-8")
    assert report == (EXPECTED / "wabo_receipt.json").read_text(encoding="utf-8")
