"""Analysis of procedures, procedure in and result out. See README.md.

Three families, one subpackage each:

- :mod:`simulations.planning`: critical path, before/after metrics, reform levers and
  scenarios, Monte-Carlo risk, the reform advisor, Gantt charts, the audit report and
  duration fitting;
- :mod:`simulations.capacity`: the service-centre capacity simulation, its discrete-event
  engine and process model, and Prosimos scenarios;
- :mod:`simulations.interchange`: BPMN and event-log formats (XES, OCEL, CSV).

The names below are importable from here; each module is loaded on first use, so
``onething simulate`` does not pay for the capacity engine or the event-log writers.

>>> from simulations import schedule
>>> schedule.__module__
'simulations.planning.cpm'
"""

from process_models._exports import lazy_exports

_HOMES = {
    "simulations.planning.advisor": ["Advice", "advise"],
    "simulations.planning.audit_report": ["AuditReport", "audit_report"],
    "simulations.planning.county_report": ["CountyReport", "county_report"],
    "simulations.planning.cpm": [
        "Schedule", "critical_path", "critical_path_length", "critical_paths", "schedule",
    ],
    "simulations.planning.fitting": ["fit_distribution", "fit_procedure", "log_durations"],
    "simulations.planning.gantt": ["plot_gantt", "write_gantt"],
    "simulations.planning.graph_drawing": ["GraphLayout", "graph_layout", "graph_png",
                                           "graph_svg"],
    "simulations.planning.metrics": ["Comparison", "Metrics", "compare", "measure"],
    "simulations.planning.montecarlo": ["Risk", "compare_risk", "simulate"],
    "simulations.planning.scenario": [
        "LEVERS", "Reform", "Scenario", "apply_scenario", "apply_scenario_text", "load_scenario",
    ],
    "simulations.capacity.plans": ["load_arrivals", "load_staff"],
    "simulations.capacity.service_centre": ["CapacityResult", "simulate_capacity", "what_if"],
    "simulations.capacity.prosimos": ["load_prosimos", "simulate_prosimos"],
    "simulations.interchange.bpmn": ["load_bpmn", "save_bpmn"],
    "simulations.interchange.eventlog": ["Event"],
    "simulations.interchange.export": ["EXPORT_FORMATS", "export_events"],
    "simulations.interchange.read": ["LogColumns", "LogEvent", "read_log"],
    "simulations.interchange.spgl": ["SpglNames", "open_log", "read_spgl", "write_spgl"],
    "simulations.interchange.log_cases": ["LogCase", "log_cases"],
    "simulations.planning.log_audit": ["CaseLimit", "LogAudit", "audit_log"],
}
__all__, __getattr__, __dir__ = lazy_exports("simulations", _HOMES)
