"""The server dies between verifying a payment and confirming the booking; after a restart,
reconciliation confirms the booking exactly once (a real server process, killed for real)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import PASSWORD
from tests.support.cli import cli_env, run_cli
from tests.support.fake_razorpay import FakeRazorpay, razorpay_env
from tests.support.net import free_port

ALL_WEEK = {
    "timezone": "UTC",
    "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
}


def spawn(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def start(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = await asyncio.to_thread(spawn, tmp_path, env)
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


async def session_for(base: str, email: str, role: str | None = None) -> tuple[Any, str]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    if role:
        await session.post(
            f"{base}/api/auth/register",
            json={"email": email, "password": PASSWORD, "name": email.split("@")[0], "role": role},
        )
    async with session.post(
        f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}
    ) as response:
        token = (await response.json())["csrf_token"]
    return session, token


def captures(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(
            db.execute(
                "SELECT count(*) FROM ledger_transactions WHERE kind = 'capture'"
            ).fetchone()[0]
        )


async def test_reconciliation_confirms_once_after_a_crash(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    fake = FakeRazorpay()
    fake_server = await aiohttp_server(fake.app())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(
        tmp_path,
        MICROMENTOR_SERVER_PORT=str(port),
        **razorpay_env(fake, f"http://127.0.0.1:{fake_server.port}"),
    )
    assert (
        run_cli(
            "create-admin",
            "root@example.org",
            "--password",
            PASSWORD,
            data_dir=tmp_path,
            **{k: v for k, v in env.items() if k.startswith("MICROMENTOR_BILLING")},
        ).returncode
        == 0
    )

    server = await start(tmp_path, env, port)
    sessions = []
    try:
        mentor, mentor_token = await session_for(base, "mentor@example.org", "mentor")
        mentee, mentee_token = await session_for(base, "mentee@example.org", "mentee")
        admin, admin_token = await session_for(base, "root@example.org")
        sessions += [mentor, mentee, admin]
        async with mentor.post(
            f"{base}/api/mentors/apply",
            headers={"X-CSRF-Token": mentor_token},
            json={"headline": "h", "bio": "b", "skills": ["DSA"]},
        ) as r:
            mentor_id = (await r.json())["mentor"]["id"]
        await admin.put(
            f"{base}/api/admin/mentors/{mentor_id}/approve", headers={"X-CSRF-Token": admin_token}
        )
        await mentor.put(
            f"{base}/api/mentors/availability",
            json=ALL_WEEK,
            headers={"X-CSRF-Token": mentor_token},
        )
        async with mentee.get(f"{base}/api/mentors/{mentor_id}/slots") as r:
            start_at = (await r.json())["slots"][0]["start"]
        async with mentee.post(
            f"{base}/api/bookings",
            headers={"X-CSRF-Token": mentee_token},
            json={
                "mentor_id": mentor_id,
                "start": start_at,
                "topic": "Custom",
                "accept_policy": True,
            },
        ) as r:
            body = await r.json()
        booking_id, order_id = body["booking"]["id"], body["order"]["order_id"]

        fields = fake.pay(order_id)
        fake.payments_answer.clear()  # the server will hang asking about the payment...
        verify = asyncio.create_task(
            mentee.post(
                f"{base}/api/payments/verify", json=fields, headers={"X-CSRF-Token": mentee_token}
            )
        )
        for _ in range(200):
            if any(r.startswith("GET /v1/payments/") for r in fake.requests):
                break
            await asyncio.sleep(0.05)
        server.send_signal(signal.SIGKILL)  # ...and dies there
        server.wait(timeout=10)
        verify.cancel()
        fake.payments_answer.set()
        database = tmp_path / "var" / "micromentor.db"
        assert captures(database) == 0

        server = await start(tmp_path, env, port)  # reconciliation runs at start-up
        async with mentee.get(f"{base}/api/bookings/{booking_id}") as r:
            assert (await r.json())["booking"]["status"] == "confirmed"
        assert captures(database) == 1
        raw, headers = fake.webhook(
            "payment.captured", fake.payments[fields["razorpay_payment_id"]]
        )
        async with mentee.post(f"{base}/api/payments/webhook", data=raw, headers=headers) as r:
            assert r.status == 200
        async with mentee.post(
            f"{base}/api/payments/verify", json=fields, headers={"X-CSRF-Token": mentee_token}
        ) as r:
            assert r.status == 200
        assert captures(database) == 1
    finally:
        for session in sessions:
            await session.close()
        server.terminate()
        server.wait(timeout=15)
