"""A procedure's one graph: its edges (:func:`edges`), and that graph as networkx
(:func:`to_graph`) for analysis and drawing.

Every view of the graph is built from :func:`edges`: the cycle check when a procedure is
loaded (:func:`process_models.loading.check_procedure`), the compiled CPM view
(:func:`simulations.planning.cpm.compile_procedure`), the merge lever's cycle check and
:func:`to_graph`.

>>> from process_models.catalog import load_catalog_procedure
>>> g = to_graph(load_catalog_procedure("newborn"))
>>> g.nodes["household_registration"]["department"]
'police'
>>> g.edges["birth_certificate", "household_registration"]["kind"]
'legal'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from process_models.procedure import Dependency, Procedure

if TYPE_CHECKING:  # networkx costs ~0.2 s to import; only callers who need it pay for it
    import networkx as nx

__all__ = ["edges", "to_graph"]


def edges(proc: Procedure) -> Iterator[tuple[str, str, Dependency | None]]:
    """Every edge of ``proc`` as ``(before, after, dependency)``: each step's dependencies
    in step order (``dependency`` holds the kind and lag), then each stage's milestones
    (or, without milestones, its steps) → the stage (``dependency`` is ``None``: the stage
    waits for its members). Plain tuples, one at a time: every load's cycle check walks them.

    >>> from process_models.catalog import load_catalog_procedure
    >>> next(edges(load_catalog_procedure("newborn")))[:2]
    ('vaccination', 'birth_certificate')
    """
    for s in proc.steps:
        for d in s.depends_on:
            yield d.step, s.id, d
    for st in proc.stages:
        for m in st.milestones or st.steps:
            yield m, st.id, None


def to_graph(proc: Procedure) -> nx.DiGraph:
    """Return a ``DiGraph`` with one node per step and stage, one edge per dependency.

    Step nodes carry ``kind='step'`` and the step's fields (``name``, ``department``,
    ``committed_days``, ``committed_unit``, ``statutory_days``, ``untimed_days``,
    ``materials``, ``trips``); stage nodes carry ``kind='stage'`` and ``join``.
    Dependency edges carry ``kind`` (``legal``/``practice``), ``lag_days`` and
    ``lag_unit``; a stage's milestone edges carry ``kind='milestone'``.
    """
    import networkx as nx

    g = nx.DiGraph(id=proc.id, name=proc.name, version=proc.version)
    for s in proc.steps:
        g.add_node(
            s.id,
            kind="step",
            name=s.name,
            department=s.department,
            step_kind=s.kind.value,
            committed_days=s.committed.days,
            committed_unit=s.committed.unit.value,
            statutory_days=s.statutory.days if s.statutory else None,
            untimed_days=sum(u.days for u in s.untimed),
            materials=list(s.materials),
            trips=s.trips,
        )
    for st in proc.stages:
        g.add_node(st.id, kind="stage", name=st.name, join=st.join.value)
    for before, after, d in edges(proc):
        lag = d.lag if d else None
        g.add_edge(
            before,
            after,
            kind=d.kind.value if d else "milestone",
            lag_days=lag.days if lag else 0.0,
            lag_unit=lag.unit.value if lag else "working",
        )
    return g
