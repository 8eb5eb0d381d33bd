"""Monte-Carlo on a 50-step procedure: replications per second.

Baseline, in the same run: networkx ``dag_longest_path_length`` called once per
replication on the same graph, each step's drawn duration put on its outgoing edges (and
on an edge to an end node), the draws made beforehand so only networkx is timed.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

from process_models.procedure import Department, Distribution, Limit, Procedure, Step
from simulations.planning.montecarlo import quantile_table, simulate

N_STEPS, SEED = 50, 7
RUNS = 2_000_000
NX_RUNS = 2_000


def fifty_step_procedure(rng: np.random.Generator) -> Procedure:
    """Each step waits for one to three earlier ones; durations triangular, PERT and
    lognormal in turn, around 1–10 working days."""
    steps = []
    kinds = ("triangular", "pert", "lognormal")
    for i in range(N_STEPS):
        preds = sorted(set(rng.integers(0, i, rng.integers(1, 4)).tolist())) if i else []
        low = float(rng.integers(1, 6))
        kind = kinds[i % 3]
        dist = (Distribution(kind=kind, mean=low + 2, sd=1.0) if kind == "lognormal" else
                Distribution(kind=kind, low=low, mode=low + 1, high=low + 5))
        steps.append(Step(id=f"s{i:02d}", name=f"环节{i}", department="d",
                          committed=Limit(days=low + 2), depends_on=[f"s{j:02d}" for j in preds],
                          duration=dist))
    return Procedure(id="bench50", name="五十步", departments=[Department(id="d", name="D")],
                     steps=steps)


def networkx_replications_per_second(proc: Procedure, rng: np.random.Generator) -> float:
    graph = nx.DiGraph()
    for s in proc.steps:
        graph.add_edge(s.id, "end")
        for d in s.depends_on:
            graph.add_edge(d.step, s.id)
    tables = {s.id: quantile_table(s.duration) for s in proc.steps}
    draws = {sid: t[rng.integers(0, len(t), NX_RUNS)] for sid, t in tables.items()}
    out_edges = {s.id: list(graph.out_edges(s.id)) for s in proc.steps}
    t = time.perf_counter()
    for r in range(NX_RUNS):
        for sid, edges in out_edges.items():
            w = float(draws[sid][r])
            for u, v in edges:
                graph[u][v]["weight"] = w
        nx.dag_longest_path_length(graph)
    return NX_RUNS / (time.perf_counter() - t)


def main() -> None:
    proc = fifty_step_procedure(np.random.default_rng(SEED))
    n_deps = sum(len(s.depends_on) for s in proc.steps)
    print(f"procedure: {N_STEPS} steps, {n_deps} dependencies, every step drawn "
          f"(triangular / PERT / lognormal)")
    simulate(proc, runs=10_000, seed=0)  # warm up: numpy, quantile tables
    rates = {}
    for crit in (False, True):
        best = 0.0
        for _ in range(3):
            t = time.perf_counter()
            r = simulate(proc, runs=RUNS, seed=1, criticality=crit)
            best = max(best, RUNS / (time.perf_counter() - t))
        rates[crit] = best
        label = "with criticality index" if crit else "elapsed time only     "
        print(f"onething simulate, {RUNS:,} runs, {label}: {best:12,.0f} replications/s "
              f"(P50 {r.p50:.2f}, P90 {r.p90:.2f}, P95 {r.p95:.2f})")
    nx_rate = networkx_replications_per_second(proc, np.random.default_rng(1))
    print(f"networkx dag_longest_path_length per replication ({NX_RUNS:,} runs): "
          f"{nx_rate:12,.0f} replications/s")
    print(f"ratio, elapsed time only:  {rates[False] / nx_rate:8.0f}x")
    print(f"ratio, with criticality:   {rates[True] / nx_rate:8.0f}x")


if __name__ == "__main__":
    main()
