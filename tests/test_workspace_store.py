"""The workspace's revisions in the store, on SQLite and PostgreSQL: only the owner adds
one, undo restores the one before as a new revision, sharing with everyone follows every
revision, and sharing by name reaches only the colleague named (an active account of a role
that reads workspaces), read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.casework import workspace
from process_models.errors import Forbidden, InvalidInput, ProcedureNotFound
from process_models.table import table_procedure

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
TABLE = "事项,部门,承诺时限\n营业执照,市场监管局,{days}\n"


def shop(days: int = 3):
    return table_procedure(TABLE.format(days=days).encode(), "开店.csv")


@pytest.fixture
def stored(session) -> str:
    """开店 in 王芳's workspace, at revision 2 (营业执照 3 → 5 days)."""
    row = workspace.add_procedure(session, shop(), owner="王芳", change="上传 开店.csv", now=NOW)
    workspace.add_procedure(session, shop(5), owner="王芳", change="改时限", now=NOW,
                            workspace_id=row.id)
    return row.id


def committed_days(session, workspace_id: str, viewer: str = "王芳") -> float:
    return workspace.read_procedure(session, workspace_id, viewer=viewer)[1].steps[0] \
        .committed.days


def test_undo_adds_a_revision_restoring_the_one_before(session, stored):
    undone = workspace.undo_revision(session, stored, owner="王芳",
                                     now=NOW + timedelta(minutes=1))
    assert (undone.revision, undone.change) == (3, "撤销第 2 版（改时限）")
    assert committed_days(session, stored) == 3
    assert [r.revision for r in workspace.revisions(session, stored, viewer="王芳")] == [3, 2, 1]


def test_the_upload_has_nothing_to_undo(session):
    row = workspace.add_procedure(session, shop(), owner="王芳", change="上传", now=NOW)
    with pytest.raises(InvalidInput, match="nothing to undo"):
        workspace.undo_revision(session, row.id, owner="王芳", now=NOW)


def test_a_shared_procedure_is_read_by_others_and_changed_only_by_its_owner(session, stored):
    with pytest.raises(ProcedureNotFound):
        committed_days(session, stored, viewer="李强")
    workspace.set_shared(session, stored, owner="王芳", shared=True)
    assert committed_days(session, stored, viewer="李强") == 5
    for change in (
            lambda: workspace.add_procedure(session, shop(1), owner="李强", change="x", now=NOW,
                                            workspace_id=stored),
            lambda: workspace.undo_revision(session, stored, owner="李强", now=NOW),
            lambda: workspace.set_shared(session, stored, owner="李强", shared=False),
            lambda: workspace.save_scenario(session, stored, owner="李强", name="x", levers=[],
                                            now=NOW)):
        with pytest.raises(Forbidden, match="read-only"):
            change()


def test_unsharing_hides_every_revision_again(session, stored):
    """No older revision stays shared behind the newest."""
    workspace.set_shared(session, stored, owner="王芳", shared=True)
    workspace.undo_revision(session, stored, owner="王芳", now=NOW + timedelta(minutes=1))
    workspace.set_shared(session, stored, owner="王芳", shared=False)
    assert workspace.list_procedures(session, "李强") == []
    with pytest.raises(ProcedureNotFound):
        workspace.revisions(session, stored, viewer="李强")


READER_ROLES = frozenset({"planner", "auditor", "admin"})


@pytest.fixture
def colleagues(session) -> None:
    """liqiang (planner), auditor (auditor), desk (front desk), gone (a planner disabled)."""
    from flows.casework.accounts import add_user, set_active

    for username, role in (("liqiang", "planner"), ("auditor", "auditor"), ("desk", "front_desk"),
                           ("gone", "planner")):
        add_user(session, username, password_hash="x", role=role, now=NOW)
    set_active(session, "gone", False)


def share(session, workspace_id: str, reader: str, owner: str = "王芳"):
    return workspace.share_with(session, workspace_id, owner=owner, reader=reader,
                                roles=READER_ROLES, now=NOW)


