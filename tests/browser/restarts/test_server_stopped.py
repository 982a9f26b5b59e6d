"""The server stopped with SIGTERM mid-call, as `systemctl restart` does: it stops listening,
tells both Chromium pages it is restarting (they say so and retry), finishes a request in
flight (one waiting on the database), exits 0 without settling the call, and the pages come
back into the same call when it is started again."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.browser.restarts.served import pages_in_call, served
from tests.browser.test_call_page import video_flows, wait_for_state
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def database_locked(database: Path) -> Iterator[None]:
    """Another process holds SQLite's write lock, so the server's writes wait for it."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")


async def login_in_flight(base: str) -> asyncio.Task[tuple[int, str]]:
    """A login started now, whose handler waits on the database (it writes the session)."""

    async def log_in() -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{base}/api/auth/login",
                json={"email": "mentee@example.org", "password": PASSWORD},
            ) as response,
        ):
            return response.status, await response.text()

    task = asyncio.create_task(log_in())
    await asyncio.sleep(0.5)  # the request has arrived and its handler is waiting
    assert not task.done(), task
    return task


def refuses_connections(base: str) -> bool:
    url = urlsplit(base)
    try:
        socket.create_connection((url.hostname, url.port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


async def test_a_stopped_server_tells_the_pages_and_they_come_back(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    run = await served(tmp_path, aiohttp_server, aiohttp_client)
    base = run.base
    async with run.running() as first:
        pages = await pages_in_call(browser, base, run.booking_id)
        ends_at = run.row()["call_ends_at"]
        assert ends_at is not None

        with database_locked(run.database):
            login = await login_in_flight(base)
            first.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)
            assert refuses_connections(base)  # no new connections while it stops
        status, body = await asyncio.wait_for(login, timeout=10)  # finished, not dropped
        assert status == 200, body
        for page in pages:
            restarting = page.get_by_text("The server is restarting. Reconnecting…")
            await expect(restarting).to_be_visible()
        await pages[0].screenshot(path=str(shots / "restart-server-stopping.png"))
        assert await asyncio.to_thread(first.wait, 20) == 0
        row = run.row()
        assert (row["status"], row["call_ended_at"], row["settled"]) == ("in_call", None, 0)

    async with run.running():
        for page in pages:  # the pages were retrying: they come back by themselves
            await wait_for_state(page, "in_call")
            await video_flows(page)
            await expect(page.get_by_text("The server is restarting")).to_have_count(0)
        assert run.row()["call_ends_at"] == ends_at
    text = run.log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    for page in pages:
        await page.context.close()
