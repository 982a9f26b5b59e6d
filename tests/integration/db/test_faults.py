"""The database locked, full or gone: a clear 503 with Retry-After and nothing half-written,
one log line instead of a traceback, and the server back by itself when the database is."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.db.engine import Database
from server.db.models import Booking, LedgerEntry
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import Site, book, first_slot
from tests.support.postgres import fresh_database, postgres_bin, postgres_server


async def site_on(aiohttp_client: Any, config: Any) -> Site:
    client = await aiohttp_client(create_app(config, clock=FakeClock(), passwords=FAST_PASSWORDS))
    return Site(client.server, aiohttp_client)


def assert_unavailable(status: int, headers: Any, body: dict[str, Any], code: str) -> None:
    assert status == 503, body
    assert body["error"]["code"] == code and "nothing was saved" in body["error"]["message"]
    assert int(headers["Retry-After"]) > 0


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    found = [r for r in caplog.records if r.exc_info]
    assert not found, found[0].getMessage()


async def counts(url: str) -> tuple[int, int, int]:
    """Bookings, ledger entries, and the ledger's sum (zero when balanced)."""
    db = Database(url)
    try:
        async with db.read() as s:
            bookings = await s.scalar(select(func.count()).select_from(Booking))
            entries = await s.scalar(select(func.count()).select_from(LedgerEntry))
            total = await s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)))
    finally:
        await db.close()
    return int(bookings or 0), int(entries or 0), int(total or 0)


async def test_a_locked_database_answers_503_then_recovers(
    tmp_path: Path, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, MICROMENTOR_DATABASE_BUSY_TIMEOUT_MS="200")
    site = await site_on(aiohttp_client, config)
    _m, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    start = await first_slot(mentee, mentor_id)
    before = await counts(config.database_url)

    other = sqlite3.connect(config.data_dir / "micromentor.db")
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    caplog.clear()
    try:
        refused = await book(mentee, token, mentor_id, start)
        assert_unavailable(refused.status, refused.headers, await refused.json(), "database_busy")
    finally:
        other.rollback()
        other.close()
    no_tracebacks(caplog)
    assert await counts(config.database_url) == before

    booked = await book(mentee, token, mentor_id, start)  # the lock is gone: it just works
    assert booked.status == 201, await booked.text()


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted at `folder` (root only), unmounted afterwards."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """Writes a file until the disk is full; returns it (remove it to free the space)."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    with contextlib.suppress(OSError), filler.open("ab") as out:  # the last few bytes too
        while True:
            out.write(b"\0")
            out.flush()
    return filler


async def test_a_full_disk_fails_bookings_and_payments_cleanly(
    tmp_path: Path, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with small_disk(tmp_path / "data", 32) as data:
        config = make_config(data)
        site = await site_on(aiohttp_client, config)
        _m, mentor_id, _t = await site.mentor()
        mentee, _id, token = await site.user("e@example.org")
        start = await first_slot(mentee, mentor_id)
        before = await counts(config.database_url)

        filler = fill(data)
        caplog.clear()
        refused = await book(mentee, token, mentor_id, start)
        assert_unavailable(refused.status, refused.headers, await refused.json(), "storage_full")
        no_tracebacks(caplog)
        filler.unlink()
        assert await counts(config.database_url) == before  # nothing half-written

        booked = await book(mentee, token, mentor_id, start)
        assert booked.status == 201, await booked.text()
        order = (await booked.json())["order"]
        fields = await (
            await mentee.post(
                f"/api/payments/simulator/{order['order_id']}/pay",
                headers={"X-CSRF-Token": token},
            )
        ).json()
        filler = fill(data)  # the disk fills again before the payment is confirmed
        refused = await mentee.post(
            "/api/payments/verify", json=fields, headers={"X-CSRF-Token": token}
        )
        assert_unavailable(refused.status, refused.headers, await refused.json(), "storage_full")
        paid_before = await counts(config.database_url)
        filler.unlink()
        verified = await mentee.post(
            "/api/payments/verify", json=fields, headers={"X-CSRF-Token": token}
        )
        assert verified.status == 200, await verified.text()
        bookings, entries, total = await counts(config.database_url)
        assert (bookings, total) == (paid_before[0], 0) and entries > paid_before[1]
        no_tracebacks(caplog)


@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")
async def test_postgres_down_answers_503_and_the_server_recovers_by_itself(
    tmp_path: Path, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with postgres_server() as server:
        url = await fresh_database(server.url)
        site = await site_on(aiohttp_client, make_config(tmp_path, MICROMENTOR_DATABASE_URL=url))
        _m, mentor_id, _t = await site.mentor()
        mentee, _id, token = await site.user("e@example.org")
        start = await first_slot(mentee, mentor_id)

        server.stop("fast")
        caplog.set_level(logging.WARNING)
        caplog.clear()
        refused = await book(mentee, token, mentor_id, start)
        assert_unavailable(
            refused.status, refused.headers, await refused.json(), "database_unavailable"
        )
        slots = await mentee.get(f"/api/mentors/{mentor_id}/slots")
        assert slots.status == 503
        no_tracebacks(caplog)

        server.start()
        booked = await book(mentee, token, mentor_id, start)
        assert booked.status == 201, await booked.text()
