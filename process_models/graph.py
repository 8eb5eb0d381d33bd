"""A procedure as a networkx graph, for analysis and drawing.

>>> from process_models.catalog import load_catalog_procedure
>>> g = to_graph(load_catalog_procedure("newborn"))
>>> g.nodes["household_registration"]["department"]
'police'
>>> g.edges["birth_certificate", "household_registration"]["kind"]
'legal'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from process_models.procedure import Procedure

if TYPE_CHECKING:  # networkx costs ~0.2 s to import; only callers who need it pay for it
    import networkx as nx

__all__ = ["to_graph"]


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
        for m in st.milestones or st.steps:
            g.add_edge(m, st.id, kind="milestone", lag_days=0.0, lag_unit="working")
    for s in proc.steps:
        for d in s.depends_on:
            g.add_edge(
                d.step,
                s.id,
                kind=d.kind.value,
                lag_days=d.lag.days if d.lag else 0.0,
                lag_unit=d.lag.unit.value if d.lag else "working",
            )
    return g
