"""`python -m server` as a user runs it: serve answers /healthz, bad config stops start-up."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD, login, make_config
from tests.support.cli import cli_env, run_cli
from tests.support.net import free_port


def test_serve_answers_healthz_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        cwd=tmp_path,
        env=cli_env(tmp_path, MICROMENTOR_SERVER_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.1)
        assert status == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"serving on http://127.0.0.1:{port}" in output
    assert (tmp_path / "var" / "micromentor.db").exists()
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_bad_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    result = run_cli("serve", data_dir=tmp_path, MICROMENTOR_SERVER_PORT="eighty")
    assert result.returncode == 2
    assert "[server] port" in result.stderr
    assert "MICROMENTOR_SERVER_PORT" in result.stderr
    assert "Traceback" not in result.stderr

    (tmp_path / "bad.toml").write_text("[database]\nurl = 'mysql://db/x'\n")
    result = run_cli("serve", "--config", "bad.toml", data_dir=tmp_path)
    assert result.returncode == 2
    assert "[database] url" in result.stderr


def test_migrate(tmp_path: Path) -> None:
    result = run_cli("migrate", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout


async def test_create_admin_then_log_in(tmp_path: Path, aiohttp_client: Any) -> None:
    created = run_cli("create-admin", "Root@Example.org", "--password", PASSWORD, data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    from_stdin = run_cli(
        "create-admin", "ops@example.org", data_dir=tmp_path, stdin=PASSWORD + "\n"
    )
    assert from_stdin.returncode == 0, from_stdin.stderr
    too_short = run_cli("create-admin", "x@example.org", "--password", "short", data_dir=tmp_path)
    assert too_short.returncode == 1
    assert "password" in too_short.stderr

    from server.app import create_app

    client = await aiohttp_client(create_app(make_config(tmp_path / "var")))
    for email in ("root@example.org", "ops@example.org"):
        await login(client, email)
        me = await (await client.get("/api/me")).json()
        assert me["user"]["is_admin"] is True
