"""Deterministic CPM on a synthetic catalogue graph: 100,000 steps, 1,000,000 dependencies.

Baseline, in the same run: networkx ``dag_longest_path_length`` on the same graph, with
each step's duration moved onto its outgoing edges (networkx wants durations on edges) and
an end node every step leads to, so both compute the same elapsed time.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

from simulations.planning._compiled import compile_dag, forward, forward_backward

N_STEPS, N_DEPENDENCIES, SEED = 100_000, 1_000_000, 20240101


def synthetic_catalogue(rng: np.random.Generator, *, steps_per_procedure: int = 100,
                        shared_share: float = 0.1, cross_share: float = 0.05):
    """1,000 procedures of 100 steps. A dependency joins two steps of one procedure (the
    later waits for the earlier), or, one in twenty, waits for a step of a shared item
    (the first tenth of the catalogue: 营业执照, 户口登记 ...). Durations 0–20 working days;
    one lag in ten, of 1–5 days."""
    n_proc = N_STEPS // steps_per_procedure
    n_shared = max(1, int(n_proc * shared_share))
    pairs = np.empty(0, dtype=np.int64)
    while len(pairs) < N_DEPENDENCIES:
        k = N_DEPENDENCIES
        proc = rng.integers(0, n_proc, k)
        a = rng.integers(0, steps_per_procedure, k)
        b = rng.integers(0, steps_per_procedure, k)
        src = proc * steps_per_procedure + np.minimum(a, b)
        dst = proc * steps_per_procedure + np.maximum(a, b)
        cross = (rng.random(k) < cross_share) & (proc >= n_shared)
        src[cross] = rng.integers(0, n_shared * steps_per_procedure, int(cross.sum()))
        keep = src != dst
        pairs = np.unique(np.concatenate([pairs, src[keep] * N_STEPS + dst[keep]]))
    pairs = rng.permutation(pairs)[:N_DEPENDENCIES]
    src, dst = pairs // N_STEPS, pairs % N_STEPS
    duration = rng.integers(0, 21, N_STEPS).astype(float)
    lag = np.where(rng.random(N_DEPENDENCIES) < 0.1, rng.integers(1, 6, N_DEPENDENCIES), 0.0)
    return src, dst, lag, duration


def deep_graph(rng: np.random.Generator):
    """The same sizes with every dependency pointing a few hundred steps ahead: chains
    run through the whole graph (about 10,000 levels), the worst case for level passes."""
    pairs = np.empty(0, dtype=np.int64)
    while len(pairs) < N_DEPENDENCIES:
        src = rng.integers(0, N_STEPS - 1, N_DEPENDENCIES)
        dst = np.minimum(src + 1 + rng.geometric(1 / 150, N_DEPENDENCIES), N_STEPS - 1)
        pairs = np.unique(np.concatenate([pairs, src * N_STEPS + dst]))
    pairs = rng.permutation(pairs)[:N_DEPENDENCIES]
    lag = np.where(rng.random(N_DEPENDENCIES) < 0.1, rng.integers(1, 6, N_DEPENDENCIES), 0.0)
    return pairs // N_STEPS, pairs % N_STEPS, lag, rng.integers(0, 21, N_STEPS).astype(float)


def best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def measure(name: str, src, dst, lag, duration) -> None:
    print(f"{name}: {N_STEPS:,} steps, {len(src):,} dependencies")
    t_compile, g = best_of(3, lambda: compile_dag(N_STEPS, src, dst, lag, duration))
    t_forward, (_, ef) = best_of(5, lambda: forward(g))
    t_full, passes = best_of(5, lambda: forward_backward(g))

    graph = nx.DiGraph()
    graph.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), (duration[src] + lag).tolist()))
    graph.add_weighted_edges_from((u, "end", float(duration[u])) for u in range(N_STEPS))
    t_nx, nx_length = best_of(1, lambda: nx.dag_longest_path_length(graph))

    assert float(ef.max()) == passes.elapsed == nx_length, (ef.max(), passes.elapsed, nx_length)
    print(f"  elapsed working days (all agree): {passes.elapsed:g}; "
          f"{len(g.level_ptr) - 1} levels")
    print(f"  compile once (topological levels, CSR):   {t_compile:8.3f} s")
    print(f"  forward pass (critical_path_length):      {t_forward:8.3f} s")
    print(f"  forward + backward (times, slack):        {t_full:8.3f} s")
    print(f"  compile + forward + backward:             {t_compile + t_full:8.3f} s")
    print(f"  networkx dag_longest_path_length:         {t_nx:8.3f} s")
    print(f"  ratio networkx / forward pass:            {t_nx / t_forward:8.1f}x")
    print(f"  ratio networkx / forward + backward:      {t_nx / t_full:8.1f}x")
    print(f"  ratio networkx / compile + full CPM:      {t_nx / (t_compile + t_full):8.1f}x")


def main() -> None:
    measure("synthetic catalogue", *synthetic_catalogue(np.random.default_rng(SEED)))
    measure("deep graph (worst case)", *deep_graph(np.random.default_rng(SEED)))


if __name__ == "__main__":
    main()
