"""The planners' and auditors' pages: uploading a 200-step table, its graph, every page.

The service runs in this process (FastAPI's TestClient, a SQLite file of its own), without
entering its lifespan: that starts Prefect's temporary API server for case handling
(:func:`api.case_runner.case_handling`), which no page here needs; what the lifespan does
before, the bench does too (:func:`api.main.settle_heap`: start-up's objects left out of
the collector's full passes). A planner uploads a
200-step GBK step table (20 departments, each step after the one before it in its
department, every third dependency a practice one) ``--runs`` times; then each page is
asked for ``--runs`` times: the catalog planner on 工程建设项目审批 (its largest procedure)
laid backwards from a date (倒排), as is and with levers ticked, the workspace list, the
stored procedure's page (figures, graphs before and after, Gantt, Monte-Carlo risk) as is
and with levers ticked, two kept scenarios compared, the printable report, the county
report, and the auditor's page as an auditor; and the graph and the Word report through
the API. Baseline, measured in the same run: ``GET /health`` through the same client (the
cost of a request that does nothing). Prints p50 / p95 server time per request in ms and
p95 as a ratio to the baseline's. Pages that keep what they computed (the advisor's
ranking, the auditor's catalog report, the demo county) pay on their first run only: p95
over few runs shows that first run, p50 the others.

Run: ``.venv/bin/python bench/bench_workspace.py [--runs 20]``. Targets (the issue): upload
and graph under 1 s; each page under 300 ms at p95 (the Word report: reasonable, < 2 s).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

STEPS = 200
DEPARTMENTS = 20


def step_table() -> bytes:
    """``STEPS`` steps as a GBK CSV with the Chinese headers."""
    lines = ["事项,部门,前置事项,法定时限,承诺时限,时限单位,要件数,跑动次数,依赖类型"]
    for i in range(STEPS):
        before = f"事项{i - DEPARTMENTS}" if i >= DEPARTMENTS else ""
        kind = "惯例" if before and i % 3 == 0 else ("法定" if before else "")
        lines.append(f"事项{i},部门{i % DEPARTMENTS},{before},20,{3 + i % 7},工作日,2,1,{kind}")
    return ("\n".join(lines) + "\n").encode("gbk")


def timed(runs: int, request) -> list[float]:
    """Milliseconds of each of ``runs`` calls of ``request`` (each must answer 2xx)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = request()
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code < 300, answer.text[:300]
    return times


def login(client, username: str, password: str) -> None:
    """Log ``client`` in through the login form, as a browser does."""
    form = client.get("/login").text
    csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from api.main import create_app, settle_heap
    from api.security import create_access_token, hash_password
    from flows.casework.accounts import add_user
    from flows.casework.store import init_db, make_engine

    engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
    init_db(engine)
    password = hash_password("bench-password")
    with Session(engine) as session:
        planner_id = add_user(session, "bench_planner", password_hash=password,
                              role="planner", now=datetime.now(UTC)).id
        add_user(session, "bench_auditor", password_hash=password, role="auditor",
                 now=datetime.now(UTC))
    secret = "bench-workspace-" + "k" * 32
    headers = {"Authorization": "Bearer " + create_access_token(planner_id, secret_key=secret)}
    data = step_table()
    client = TestClient(create_app(engine, secret_key=secret, demo_accounts=False,
                                   relay=False))
    settle_heap()
    page, auditor = TestClient(client.app), TestClient(client.app)
    login(page, "bench_planner", "bench-password")
    login(auditor, "bench_auditor", "bench-password")

    def upload():
        return client.post("/api/workspace/procedures", headers=headers,
                           files={"file": ("二百事项.csv", data, "text/csv")})

    def keep(name: str, levers: list[str]) -> str:
        csrf = page.get(f"/workspace/{made}").text.split(
            'name="csrf_token" value="')[1].split('"')[0]
        answer = page.post(f"/workspace/{made}/scenarios", follow_redirects=False,
                           data={"name": name, "lever": levers, "csrf_token": csrf})
        return answer.headers["location"].split("scenario=")[1]

    made = upload().json()["id"]
    home = f"/api/workspace/procedures/{made}"
    pair = {"a": keep("并联", ["parallelise"]), "b": keep("并联合并", ["parallelise", "merge"])}
    catalog = {"procedure_id": "construction_permit", "finish_by": "2025-12-31"}
    walk = {
        "baseline GET /health": lambda: client.get("/health"),
        f"upload {STEPS}-step table": upload,
        "graph.svg": lambda: client.get(f"{home}/graph.svg", headers=headers),
        "page /planner (finish_by)": lambda: page.get("/planner", params=catalog),
        "page /planner, 2 levers": lambda: page.get("/planner", params={
            **catalog, "lever": ["parallelise", "share_data"]}),
        "page /workspace": lambda: page.get("/workspace"),
        "page of the procedure": lambda: page.get(f"/workspace/{made}"),
        "page, 2 levers ticked": lambda: page.get(f"/workspace/{made}", params={
            "lever": ["parallelise", "merge"]}),
        "page compare": lambda: page.get(f"/workspace/{made}/compare", params=pair),
        "page report (printable)": lambda: page.get(f"/workspace/{made}/report", params={
            "lever": ["parallelise"]}),
        "page /county": lambda: page.get("/county"),
        "page /auditor (auditor)": lambda: auditor.get("/auditor"),
    }
    measured = {name: timed(args.runs, request) for name, request in walk.items()}
    measured["report.docx"] = timed(max(args.runs // 4, 1), lambda: client.get(
        f"{home}/report.docx", params={"lever": ["parallelise"]}, headers=headers))
    base = statistics.quantiles(measured.pop("baseline GET /health"), n=20)[-1]
    print(f"baseline GET /health: p95 {base:7.1f} ms ({args.runs} runs)")
    for name, times in measured.items():
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(f"{name:28} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
              f"({p95 / base:6.1f}× baseline, {len(times)} runs)")
    engine.dispose()


if __name__ == "__main__":
    main()
