"""The audit trail is tamper-evident: any edit, deletion, insertion or reordering of
AuditEvent rows made directly in the database is found, naming the first bad event."""

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from flows.casework import (
    Applicant,
    advance_case,
    decide,
    notification_list,
    open_case,
    verify_chain,
)
from flows.casework.tables import AuditChainHead, AuditEvent, Decision, event_hash
from process_models import load_catalog_procedure

EVENTS = AuditEvent.__table__
FIELDS = ("seq", "case_id", "kind", "payload", "at", "prev_hash", "hash")


@pytest.fixture
def chain(session) -> list[AuditEvent]:
    """Three newborn cases, each with its first ready step approved: fifteen or so events."""
    proc = load_catalog_procedure("newborn")
    materials = [item.material_id for item in notification_list(proc)]
    for hour in (9, 10, 11):
        case = open_case(session, proc, Applicant("王五", "11010519491231002X"), materials,
                         now=datetime(2025, 9, 26, hour))
        step = session.exec(select(AuditEvent).where(
            AuditEvent.case_id == case.id, AuditEvent.kind == "step_started")).first()
        decide(session, case.id, step.payload["step_id"], "approve",
               department_id=step.payload["department_id"], decided_by="审批员",
               now=datetime(2025, 9, 29, hour))
        advance_case(session, case.id, now=datetime(2025, 9, 29, hour, 5))
    events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all())
    session.commit()
    return events


def report_after(engine, *statements):
    """verify_chain after ``statements``, run in a transaction that is then rolled back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        for statement in statements:
            connection.execute(statement)
        with Session(bind=connection) as session:
            report = verify_chain(session)
        transaction.rollback()
    return report


def test_an_untouched_chain_verifies(session, chain):
    report = verify_chain(session)
    assert report.ok and report.events == len(chain) >= 12
    assert str(report) == f"audit chain intact: {len(chain)} events"


def test_an_edited_event_is_named(engine, chain):
    target = chain[6]
    report = report_after(engine, update(EVENTS).where(EVENTS.c.seq == target.seq)
                          .values(payload={**target.payload, "forged": True}))
    assert (report.ok, report.first_bad_seq) == (False, target.seq)
    assert report.problem == (f"event {target.seq} ({target.kind}, case {target.case_id}) was "
                              "changed: its content does not match its hash")


def test_an_edit_that_recomputes_the_hash_is_named_by_the_broken_link_after_it(engine, chain):
    """Rewriting an event and its own hash breaks the link from the (intact) next event."""
    target = chain[6]
    payload = {**target.payload, "forged": True}
    forged = event_hash(target.prev_hash, seq=target.seq, case_id=target.case_id,
                        kind=target.kind, payload=payload, at=target.at)
    report = report_after(engine, update(EVENTS).where(EVENTS.c.seq == target.seq)
                          .values(payload=payload, hash=forged))
    assert (report.ok, report.first_bad_seq) == (False, target.seq)
    assert report.problem == (f"event {target.seq} was rewritten: event {target.seq + 1} links "
                              "to a different hash")


def test_a_deleted_event_is_named(engine, chain):
    target = chain[4]
    report = report_after(engine, delete(EVENTS).where(EVENTS.c.seq == target.seq))
    assert (report.ok, report.first_bad_seq) == (False, target.seq)
    assert report.problem.endswith("events are missing or out of order")


def test_deleting_the_last_events_is_caught_by_the_chain_head(engine, chain):
    report = report_after(engine, delete(EVENTS).where(EVENTS.c.seq >= chain[-2].seq))
    assert (report.ok, report.first_bad_seq) == (False, chain[-2].seq)
    assert report.problem == (f"the chain head names event {chain[-1].seq} but the last event "
                              f"is {chain[-3].seq}: events were deleted at the end")


def test_an_event_appended_without_the_chain_head_is_named(engine, chain):
    last = chain[-1]
    at = last.at + timedelta(minutes=1)
    seq = last.seq + 1
    forged = event_hash(last.hash, seq=seq, case_id=last.case_id, kind="decision",
                        payload={}, at=at)
    report = report_after(engine, insert(EVENTS).values(
        seq=seq, case_id=last.case_id, kind="decision", payload={}, at=at,
        prev_hash=last.hash, hash=forged))
    assert (report.ok, report.first_bad_seq) == (False, seq)
    assert "were added after the chain head" in report.problem


def test_swapping_two_events_is_caught_at_the_first_of_them(engine, chain):
    first, second = chain[3], chain[4]
    report = report_after(
        engine,
        update(EVENTS).where(EVENTS.c.seq == first.seq).values(seq=-1),
        update(EVENTS).where(EVENTS.c.seq == second.seq).values(seq=first.seq),
        update(EVENTS).where(EVENTS.c.seq == -1).values(seq=second.seq),
    )
    assert (report.ok, report.first_bad_seq) == (False, first.seq)


def test_the_chain_head_cannot_be_moved_back_silently(engine, chain):
    report = report_after(engine, update(AuditChainHead.__table__).values(seq=chain[-2].seq))
    assert (report.ok, report.first_bad_seq) == (False, chain[-1].seq)


def tampered_value(rng: random.Random, event: AuditEvent, field: str):
    """A different value of the right type for one field of one event."""
    if field == "seq":
        return event.seq + rng.randint(1_000, 1_000_000)
    if field == "case_id":
        return (event.case_id or "C-")[:-1] + rng.choice("XYZ")
    if field == "kind":
        return event.kind + rng.choice(["_", "x", "ed"])
    if field == "payload":
        payload = dict(event.payload)
        key = rng.choice(sorted(payload) + ["forged"])
        payload[key] = [payload.get(key), rng.randint(0, 9)]
        return payload
    if field == "at":
        return event.at + timedelta(microseconds=rng.choice([-1, 1]) * rng.randint(1, 10**10))
    text = getattr(event, field)
    position = rng.randrange(len(text))
    other = rng.choice([c for c in "0123456789abcdef" if c != text[position]])
    return text[:position] + other + text[position + 1:]


@pytest.mark.slow   # one verification per tampered field, seconds
def test_random_single_field_tampers_are_all_caught_naming_the_tampered_event(engine, chain):
    """1,000 tampers on SQLite (a smaller sample on PostgreSQL), seeded: each one is found,
    and the report names the event that was changed."""
    rng = random.Random(20250124)
    tampers = 1000 if engine.dialect.name == "sqlite" else 100
    missed = []
    for _ in range(tampers):
        event = rng.choice(chain)
        field = rng.choice(FIELDS)
        value = tampered_value(rng, event, field)
        report = report_after(engine, update(EVENTS).where(EVENTS.c.seq == event.seq)
                              .values({field: value}))
        if report.ok or report.first_bad_seq != event.seq:
            missed.append((event.seq, field, value, report))
    assert missed == []


def test_decisions_and_audit_events_cannot_be_changed_through_the_orm(session, chain):
    from process_models.errors import Conflict

    event = session.get(AuditEvent, chain[0].seq)
    event.kind = "forged"
    with pytest.raises(Conflict, match=r"^AuditEvent rows are insert-only; record a new one"):
        session.commit()
    session.rollback()
    session.delete(session.get(AuditEvent, chain[0].seq))
    with pytest.raises(Conflict, match=r"^AuditEvent rows are insert-only"):
        session.flush()
    session.rollback()
    decision = session.exec(select(Decision)).first()
    decision.reason = "backdated"
    with pytest.raises(Conflict, match=r"^Decision rows are insert-only"):
        session.flush()
    session.rollback()
    assert verify_chain(session).ok
