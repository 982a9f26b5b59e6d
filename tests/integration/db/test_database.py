"""SQLite runs in WAL mode, and write transactions take the write lock when they begin."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from server.db.engine import Database
from server.db.migrate import head_revision, upgrade


async def test_migrations_apply_and_are_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/sub/dir/m.db")
    try:
        await upgrade(db)
        await upgrade(db)
        async with db.read() as s:
            assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            version = (await s.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert version == head_revision()
    finally:
        await db.close()


async def test_write_transactions_begin_immediate(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/w.db"
    first, second = Database(url), Database(url, busy_timeout_ms=50)
    try:
        await upgrade(first)
        async with first.write() as s:
            # Only a read so far: a deferred BEGIN would hold no lock yet.
            await s.execute(text("SELECT count(*) FROM users"))
            with pytest.raises(OperationalError, match="locked"):
                async with second.write() as other:
                    await other.execute(text("SELECT 1"))
            async with second.read() as reader:  # readers are not blocked in WAL mode
                assert (await reader.execute(text("SELECT count(*) FROM users"))).scalar() == 0
    finally:
        await first.close()
        await second.close()
