"""The workspace's revisions in the store, on SQLite and PostgreSQL: only the owner adds
one, undo restores the one before as a new revision, and sharing follows every revision."""

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
