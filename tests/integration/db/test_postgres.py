"""The same app on PostgreSQL (the database for several nodes): migrations, booking, races."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.db.engine import Database
from server.db.migrate import upgrade
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import Site, book, first_slot
from tests.support.postgres import fresh_database, postgres_bin, running_postgres

pytestmark = pytest.mark.skipif(
    postgres_bin() is None, reason="PostgreSQL is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture
async def pg_site(postgres: str, tmp_path: Path, aiohttp_client: Any) -> Site:
    url = await fresh_database(postgres)
    config = make_config(tmp_path, MICROMENTOR_DATABASE_URL=url)
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(config, clock=FakeClock(), passwords=FAST_PASSWORDS)
    )
    return Site(client.server, aiohttp_client)


async def test_migrations_run_twice_in_parallel_on_postgres(postgres: str) -> None:
    url = await fresh_database(postgres)
    databases = [Database(url), Database(url)]
    try:
        await asyncio.gather(*(upgrade(db) for db in databases))  # the advisory lock
        await upgrade(databases[0])
    finally:
        for db in databases:
            await db.close()


async def test_fifty_concurrent_attempts_give_one_booking_on_postgres(pg_site: Site) -> None:
    _mentor, mentor_id, _t = await pg_site.mentor()
    mentees = [await pg_site.user(f"e{i}@example.org") for i in range(50)]
    start = await first_slot(mentees[0][0], mentor_id)
    responses = await asyncio.gather(*(book(c, t, mentor_id, start) for c, _i, t in mentees))
    assert sorted(r.status for r in responses) == [201] + [409] * 49
    codes = {(await r.json())["error"]["code"] for r in responses if r.status == 409}
    assert codes == {"slot_taken"}
