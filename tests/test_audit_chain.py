"""The audit trail is tamper-evident: any edit, deletion, insertion or reordering of
AuditEvent rows made directly in the database is found, naming the first bad event."""

import random
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, insert, text, update
from sqlmodel import Session, select

from flows.casework import (
    Applicant,
    advance_case,
    decide,
    notification_list,
    open_case,
    verify_chain,
)
from flows.casework.audit_key import audit_key, mac
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


def test_an_edit_that_recomputes_the_hash_is_named_by_its_mac(engine, chain):
    """Rewriting an event and its own hash leaves its MAC, made with the key, behind."""
    target = chain[6]
    payload = {**target.payload, "forged": True}
    forged = event_hash(target.prev_hash, seq=target.seq, case_id=target.case_id,
                        kind=target.kind, payload=payload, at=target.at)
    report = report_after(engine, update(EVENTS).where(EVENTS.c.seq == target.seq)
                          .values(payload=payload, hash=forged))
    assert (report.ok, report.first_bad_seq) == (False, target.seq)
    assert report.problem.startswith(f"event {target.seq} ({target.kind}, case "
                                     f"{target.case_id}) was rewritten and re-chained")


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
        prev_hash=last.hash, hash=forged, mac=mac(audit_key(), forged)))
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


# --- the records an auditor relies on, the key and the anchors (F11) ---------------------------

PERMIT = """
id: permit
name: 小餐饮登记
version: "2025"
departments: [{id: samr, name: 市场监管局}]
materials: [{id: id_card, name: 身份证}]
steps:
- {id: register, name: 登记, department: samr, committed: {days: 3}, materials: [id_card],
   certificates: [小餐饮登记证, 公示卡]}
"""


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """The audit key and the anchors file of each test live in its own folder."""
    from process_models.settings import settings

    monkeypatch.setattr(settings, "data_dir", tmp_path / "var")
    return tmp_path / "var"


@pytest.fixture
def issued(session, chain) -> str:
    """After the chain, a permit case approved with its two certificates; its id."""
    from flows.casework import upload_procedure
    from process_models import parse_procedure

    proc = parse_procedure(PERMIT)
    upload_procedure(session, proc, by="planner", now=datetime(2025, 9, 29, 8))
    case = open_case(session, proc, Applicant("赵六", "11010519491231002X", "宾县", "13800000000"),
                     ["id_card"], now=datetime(2025, 9, 29, 9))
    decide(session, case.id, "register", "approve", department_id="samr", decided_by="审批员",
           now=datetime(2025, 9, 29, 10))
    assert advance_case(session, case.id, now=datetime(2025, 9, 29, 10, 5)).certificates
    session.commit()
    return case.id


def last_events(session, count: int) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())
                             .limit(count)).all())[::-1]


@pytest.mark.parametrize("sql, problem", [
    (("UPDATE decision SET outcome = 'reject', reason = 'forged', decided_by = 'auditor' "
     "WHERE id = (SELECT min(id) FROM decision)"),
     (r"decision \d+ \(case C-\d{8}-\d{4}, step \w+\) was changed \(outcome, reason, "
     r"decided_by\): it no longer matches its decision event \d+")),
    ("UPDATE certificate SET name = '伪造证书' WHERE id = (SELECT min(id) FROM certificate)",
     r"the certificates of case C-\d{8}-\d{4} were changed, added or removed"),
    ("DELETE FROM certificate WHERE id = (SELECT max(id) FROM certificate)",
     r"the certificates of case C-\d{8}-\d{4} were changed, added or removed"),
    ("UPDATE cases SET applicant_id_number = '110101199003071233', applicant_name = '冒名'",
     r"case C-\d{8}-\d{4}: its applicant or procedure was changed"),
    ("UPDATE procedure_definition SET definition = replace(definition, '公示卡', '营业执照')",
     r"the stored definition of procedure 'permit' version '2025' was changed"),
    ("UPDATE procedure_definition SET published_at = stored_at, published_by = 'planner'",
     (r"procedure '\w+' version '[\w-]+' is marked published but no definition_published "
     r"event records it")),
    (("INSERT INTO decision (case_id, case_step_id, step_id, outcome, decided_by, department_id,"
     " decided_at) SELECT case_id, id, step_id, 'reject', 'x', department_id, started_at "
     "FROM case_step WHERE id = (SELECT min(id) FROM case_step)"),
     r"decision \d+ \(case C-\d{8}-\d{4}, step \w+\) has no decision event"),
])
def test_an_edited_decision_certificate_applicant_or_definition_is_named(engine, issued, sql,
                                                                          problem):
    """The records an auditor relies on are tied to the events that wrote them."""
    from sqlalchemy import text

    report = report_after(engine, text(sql))
    assert not report.ok
    assert re.search(problem, report.problem), report.problem


def test_events_rewritten_and_re_chained_without_the_key_are_named(engine, session, chain):
    """An insider edits one event and recomputes every hash after it and the head: the MAC
    of the first one rewritten no longer matches."""
    events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all())
    target = events[5]
    statements, prev = [], target.prev_hash
    for event in events[5:]:
        payload = {**event.payload, "forged": True} if event is target else event.payload
        forged = event_hash(prev, seq=event.seq, case_id=event.case_id, kind=event.kind,
                            payload=payload, at=event.at)
        statements.append(update(EVENTS).where(EVENTS.c.seq == event.seq)
                          .values(payload=payload, prev_hash=prev, hash=forged))
        prev = forged
    statements.append(update(AuditChainHead.__table__).values(hash=prev))
    report = report_after(engine, *statements)
    assert (report.ok, report.first_bad_seq) == (False, target.seq)
    assert "was rewritten and re-chained" in report.problem


