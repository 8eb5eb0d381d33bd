"""Each package names its public names in ``__all__``, and every one of them resolves
(httpx's ``test_exported_members``): a change to a package's public face is a change to
this list."""

import importlib

import pytest

EXPORTED = {
    "process_models": [
        "Basis", "BpmnError", "CalendarError", "CalendarWarning", "CapacityError",
        "CaseNotFound", "Conflict", "DecisionConflict", "Department", "Dependency",
        "DependencyCycle", "DependencyKind", "Distribution", "DuplicateId", "EventLogError",
        "Figures", "Forbidden", "InvalidInput", "Item", "Join", "Limit", "Material",
        "MissingDependency", "NationalLists", "NotFound", "OnethingError", "Procedure",
        "ProcedureError",
        "ProcedureNotFound", "ProcedureSyntaxError", "Provenance", "Provider", "PublishedFigures",
        "ReadOnly", "Registry", "RegistryError",
        "SERVICE_CENTRE_TZ", "ScenarioError", "Source", "Stage", "Step", "StepKind",
        "TableError", "Unit", "UnknownReference", "UnsourcedNumber", "Untimed",
        "WorkingCalendar", "add_working_days", "catalog_ids", "check_procedure",
        "check_sourced", "country_calendar", "default_calendar", "did_you_mean",
        "dump_procedure", "figures", "load_catalog", "load_catalog_procedure",
        "load_national_lists", "load_procedure", "load_procedures", "load_registry",
        "load_table", "local_date", "local_time", "named_registry",
        "numbers", "parse_procedure", "procedure_data", "procedure_from_table",
        "procedure_paths", "save_procedure", "save_registry", "save_table", "sourced_line",
        "summarize",
        "table_from_procedure", "to_graph",
        "working_days_between",
    ],
    "process_models.registry": [
        "COLUMNS", "MAX_ITEMS", "Item", "OnlineLevel", "Registry",
        "ServiceLevel", "check_registry", "demo_county", "demo_versions", "dump_registry",
        "load_mapping", "load_registry", "parse_registry", "registry_from_sheets",
        "registry_rows", "save_registry",
    ],
    "simulations": [
        "Advice", "AuditReport", "CapacityResult", "CaseLimit", "Comparison", "CountyReport",
        "EXPORT_FORMATS", "Event", "GraphLayout", "LEVERS", "LogAudit", "LogCase", "LogColumns", "LogEvent",
        "Metrics", "Reform", "Risk", "Scenario", "Schedule", "SpglNames", "advise", "apply_scenario",
        "apply_scenario_text", "audit_log", "audit_report", "compare", "compare_risk",
        "county_report", "critical_path", "critical_path_length", "critical_paths",
        "export_events",
        "fit_distribution", "fit_procedure", "graph_layout", "graph_png", "graph_svg",
        "load_arrivals", "load_bpmn", "load_prosimos",
        "load_scenario", "load_staff", "log_cases", "log_durations", "measure", "open_log",
        "plot_gantt",
        "read_log", "read_spgl",
        "save_bpmn", "schedule", "simulate", "simulate_capacity", "simulate_prosimos",
        "what_if", "write_gantt", "write_spgl",
    ],
    "flows": [
        "ADVANCING_KINDS", "AdvanceSummary", "FLOWS", "InProcessWorker", "WORK_POOL",
        "advance", "advance_without_prefect", "deploy", "engine_for", "open_case",
        "open_without_prefect", "quiet_runs", "relay_once", "relay_running",
        "request_advance", "run_flow", "run_open_case", "run_relay", "run_worker",
        "sla_sweep", "uses_prefect",
    ],
    "flows.casework": [
        "ADVANCE_BATCH_CASES", "ADVANCING_KINDS", "AdvanceResult", "Anchor", "Applicant", "CHANGE_MARKER",
        "CLOSED_STATUSES", "CaseBoard", "CaseLine", "CaseStatus", "CaseView", "ChainReport",
        "CheckTask", "DEFERRAL_WORKING_DAYS", "NoticeItem", "OPEN_STATUSES", "OPEN_STEP_STATUSES",
        "SWEEP_BATCH_CASES", "StatusChange", "StepStatus", "SubmissionStatus",
        "advance_case", "advance_cases", "anchor_chain", "case_board", "case_colour",
        "case_timeline", "case_view", "check_commitment", "check_tasks", "decide",
        "drain_outbox", "init_db", "lock_chain", "make_engine",
        "mark_processed", "notification_list", "open_case", "pending_outbox",
        "promise_material", "publish_procedure", "resolve_procedure", "resume_step",
        "seal_chain", "settle_outbox", "sign_commitment", "step_colour",
        "store_procedure", "stuck_steps", "submit_materials", "sweep", "upload_procedure",
        "verify_chain", "window_procedure", "withdraw_case",
        "DepartmentGrade", "NoticeView", "PauseReason", "PauseView", "SupervisionLine",
        "answer_notice", "department_grades", "end_pause", "pause_step",
        "recompute_due_dates", "supervision_notices", "supervision_report",
        "CertificateCheck", "VerificationStatus", "verify_certificate", "record_agent",
        "LogSmsSender", "SmsSender", "appeal_rating", "call_back", "decide_appeal",
        "open_follow_ups", "rate_case", "rating_report", "rectify", "request_code",
        "store_material_file", "verify_code",
    ],
}


@pytest.mark.parametrize("package", EXPORTED)
def test_a_package_exports_exactly_the_names_listed_here(package):
    """``__all__`` is the list above, without duplicates."""
    exported = importlib.import_module(package).__all__
    assert sorted(exported) == sorted(EXPORTED[package])
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize("package", EXPORTED)
def test_every_exported_name_resolves(package):
    """``from package import name`` works for each name of ``__all__``."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
