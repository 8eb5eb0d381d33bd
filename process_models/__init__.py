"""onething's domain: procedures, the working-day calendar, cases, errors and settings.

This package imports nothing from ``simulations``, ``flows`` or ``api``.

>>> from process_models import load_catalog_procedure, to_graph
>>> len(to_graph(load_catalog_procedure("newborn"))) > 0
True
"""

from process_models.errors import (
    CalendarError,
    CaseNotFound,
    Conflict,
    DecisionConflict,
    DependencyCycle,
    DuplicateId,
    EventLogError,
    Forbidden,
    InvalidInput,
    NotFound,
    OnethingError,
    ProcedureError,
    ProcedureNotFound,
    ProcedureSyntaxError,
    ScenarioError,
    TableError,
    UnknownReference,
    did_you_mean,
)
from process_models.calendar import (
    CalendarWarning,
    WorkingCalendar,
    add_working_days,
    default_calendar,
    working_days_between,
)
from process_models.graph import to_graph
from process_models.loading import (
    check_procedure,
    dump_procedure,
    load_procedure,
    load_procedures,
    parse_procedure,
    procedure_data,
    procedure_paths,
    save_procedure,
)
from process_models.procedure import (
    Basis,
    Department,
    Dependency,
    DependencyKind,
    Distribution,
    Figures,
    Join,
    Limit,
    Material,
    Procedure,
    Provider,
    PublishedFigures,
    Source,
    Stage,
    Step,
    StepKind,
    Unit,
    Untimed,
)
from process_models.catalog import catalog_ids, load_catalog, load_catalog_procedure
from process_models.table import load_table, procedure_from_table, save_table, table_from_procedure

__all__ = [name for name in dir() if not name.startswith("_")]
