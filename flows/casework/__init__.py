"""The running case and its record: tables, operations, the audit chain, accounts.

Imports ``process_models`` and ``simulations``, never Prefect, FastAPI or ``api``: staff
reads and the CLI stay fast. Each module below is loaded on first use of one of its names
(:func:`process_models._exports.lazy_exports`), so a read does not import the operations.
See README.md.

The operations staff perform: :func:`open_case` (``opening.py``), :func:`submit_materials`
(``materials.py``), :func:`decide` (``decisions.py``), :func:`advance_case` and
:func:`withdraw_case` (``advancing.py``). Every operation is one transaction on a SQLModel
``Session``: it checks its input, takes the write lock
(:func:`flows.casework.store.begin_write` and the audit chain head, :func:`lock_chain`),
changes the tables of :mod:`flows.casework.tables`, appends hash-chained
:class:`~flows.casework.tables.AuditEvent` rows and an
:class:`~flows.casework.tables.Outbox` row, and commits. Bad input raises one
:class:`~process_models.errors.OnethingError` and writes nothing.

``now`` is passed in (aware, or naive service-centre time); days count on the
working-day calendar (:func:`process_models.calendar.default_calendar`), the
acceptance day not counted. The 一次性告知单 is :mod:`flows.casework.notice`, due dates
:mod:`flows.casework.due_dates`, colours and the sweep :mod:`flows.casework.colours`.

>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from sqlmodel import Session
>>> from flows.casework import (Applicant, advance_case, decide, notification_list,
...                             open_case, submit_materials, verify_chain)
>>> from process_models import parse_procedure
>>> from flows.casework.store import init_db, make_engine
>>> shop = parse_procedure('''
... id: shop
... name: 开店
... departments: [{id: samr, name: 市场监管局}, {id: tax, name: 税务局}]
... materials: [{id: id_card, name: 身份证}, {id: lease, name: 租赁合同, key: false}]
... steps:
...   - {id: licence, name: 营业执照, department: samr, committed: {days: 3},
...      materials: [id_card, lease], certificates: [营业执照]}
...   - {id: invoice, name: 发票申领, department: tax, committed: {days: 1},
...      depends_on: [licence], materials: [id_card], certificates: [发票]}
... ''')
>>> [(item.material_id, item.steps) for item in notification_list(shop)]
[('id_card', ('licence', 'invoice')), ('lease', ('licence',))]
>>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'cases.db'}")
>>> init_db(engine)
>>> with Session(engine) as session:
...     case = open_case(session, shop, Applicant("张三", "11010519491231002X"), ["id_card"],
...                      now=datetime(2025, 1, 24, 9, 30))    # lease owed (容缺受理)
...     print(case.id, case.status, case.due_date)
...     case = submit_materials(session, case.id, ["lease"], now=datetime(2025, 1, 26, 9, 0))
...     for step_id, department_id, day in [("licence", "samr", 27), ("invoice", "tax", 28)]:
...         _ = decide(session, case.id, step_id, "approve", department_id=department_id,
...                    decided_by="王五", now=datetime(2025, 1, day, 10, 0))
...         result = advance_case(session, case.id, now=datetime(2025, 1, day, 10, 1))
...     print(result.status, result.certificates, verify_chain(session).ok)
C-20250124-0001 accepted 2025-02-06
approved ('C-20250124-0001-01', 'C-20250124-0001-02') True
>>> engine.dispose()
"""

from process_models._exports import lazy_exports

_HOMES = {
    "flows.casework._rows": ["lock_chain"],
    "flows.casework.advancing": [
        "ADVANCE_BATCH_CASES", "AdvanceResult", "advance_case", "advance_cases", "drain_outbox",
        "withdraw_case",
    ],
    "flows.casework.agents": ["record_agent"],
    "flows.casework.applicant_login": ["LogSmsSender", "SmsSender", "request_code", "verify_code"],
    "flows.casework.audit_chain": [
        "CHANGE_MARKER", "Anchor", "ChainReport", "anchor_chain", "seal_chain", "verify_chain",
    ],
    "flows.casework.colours": [
        "SWEEP_BATCH_CASES", "StatusChange", "case_colour", "step_colour", "sweep",
    ],
    "flows.casework.commitments": ["check_commitment", "sign_commitment"],
    "flows.casework.decisions": ["decide"],
    "flows.casework.definitions": [
        "publish_procedure", "resolve_procedure", "store_procedure", "upload_procedure",
        "window_procedure",
    ],
    "flows.casework.due_dates": ["DEFERRAL_WORKING_DAYS"],
    "flows.casework.material_files": ["store_material_file"],
    "flows.casework.materials": [
        "promise_material", "resume_step", "stuck_steps", "submit_materials",
    ],
    "flows.casework.notice": ["NoticeItem", "notification_list"],
    "flows.casework.opening": ["Applicant", "open_case"],
    "flows.casework.outbox": [
        "ADVANCING_KINDS", "mark_processed", "pending_outbox", "settle_outbox",
    ],
    "flows.casework.pauses": ["PauseView", "end_pause", "pause_step", "recompute_due_dates"],
    "flows.casework.ratings": [
        "appeal_rating", "call_back", "decide_appeal", "open_follow_ups", "rate_case",
        "rating_report", "rectify",
    ],
    "flows.casework.store": ["init_db", "make_engine"],
    "flows.casework.supervision": [
        "DepartmentGrade", "NoticeView", "SupervisionLine", "answer_notice", "department_grades",
        "supervision_notices", "supervision_report",
    ],
    "flows.casework.tables": [
        "CLOSED_STATUSES", "OPEN_STATUSES", "OPEN_STEP_STATUSES", "CaseStatus", "PauseReason",
        "StepStatus", "SubmissionStatus",
    ],
    "flows.casework.verification": [
        "CertificateCheck", "VerificationStatus", "verify_certificate",
    ],
    "flows.casework.views": [
        "CaseBoard", "CaseLine", "CaseView", "CheckTask", "case_board", "case_timeline",
        "case_view", "check_tasks",
    ],
}
__all__, __getattr__, __dir__ = lazy_exports("flows.casework", _HOMES)
