"""Alembic environment. `server.db.migrate` passes a live connection in; the alembic CLI
does not."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from server.db.models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_config() -> None:
    from server.config import load_config
    from server.db.engine import Database

    config = load_config()
    db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(run_with)
    finally:
        await db.close()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_from_config())
