"""帮办代办: a member of staff acting on a case for its applicant, recorded as such.

Enterprises in 工程建设项目审批 rely on 帮办代办: a named member of staff (帮办员) brings
materials, answers 补正 and collects certificates on the applicant's behalf, under the
applicant's authorisation (委托书). :func:`record_agent` keeps who acts, for whom, since
when and on what authorisation, in the ``case_agent`` table and as one ``agent_recorded``
audit event (the applicant's name as a keyed digest, like ``case_opened``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from flows.casework._rows import Transaction, ensure_open, read_case
from flows.casework.audit_key import record_digest
from flows.casework.tables import CaseAgent, aware_time
from process_models.errors import InvalidInput

__all__ = ["record_agent"]


def _given(value: str | None, what: str, path: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{what} is empty; give it", path=path)
    if len(text) > limit:
        raise InvalidInput(f"{what} has {len(text)} characters; at most {limit}", path=path)
    return text


def record_agent(session: Session, case_id: str, *, agent: str, authorisation: str,
                 recorded_by: str, now: datetime) -> CaseAgent:
    """Record ``agent`` (a member of staff) acting on open case ``case_id`` for its applicant
    from ``now``, on ``authorisation`` (the 委托书 or its number); one transaction."""
    agent = _given(agent, "the agent's name", "agent", 200)
    authorisation = _given(authorisation, "the applicant's authorisation (委托书)",
                           "authorisation", 500)
    recorded_by = _given(recorded_by, "the member of staff recording it", "recorded_by", 200)
    at = aware_time(now)
    with Transaction(session) as tx:
        case, _definition = read_case(tx, case_id)
        ensure_open(case, "record an agent (帮办代办)")
        values = {"case_id": case.id, "agent": agent, "acting_for": case.applicant_name,
                  "authorisation": authorisation, "recorded_by": recorded_by, "at": at}
        row_id = tx.execute(insert(CaseAgent.__table__), values).inserted_primary_key[0]
        tx.audit(case.id, "agent_recorded", {
            "agent": agent, "acting_for_digest": record_digest(tx.key, case.applicant_name),
            "authorisation": authorisation, "recorded_by": recorded_by}, at)
    return CaseAgent(id=row_id, **values)
