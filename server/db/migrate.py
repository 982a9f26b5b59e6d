"""Applies the Alembic migrations in server/db/migrations to the configured database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do: it keeps two PostgreSQL nodes from migrating at the same moment.
PG_MIGRATION_LOCK = 0x6D6D6D


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(db: Database) -> None:
    """Brings the schema to the newest revision; safe to run on every start."""
    async with db.write_engine.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK}
            )
        await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
