"""A server process as an operator runs it, for the restart tests: started, awaited, read."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from server.app import create_app
from tests.browser.conftest import logged_in_page
from tests.browser.test_call_page import join_call, video_flows, wait_for_state
from tests.conftest import make_config
from tests.support.booking import Site, book, first_slot, pay
from tests.support.cli import ROOT, cli_env
from tests.support.net import free_port, until_healthy

CALL_SECONDS = 45


@dataclass
class Served:
    """A paid booking starting now, and how to run `python -m server serve` for it as an
    operator does (on a free port, calls of CALL_SECONDS), in `tmp_path`."""

    booking_id: int
    base: str
    env: dict[str, str]
    log: Path
    database: Path

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
            )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[subprocess.Popen[bytes]]:
        """The server started and answering /healthz; killed with SIGKILL at the end."""
        process = self.start()
        try:
            await until_healthy(f"{self.base}/healthz", process)
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)

    def row(self) -> dict[str, Any]:
        return booking_row(self.database, self.booking_id)


async def served(tmp_path: Path, aiohttp_server: Any, make_client: Any) -> Served:
    data_dir = tmp_path / "var"  # what cli_env gives the server
    booking_id = await paid_booking_starting_now(data_dir, aiohttp_server, make_client)
    port = free_port()
    env = cli_env(
        tmp_path,
        MICROMENTOR_SERVER_PORT=str(port),
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_CALLS_DURATION_SECONDS=str(CALL_SECONDS),
        MICROMENTOR_CALLS_WARNING_SECONDS="5",
        MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="10",
        MICROMENTOR_SERVER_LOG_LEVEL="warning",
    )
    base = f"http://127.0.0.1:{port}"
    return Served(booking_id, base, env, tmp_path / "server.log", data_dir / "micromentor.db")


def booking_row(database: Path, booking_id: int) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM bookings WHERE id = ?", (booking_id,)).fetchone()
        settled = db.execute(
            "SELECT count(*) FROM ledger_transactions WHERE booking_id = ? AND kind = 'settle'",
            (booking_id,),
        ).fetchone()[0]
        total = db.execute("SELECT coalesce(sum(amount_paise), 0) FROM ledger_entries").fetchone()
    return {**dict(row), "settled": settled, "ledger_sum": total[0]}


def seconds_shown(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


async def paid_booking_starting_now(data_dir: Path, aiohttp_server: Any, make_client: Any) -> int:
    """A mentor and a mentee made and a call booked and paid through the real app (in this
    process, then closed), moved to start now."""
    app = create_app(make_config(data_dir))
    site = Site(await aiohttp_server(app), make_client)
    _m, mentor_id, _t = await site.mentor("mentor@example.org")
    mentee, _id, token = await site.user("mentee@example.org")
    created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    assert created.status == 201, await created.text()
    booking = await pay(mentee, token, created)
    await site.server.close()
    with contextlib.closing(sqlite3.connect(data_dir / "micromentor.db")) as db, db:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        db.execute("UPDATE bookings SET starts_at = ? WHERE id = ?", (now, booking["id"]))
    return int(booking["id"])


async def pages_in_call(browser: Browser, base: str, booking_id: int) -> list[Page]:
    """The mentor's and the mentee's pages, joined, in the call and seeing each other."""
    pages = [
        await logged_in_page(browser, base, email, then=f"/call/{booking_id}")
        for email in ("mentor@example.org", "mentee@example.org")
    ]
    for page in pages:
        await join_call(page)
    for page in pages:
        await wait_for_state(page, "in_call")
        await video_flows(page)
    return pages
