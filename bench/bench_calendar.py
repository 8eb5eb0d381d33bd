"""Working-day calendar: per-call cost of add_working_days and working_days_between.

Baseline, measured in the same run: the same questions answered by walking day by day
with ``holidays.China.get_nth_working_day`` / ``get_working_days_count`` (what a
straightforward implementation does). Prints microseconds per call and the speed-up.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import holidays

from process_models.calendar import WorkingCalendar

FIRST = date(2020, 1, 1)
SPAN_DAYS = (date(2026, 10, 1) - FIRST).days


def per_call_us(fn, args: list[tuple]) -> float:
    start = time.perf_counter()
    for a in args:
        fn(*a)
    return (time.perf_counter() - start) / len(args) * 1e6


def main() -> None:
    rng = random.Random(20251124)
    cal = WorkingCalendar(warn_missing_years=False)  # 2027 may be reached: weekends only
    china = holidays.China(years=range(2020, 2028))
    cal.working_days_in(2020), cal.working_days_in(2026)  # build once, outside the timing

    def sample(n: int, max_days: int) -> list[tuple[date, int]]:
        return [(FIRST + timedelta(rng.randrange(SPAN_DAYS)), rng.randrange(1, max_days))
                for _ in range(n)]

    for max_days in (20, 120):
        ours = per_call_us(cal.add_working_days, sample(100_000, max_days))
        base = per_call_us(china.get_nth_working_day, sample(2_000, max_days))
        print(f"add_working_days (n < {max_days:>3}):        {ours:6.2f} µs/call; "
              f"day-by-day baseline {base:8.2f} µs/call; {base / ours:6.1f}× faster")

    pairs = [(a, a + timedelta(rng.randrange(0, 400))) for a, _ in sample(100_000, 2)]
    ours = per_call_us(cal.working_days_between, pairs)
    base = per_call_us(lambda a, b: china.get_working_days_count(a + timedelta(1), b),
                       pairs[:2_000])
    print(f"working_days_between (≤ 400 days): {ours:6.2f} µs/call; "
          f"day-by-day baseline {base:8.2f} µs/call; {base / ours:6.1f}× faster")


if __name__ == "__main__":
    main()
