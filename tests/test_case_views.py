"""The one read model of a case (flows/casework/views.py), on SQLite and PostgreSQL."""

from contextlib import contextmanager
from datetime import date, datetime

import pytest
from sqlalchemy import event

from flows.casework import Applicant, decide, notification_list, open_case, withdraw_case
from flows.casework.views import BoardMembers, case_board, case_timeline, case_view
from process_models.catalog import load_catalog_procedure
from process_models.errors import CaseNotFound

NEWBORN = load_catalog_procedure("newborn")
EVERY_MATERIAL = [item.material_id for item in notification_list(NEWBORN)]
APPLICANT = Applicant("张三", "11010519491231002X")
OPENED = datetime(2025, 1, 24, 9, 30)
TODAY = date(2025, 1, 24)


@contextmanager
def statements(engine):
    seen = []

    def count(_connection, _cursor, statement, *_args):
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_board_reads_four_statements_however_many_cases(engine, session):
    """The cases' change marker, the cases with theirs, then the cases and all their steps
    for the colours: no query per case."""
    for _ in range(5):
        open_case(session, NEWBORN, APPLICANT, EVERY_MATERIAL, now=OPENED)
    session.expunge_all()
    with statements(engine) as seen:
        board = case_board(session, today=TODAY)
    assert len(board.lines) == 5 and [s for s in seen if s == "SELECT"] == ["SELECT"] * 4
    assert board.colours == {"red": 0, "yellow": 0, "green": 5}


def test_a_board_read_again_remakes_only_the_lines_of_cases_changed_since(engine, session):
    """With the lines kept, an unchanged board is two statements (the markers), and a
    decision on one case has that case's line made again, in its new state, and no other."""
    cases = [open_case(session, NEWBORN, APPLICANT, EVERY_MATERIAL, now=OPENED)
             for _ in range(3)]
    kept: dict = {}
    before = case_board(session, today=TODAY, kept=kept)
    with statements(engine) as seen:
        again = case_board(session, today=TODAY, kept=kept)
    assert [s for s in seen if s == "SELECT"] == ["SELECT"] * 2 and again == before
    first = next(s for s in NEWBORN.applicant_steps if not s.depends_on)
    decide(session, cases[1].id, first.id, "approve", department_id=first.department,
           decided_by="王五", now=datetime(2025, 1, 24, 10, 0))
    after = case_board(session, today=TODAY, kept=kept)
    changed = [i for i, (old, new) in enumerate(zip(before.lines, after.lines, strict=True))
               if old is not new]
    assert changed == [1]
    assert after.lines[1] == case_board(session, today=TODAY).lines[1]
    assert first.id not in [s.step_id for s in after.lines[1].current_steps]


def test_a_board_kept_by_its_members_reads_only_what_changed_and_shows_what_a_new_one_shows(
        engine, session):
    """Unchanged, a kept board reads one statement (the marker); after cases open, are
    decided and are withdrawn it reads the changed cases alone, and its lines, order and
    colour counts are those of a board read anew (a withdrawn case leaves it)."""
    cases = [open_case(session, NEWBORN, APPLICANT, EVERY_MATERIAL, now=OPENED)
             for _ in range(4)]
    members, kept = BoardMembers(), {}
    assert case_board(session, today=TODAY, members=members, kept=kept) == case_board(
        session, today=TODAY)
    with statements(engine) as seen:
        case_board(session, today=TODAY, members=members, kept=kept)
    assert seen == ["SELECT"]
    first = next(s for s in NEWBORN.applicant_steps if not s.depends_on)
    decide(session, cases[2].id, first.id, "approve", department_id=first.department,
           decided_by="王五", now=datetime(2025, 1, 24, 10, 0))
    withdraw_case(session, cases[0].id, reason="申请人撤回", now=datetime(2025, 1, 24, 11, 0))
    waiting = open_case(session, NEWBORN, APPLICANT, [], now=OPENED)
    with statements(engine) as seen:
        board = case_board(session, today=TODAY, members=members, kept=kept)
    assert board == case_board(session, today=TODAY)
    assert [line.case_id for line in board.lines] == [c.id for c in cases[1:]] + [waiting.id]
    assert [s for s in seen if s == "SELECT"] == ["SELECT"] * 4   # the marker, the three
    # changed cases, the lines of those still on the board (cases, steps)


def test_the_board_filters_by_status_and_colour_and_counts_colours_before_the_colour(
        session):
    """``status`` picks cases of one status (closed ones too); ``colour`` filters what is
    shown, the counts stay those of every case asked for."""
    waiting = open_case(session, NEWBORN, APPLICANT, [], now=OPENED)
    accepted = open_case(session, NEWBORN, APPLICANT, EVERY_MATERIAL, now=OPENED)
    board = case_board(session, today=TODAY, colour="green")
    assert [line.case_id for line in board.lines] == [accepted.id]
    assert board.colours == {"red": 0, "yellow": 1, "green": 1}
    assert [line.case_id for line in case_board(
        session, today=TODAY, status="awaiting_supplement").lines] == [waiting.id]


def test_a_case_view_holds_its_steps_materials_decisions_and_timeline(session):
    case = open_case(session, NEWBORN, APPLICANT, EVERY_MATERIAL, now=OPENED)
    first = next(s for s in NEWBORN.applicant_steps if not s.depends_on)
    decide(session, case.id, first.id, "approve", department_id=first.department,
           decided_by="王五", now=datetime(2025, 1, 24, 10, 0))
    view = case_view(session, case.id, today=TODAY)
    assert (view.case_id, view.status, view.colour) == (case.id, "accepted", "green")
    assert [s.step_id for s in view.steps] == [s.id for s in NEWBORN.applicant_steps]
    assert [(d.step_id, d.outcome) for d in view.decisions] == [(first.id, "approve")]
    assert {m.status for m in view.materials} == {"received"}
    assert [e.kind for e in case_timeline(session, case.id)][:2] == ["case_opened",
                                                                    "case_accepted"]


def test_an_unknown_case_is_not_found_with_a_did_you_mean(session):
    case = open_case(session, NEWBORN, APPLICANT, EVERY_MATERIAL, now=OPENED)
    with pytest.raises(CaseNotFound, match=rf"no case '{case.id}1' \(did you mean '{case.id}'"):
        case_view(session, case.id + "1", today=TODAY)
