"""The outbox: what the operations tell the flows, read and marked done by the relay."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from flows.casework._rows import OUTBOX
from flows.casework.tables import Outbox, aware_time

__all__ = [
    "mark_processed",
    "pending_outbox",
]

_PENDING_OUTBOX = (sa_select(*OUTBOX.c).where(OUTBOX.c.processed_at.is_(None))
                   .order_by(OUTBOX.c.id).limit(bindparam("limit")))


def pending_outbox(session: Session, limit: int = 100) -> list[Any]:
    """Unprocessed outbox rows, oldest first (read-only rows with the columns of
    :class:`~flows.casework.tables.Outbox` as attributes)."""
    return list(session.execute(_PENDING_OUTBOX, {"limit": limit}).all())


def mark_processed(session: Session, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Mark outbox rows done (once; already processed rows stay as they were); commits."""
    at = aware_time(now or datetime.now(UTC))
    ids = list(ids)
    if not ids:
        return 0
    result = session.execute(
        update(Outbox).where(col(Outbox.id).in_(ids), col(Outbox.processed_at).is_(None))
        .values(processed_at=at).execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount
