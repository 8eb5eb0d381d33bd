"""onething's definition of a procedure: procedures, the working-day calendar, errors, settings.

This package imports nothing from ``simulations``, ``flows`` or ``api``. Each module is
loaded on first use of one of its names (:func:`process_models._exports.lazy_exports`), so
``from process_models.errors import InvalidInput`` does not load the catalog's tables.

>>> from process_models import load_catalog_procedure, to_graph
>>> len(to_graph(load_catalog_procedure("newborn"))) > 0
True
"""

from process_models._exports import lazy_exports

_HOMES = {
    "process_models.bundles": ["named_registry"],
    "process_models.calendar": [
        "SERVICE_CENTRE_TZ", "CalendarWarning", "WorkingCalendar", "add_working_days",
        "country_calendar", "default_calendar", "local_date", "local_time", "working_days_between",
    ],
    "process_models.catalog": ["catalog_ids", "load_catalog", "load_catalog_procedure"],
    "process_models.catalog.national_lists": ["NationalLists", "load_national_lists"],
    "process_models.errors": [
        "BpmnError", "CalendarError", "CapacityError", "CaseNotFound", "Conflict",
        "DecisionConflict", "DependencyCycle", "DuplicateId", "EventLogError", "Forbidden",
        "InvalidInput", "MissingDependency", "NotFound", "OnethingError", "ProcedureError",
        "ProcedureNotFound", "ProcedureSyntaxError", "ReadOnly", "RegistryError",
        "ScenarioError", "TableError", "UnknownReference", "UnsourcedNumber", "did_you_mean",
    ],
    "process_models.graph": ["to_graph"],
    "process_models.loading": [
        "check_procedure", "dump_procedure", "load_procedure", "load_procedures",
        "parse_procedure", "procedure_data", "procedure_paths", "save_procedure",
    ],
    "process_models.procedure": [
        "Basis", "Department", "Dependency", "DependencyKind", "Distribution", "Figures", "Join",
        "Limit", "Material", "Procedure", "Provenance", "Provider", "PublishedFigures", "Source",
        "Stage", "Step", "StepKind", "Unit", "Untimed",
    ],
    "process_models.provenance": ["check_sourced", "numbers", "sourced_line"],
    "process_models.registry": ["Item", "Registry", "load_registry", "save_registry"],
    "process_models.summary": ["figures", "summarize"],
    "process_models.table": [
        "load_table", "procedure_from_table", "save_table", "table_from_procedure",
    ],
}
__all__, __getattr__, __dir__ = lazy_exports("process_models", _HOMES)
