"""The administrators' audit log: every admin action, written inside the transaction that makes
it, with the values before and after. Like server/db/events.py, domains call `record` with their
own session, so an action and its entry commit or vanish together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry


def record(
    session: AsyncSession,
    actor_id: int,
    action: str,
    subject: tuple[str, int],
    at: datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """record(s, admin.id, "user_suspended", ("user", 7), now, before={...}, after={...})"""
    kind, subject_id = subject
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            subject_type=kind,
            subject_id=subject_id,
            before=before or {},
            after=after or {},
            note=note[:1000],
            at=at,
        )
    )
