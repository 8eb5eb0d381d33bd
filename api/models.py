"""Request and response models of the HTTP API (the ``CaseCreate`` / ``CasePublic`` families).

Tables live in :mod:`flows.casework.tables` and :mod:`flows.casework.accounts`; these
models say what a client sends and what each role gets back. Applicants' personal data
reach a response only through :func:`applicant_public`, which applies the role's view
(:func:`api.masking.personal_data`).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from api.applicant import EXAMPLE_ID_NUMBER, ApplicantCreate
from api.masking import PersonalData, mask_phone
from flows.casework.identity import mask_id_number
from flows.casework.views import (
    AgentView,
    CertificateView,
    CommitmentView,
    CurrentStep,
    DecisionView,
    MaterialView,
    StepView,
)
from process_models.errors import Conflict, Forbidden, NotFound, OnethingError
from process_models.procedure import ID_PATTERN as PROCEDURE_ID_PATTERN  # noqa: F401 (the routes' one id rule)
from process_models.procedure import Id
from process_models.summary import ProcedureSummary

Colour = Literal["red", "yellow", "green"]
Outcome = Literal["approve", "reject", "supplement"]
Limits = Literal["committed", "statutory"]

REPORT_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
"""The media type of each file format a report is downloaded as."""


class ErrorMessage(BaseModel):
    """Every error answer: one line naming the field or thing, the bad value and the fix."""

    detail: str = Field(examples=["no catalog procedure 'newbron' (did you mean 'newborn'?)"])


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "no valid bearer token"},
    403: {"model": ErrorMessage, "description": "the role or department may not do this"},
    404: {"model": ErrorMessage, "description": "no such procedure, case or step"},
    409: {"model": ErrorMessage,
          "description": "the case or step moved on (closed, not ready, already decided)"},
    422: {"model": ErrorMessage, "description": "bad input; the message the CLI prints"},
}
"""The error answers every API route may give (see ``api/main.py``)."""

ERROR_STATUS: list[tuple[type[OnethingError], int]] = [
    (NotFound, 404),
    (Conflict, 409),          # DecisionConflict too
    (Forbidden, 403),
    (OnethingError, 422),     # ProcedureError, ScenarioError, InvalidInput, CalendarError, ...
]
"""First match wins: the status of each family of domain errors, for the API and the pages."""


def error_status(error: OnethingError) -> int:
    """The HTTP status of a domain error (:data:`ERROR_STATUS`).

    >>> error_status(NotFound("no case 'C-1'")), error_status(OnethingError("bad"))
    (404, 422)
    """
    return next(code for kind, code in ERROR_STATUS if isinstance(error, kind))


#: The checkout's folder, which messages shown to visitors never name.
_INSTALL_FOLDER = str(Path(__file__).resolve().parent.parent)


def public_message(error: OnethingError) -> str:
    """The error's one line as a visitor may read it: files named relative to the install
    folder, whose location is not shown.

    >>> from process_models.errors import ProcedureError
    >>> public_message(ProcedureError("bad", file=f"{_INSTALL_FOLDER}/process_models/x.yaml"))
    'process_models/x.yaml: bad'
    """
    return without_install_folder(str(error))


def without_install_folder(text: str) -> str:
    """``text`` with a file under the install folder named relative to it."""
    return text.replace(_INSTALL_FOLDER + "/", "").replace(_INSTALL_FOLDER, ".")


def plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as ``None``.

    >>> import numpy as np
    >>> plain({"a": [np.float64(1.5), float("inf")], "b": np.int64(2)})
    {'a': [1.5, None], 'b': 2}
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- accounts ---------------------------------------------------------------------------------


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"


class UserPublic(BaseModel):
    """A staff account, without its password hash."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    role: str
    departments: list[str]
    active: bool


class Health(BaseModel):
    """The service answers and its database is reachable."""

    status: Literal["ok"] = "ok"
    database: str = Field(examples=["sqlite"])


# --- procedures ------------------------------------------------------------------------------


@pydantic_dataclass(frozen=True)
class ProcedureSummaryPublic(ProcedureSummary):
    """One procedure in a list: its size and summed limits."""

    stored: bool = Field(description="uploaded to this service (else from the catalog)")


