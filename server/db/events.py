"""Recording that something happened, inside the transaction that made it happen.

Domains call `record` with their own session; they need not know who listens (today the
notifications worker, server/notifications/). A crash after the commit loses nothing: the
event is in the database with the change, and it is handled once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import DomainEvent


def record(
    session: AsyncSession,
    kind: str,
    subject_id: int,
    at: datetime,
    *,
    actor_id: int | None = None,
    **data: Any,
) -> None:
    session.add(
        DomainEvent(kind=kind, subject_id=subject_id, actor_id=actor_id, data=data, created_at=at)
    )
