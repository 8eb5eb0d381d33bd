"""The running service through a fuzz run: no 5xx, and memory within 50 MB of its idle size.

A smaller run of ``bench/bench_fuzz_memory.py``: ``onething serve`` in a child process on a
throwaway embedded database, 150 valid requests, then 150 generated malformed documents
(YAML procedures and scenarios, CSV and XLSX uploads).
"""

from __future__ import annotations

import pytest

from bench.bench_fuzz_memory import fuzz_service


@pytest.mark.slow
def test_a_fuzz_run_gets_no_server_error_and_grows_the_service_by_under_50_mb():
    """Every generated malformed document is answered 2xx or 4xx, in time, and the service's
    resident memory (all its processes) stays within 50 MB of its idle size."""
    run = fuzz_service(150, max_growth_mb=50.0)
    assert run.fuzz.sent == 150
    assert all(200 <= status < 500 for status in run.fuzz.statuses), run.fuzz.by_kind
    problems = run.failures()
    assert not problems, "; ".join(problems)