class ProcedurePublic(BaseModel):
    """A procedure definition (the YAML fields), its summary and the basis of every number."""

    procedure: dict[str, Any]
    summary: ProcedureSummaryPublic
    basis: dict[str, dict[str, Any]] = Field(
        description="every number by where it is (steps[id].committed …): value, basis "
        "(sourced, estimate, memory, fitted, inferred), source, and whether the file stated it")


class ProcedureVersionPublic(BaseModel):
    """One version of a procedure and where it is kept."""

    procedure_id: str
    version: str
    source: Literal["catalog", "stored"]
    stored_at: datetime | None = None
    published_at: datetime | None = Field(
        default=None, description="when an admin published it for new cases (stored only)")
    published_by: str | None = None


class ProcedurePublish(BaseModel):
    """The stored (or catalog) version new cases of a procedure open on from now."""

    version: str = Field(min_length=1, max_length=100, examples=["2025-reform"])


class NoticeItemPublic(BaseModel):
    """One line of the 一次性告知单."""

    material_id: str
    name: str
    key: bool
    deferrable: bool = Field(description="容缺受理: may be brought after acceptance")
    count: int
    steps: list[str]


class NotificationListPublic(BaseModel):
    """The 一次性告知单: every material the applicant brings, once."""

    procedure_id: str
    procedure_version: str
    name: str
    items: list[NoticeItemPublic]


# --- cases -----------------------------------------------------------------------------------------


class CaseCreate(BaseModel):
    """Open a case at the window (一窗受理) with the materials the applicant brought."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "procedure_id": "newborn",
        "applicant": {"name": "张三", "id_number": EXAMPLE_ID_NUMBER},
        "submitted": ["mother_id", "father_id", "marriage_certificate", "household_book",
                      "application_form"],
    }]})

    procedure_id: Id = Field(examples=["newborn"])
    applicant: ApplicantCreate
    submitted: list[str] = Field(default_factory=list, max_length=500)
    version: str | None = Field(
        default=None, max_length=100, examples=["before"],
        description="default the published, else the reformed bundle; 'before' the "
        "procedure before its reform, or a published version")


class MaterialsSubmit(BaseModel):
    """Materials brought after opening: 补正, or items owed under 容缺受理."""

    material_ids: list[str] = Field(min_length=1, max_length=500, examples=[["photo"]])


class DecisionCreate(BaseModel):
    """A department's decision on its step; reject and supplement need a reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"outcome": "approve"},
        {"outcome": "supplement", "reason": "照片不清晰", "materials": ["photo"]},
    ]})

    outcome: Outcome
    reason: str | None = Field(default=None, max_length=2000)
    materials: list[str] = Field(default_factory=list, max_length=500,
                                 description="materials asked for again (supplement)")
    expected_version: int | None = Field(
        default=None, description="the step version the decision was made on (optimistic lock)")


class WithdrawRequest(BaseModel):
    """The applicant withdraws the case (撤回)."""

    reason: str = Field(min_length=1, max_length=2000, examples=["申请人撤回"])


class ResumeRequest(BaseModel):
    """An admin resumes a step paused for 补正 that nothing else can move on."""

    reason: str = Field(min_length=1, max_length=2000, examples=["补正未列材料，恢复办理"])


class ApplicantPublic(BaseModel):
    """The applicant as the current role may see them (masked or withheld fields)."""

    name: str
    id_number: str
    address: str | None = None
    phone: str | None = None
    kind: str = "person"
    legal_representative: str | None = None
    masked: bool


def applicant_public(case, view: PersonalData) -> ApplicantPublic | None:
    """The applicant of ``case`` for a role with personal-data ``view``."""
    if view == "none":
        return None
    if view == "full":
        return ApplicantPublic(name=case.applicant_name, id_number=case.applicant_id_number,
                               address=case.applicant_address, phone=case.applicant_phone,
                               kind=case.applicant_kind,
                               legal_representative=case.legal_representative, masked=False)
    return ApplicantPublic(
        name=case.applicant_name, id_number=mask_id_number(case.applicant_id_number),
        phone=mask_phone(case.applicant_phone) if case.applicant_phone else None,
        kind=case.applicant_kind, legal_representative=case.legal_representative, masked=True,
    )


