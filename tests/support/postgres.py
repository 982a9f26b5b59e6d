"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, on loopback."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.net import free_port


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them apart), else None."""
    roots = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if roots:
        return roots[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package brings a `postgres` user for it.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """A throwaway server that a test may stop and start again (a database outage)."""

    def __init__(self, bindir: Path, data: Path, folder: Path, options: str, port: int) -> None:
        self.bindir, self.data, self.folder, self.options = bindir, data, folder, options
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"

    def start(self) -> None:
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self.options, "-w"]
        command += ["-l", str(self.folder / "log"), "start"]
        subprocess.run(_as_server_user(command), check=True, capture_output=True)

    def stop(self, mode: str = "immediate") -> None:
        """Stops it: "fast" keeps every commit (the tests run it with synchronous_commit off,
        so "immediate" may lose the last ones: fine when it is thrown away)."""
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"]
        subprocess.run(_as_server_user(command), capture_output=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Starts a server; yields it (its admin URL for asyncpg is `.url`); stops it and removes
    its files."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (make test installs it)")
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="micromentor-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    data.mkdir(parents=True)
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for path in (data, sockets):
            shutil.chown(path, "postgres")
    port = free_port()
    subprocess.run(
        _as_server_user(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    server = PostgresServer(bindir, data, folder, options, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[str]:
    """Starts a server; yields an admin URL for asyncpg; stops it and removes its files."""
    with postgres_server() as server:
        yield server.url


async def fresh_database(admin_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"t_{secrets.token_hex(6)}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