def test_deleting_the_tail_and_moving_the_head_back_is_named(engine, session, chain):
    previous = chain[-2]
    report = report_after(engine, delete(EVENTS).where(EVENTS.c.seq == chain[-1].seq),
                          update(AuditChainHead.__table__).values(seq=previous.seq,
                                                                  hash=previous.hash))
    assert (report.ok, report.first_bad_seq) == (False, previous.seq)
    assert "the chain head (event" in report.problem and "set without the audit key" in \
        report.problem


def test_an_event_whose_mac_was_removed_is_named(engine, chain):
    report = report_after(engine, update(EVENTS).where(EVENTS.c.seq == chain[3].seq)
                          .values(mac=None))
    assert (report.ok, report.first_bad_seq) == (False, chain[3].seq)
    assert "carries no MAC" in report.problem


def test_an_anchor_catches_a_tail_cut_back_to_an_earlier_head(engine, session, chain):
    """Even with an older head row replayed (its own valid MAC), the anchor taken later
    names the events deleted at the end."""
    from flows.casework import anchor_chain

    earlier = session.exec(select(AuditChainHead)).one()
    earlier = (earlier.seq, earlier.hash, earlier.mac)
    more = open_case(session, load_catalog_procedure("newborn"),
                     Applicant("王五", "11010519491231002X"), [], now=datetime(2025, 9, 30, 9))
    anchor = anchor_chain(session)
    assert anchor.seq > earlier[0]
    report = report_after(engine, delete(EVENTS).where(EVENTS.c.case_id == more.id),
                          text("DELETE FROM submission WHERE case_id = :c").bindparams(c=more.id),
                          text("DELETE FROM case_step WHERE case_id = :c").bindparams(c=more.id),
                          text("DELETE FROM outbox WHERE case_id = :c").bindparams(c=more.id),
                          text("DELETE FROM cases WHERE id = :c").bindparams(c=more.id),
                          update(AuditChainHead.__table__).values(
                              seq=earlier[0], hash=earlier[1], mac=earlier[2]))
    assert (report.ok, report.first_bad_seq) == (False, earlier[0] + 1)
    assert report.problem == (f"audit-anchors.log line 1 anchored event {anchor.seq}, but the "
                              f"chain ends at event {earlier[0]}: events were deleted at the end")


def test_an_anchor_catches_a_chain_emptied_to_its_start(engine, session, chain):
    from flows.casework import anchor_chain

    anchor_chain(session)
    report = report_after(engine, *[text(f"DELETE FROM {table}") for table in (
        "audit_event", "decision", "certificate", "submission", "case_step", "outbox",
        "cases", "procedure_definition")],
        update(AuditChainHead.__table__).values(seq=0, hash="0" * 64, mac=None))
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert "events were deleted at the end" in report.problem


def test_an_edited_anchors_file_is_refused(session, chain, data_dir):
    from flows.casework import anchor_chain

    anchor = anchor_chain(session)
    path = data_dir / "audit-anchors.log"
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text(path.read_text().replace(f"\t{anchor.seq}\t", f"\t{anchor.seq - 1}\t"))
    report = verify_chain(session)
    assert not report.ok
    assert report.problem == ("audit-anchors.log line 1 is not an anchor written with the audit "
                              "key: the anchors file was edited")


def test_the_key_is_made_once_with_mode_0600_and_production_refuses_to_make_one(
        data_dir, monkeypatch):
    from flows.casework.audit_key import audit_key
    from process_models.errors import InvalidInput
    from process_models.settings import settings

    key = audit_key()
    assert (data_dir / "audit.key").stat().st_mode & 0o777 == 0o600
    assert audit_key() == key and len(key) == 64
    monkeypatch.setattr(settings, "data_dir", data_dir / "elsewhere")
    monkeypatch.setattr(settings, "environment", "production")
    with pytest.raises(InvalidInput, match=r"^ONETHING_AUDIT_KEY: no audit key: set "
                                           r"ONETHING_AUDIT_KEY or put a key file at"):
        audit_key()
    monkeypatch.setattr(settings, "audit_key", "a" * 64)
    assert audit_key() == b"a" * 64


def test_the_wrong_key_is_named_at_the_first_event(session, chain, monkeypatch):
    from process_models.settings import settings

    monkeypatch.setattr(settings, "audit_key", "not the deployment's key")
    report = verify_chain(session)
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert "or this is not the key of the deployment that wrote it" in report.problem


def test_a_chain_written_before_the_key_is_sealed_once(engine, session, chain):
    from flows.casework import seal_chain

    session.execute(update(EVENTS).values(mac=None))
    session.execute(update(AuditChainHead.__table__).values(mac=None))
    session.commit()
    assert "carries no MAC" in verify_chain(session).problem
    assert seal_chain(session) == len(chain)
    assert verify_chain(session).ok
    assert seal_chain(session) == 0