class CaseBase(BaseModel):
    """What the board and the case page both tell of a case."""

    case_id: str
    procedure_id: str
    procedure_version: str
    status: str
    colour: Colour
    applicant: ApplicantPublic | None
    received_at: datetime
    due_date: date | None


class CaseSummary(CaseBase):
    """One case on the board."""

    stuck_steps: list[str] = Field(
        default=[], description="steps paused for 补正 that nothing brought can resume: "
                                "stuck until an admin resumes them")
    current_steps: list[CurrentStep] = Field(
        default=[], description="the steps being worked on now, soonest due first, each with "
                                "its committed due date and colour")


class CasesPublic(BaseModel):
    """The case board: matching cases and the count of each colour among them."""

    data: list[CaseSummary]
    count: int
    colours: dict[str, int] = Field(examples=[{"red": 1, "yellow": 2, "green": 7}])


class CasePublic(CaseBase):
    """Everything about one case."""

    accepted_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    version: int
    current_steps: list[CurrentStep]
    steps: list[StepView]
    materials: list[MaterialView]
    decisions: list[DecisionView]
    certificates: list[CertificateView]
    commitments: list[CommitmentView]
    agents: list[AgentView] = Field(description="帮办代办: staff acting for the applicant")


class AgentCreate(BaseModel):
    """帮办代办: the member of staff acting for the applicant, on the applicant's
    authorisation (委托书)."""

    agent: str = Field(min_length=1, max_length=200, examples=["王帮办"])
    authorisation: str = Field(min_length=1, max_length=500, examples=["委托书 2025-031"])


class CommitmentCreate(BaseModel):
    """告知承诺 at the window: the letter's text and the applicant who signs it."""

    text: str = Field(min_length=1, max_length=5000,
                      examples=["本人承诺所填信息真实，符合许可条件；如有不实，愿承担撤销许可的后果。"])
    signed_by: str = Field(min_length=1, max_length=200, examples=["张三"])


class CheckCreate(BaseModel):
    """A department's 核查 of a commitment; a failed one needs a reason."""

    result: Literal["passed", "failed"]
    reason: str | None = Field(default=None, max_length=2000, examples=["现场核查无消毒设施"])


class PromiseCreate(BaseModel):
    """容缺: the date by which the applicant promises an owed material."""

    promised: date = Field(examples=["2025-03-07"])


class CheckTaskPublic(BaseModel):
    """A 核查 task with the names of its step and department."""

    case_id: str
    procedure_id: str
    procedure_version: str
    step_id: str
    step_name: str
    department_id: str
    department_name: str
    check_due_date: date
    colour: Colour


class CheckTasksPublic(BaseModel):
    """Open 核查 tasks of commitments, soonest due first; red when overdue."""

    data: list[CheckTaskPublic]
    count: int


class ChainReportPublic(BaseModel):
    """The result of walking the audit hash chain."""

    ok: bool
    events: int
    first_bad_seq: int | None
    problem: str | None
    kind: str | None = None
    """What broke (``flows.casework.audit_chain.BREAKS``)."""
    case_id: str | None = None
    message: str


# --- simulations --------------------------------------------------------------------------------


class ProcedureRef(BaseModel):
    """A procedure by id (stored versions first, then the catalog), optionally one version."""

    procedure_id: Id = Field(examples=["newborn"])
    version: str | None = Field(default=None, max_length=100)


class ScheduleRequest(ProcedureRef):
    """Critical path, slack and dates of a procedure."""

    limits: Limits = "committed"
    start: date | None = Field(default=None, description="acceptance date for real dates",
                               examples=["2025-01-24"])


class MonteCarloRequest(ProcedureRef):
    """Monte-Carlo risk of a procedure's elapsed time."""

    runs: int = Field(default=10_000, ge=1, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)


class ReformRequest(ProcedureRef):
    """Apply a reform scenario (YAML text; default: the catalog's own scenario)."""

    scenario: str | None = Field(default=None, max_length=200_000, examples=[
        "levers:\n- lever: parallelise\n"])
    limits: Limits = "committed"


class CompareRequest(BaseModel):
    """Before/after figures of two procedure versions."""

    before: ProcedureRef
    after: ProcedureRef
    limits: Limits = "committed"