@pytest.mark.parametrize("reader", ["liqiang", "auditor"])
def test_a_procedure_shared_by_name_is_read_and_listed_by_that_colleague_only(
        session, stored, colleagues, reader):
    share(session, stored, reader)
    assert committed_days(session, stored, viewer=reader) == 5
    assert [(p.id, p.owner) for p in workspace.list_procedures(session, reader)] == \
        [(stored, "王芳")]
    other = ({"liqiang", "auditor"} - {reader}).pop()
    assert workspace.list_procedures(session, other) == []
    with pytest.raises(ProcedureNotFound):
        committed_days(session, stored, viewer=other)


def test_a_named_reader_is_refused_every_change_as_read_only(session, stored, colleagues):
    share(session, stored, "liqiang")
    for change in (
            lambda: workspace.undo_revision(session, stored, owner="liqiang", now=NOW),
            lambda: share(session, stored, "auditor", owner="liqiang"),
            lambda: workspace.stop_sharing(session, stored, owner="liqiang", reader="liqiang"),
            lambda: workspace.readers(session, stored, owner="liqiang")):
        with pytest.raises(Forbidden, match="read-only by 王芳") as refused:
            change()
        assert (refused.value.reason, refused.value.values) == ("read_only", {"owner": "王芳"})


@pytest.mark.parametrize(("reader", "reason", "message"), [
    ("王芳", "share_self", "is you, the owner"),
    ("liqaing", "share_unknown", "no active account 'liqaing'.*did you mean 'liqiang'"),
    ("gone", "share_unknown", "no active account 'gone'"),
    ("desk", "share_role", ("'desk' is a front_desk account, which does not read workspaces; "
                          "share with an account of role admin, auditor, planner")),
])
def test_sharing_with_a_colleague_who_cannot_read_it_is_refused_naming_them(
        session, stored, colleagues, reader, reason, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        share(session, stored, reader)
    assert refused.value.reason == reason
    assert workspace.readers(session, stored, owner="王芳") == []


def test_stopping_a_named_share_hides_the_procedure_from_that_colleague_again(
        session, stored, colleagues):
    share(session, stored, "liqiang")
    share(session, stored, "liqiang")  # sharing twice keeps one
    share(session, stored, "auditor")
    assert [r.reader for r in workspace.readers(session, stored, owner="王芳")] == \
        sorted(["liqiang", "auditor"])
    workspace.stop_sharing(session, stored, owner="王芳", reader="liqiang")
    assert workspace.list_procedures(session, "liqiang") == []
    with pytest.raises(ProcedureNotFound):
        workspace.revisions(session, stored, viewer="liqiang")
    assert committed_days(session, stored, viewer="auditor") == 5
    with pytest.raises(InvalidInput, match="not shared with 'liqiang'"):
        workspace.stop_sharing(session, stored, owner="王芳", reader="liqiang")


def test_two_requests_sharing_with_the_same_colleague_at_once_keep_one_share(
        session, stored, colleagues, monkeypatch):
    """The second insert loses to the primary key and answers the share the first made."""
    from sqlmodel import Session

    real_get = session.get

    def get_after_a_racing_share(entity, key):
        if entity is workspace.WorkspaceShare and not racing:
            racing.append(key)
            session.commit()  # SQLite's writers queue (BEGIN IMMEDIATE); PostgreSQL's need not
            with Session(session.get_bind()) as other:  # the other request commits first
                other.add(workspace.WorkspaceShare(procedure=key[0], reader=key[1],
                                                   shared_at=NOW - timedelta(seconds=1)))
                other.commit()
            return None
        return real_get(entity, key)

    racing: list = []
    monkeypatch.setattr(session, "get", get_after_a_racing_share)
    kept = share(session, stored, "liqiang")
    assert (kept.reader, kept.shared_at) == ("liqiang", NOW - timedelta(seconds=1))
    assert [r.reader for r in workspace.readers(session, stored, owner="王芳")] == ["liqiang"]
