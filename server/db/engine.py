"""The database handle: an async engine plus read and write transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and write transactions open
with BEGIN IMMEDIATE so two writers queue on the lock instead of failing half-way with
"database is locked" when a read transaction tries to upgrade. PostgreSQL needs none of that.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import event, text
from sqlalchemy import exc as db_errors
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

IMMEDIATE = "micromentor_immediate"
# The databases whose SQLite write lock this task holds: a nested write() would wait for itself.
_WRITING: ContextVar[frozenset[int]] = ContextVar("micromentor_writing", default=frozenset())


class Database:
    def __init__(self, url: str, *, busy_timeout_ms: int = 5000) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
        pool = (
            {"pool_size": 10, "max_overflow": 20}
            if self.is_sqlite and ":memory:" not in url
            else {}
        )
        self.engine: AsyncEngine = create_async_engine(
            url, pool_pre_ping=not self.is_sqlite, **pool
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_timeout_ms)
        self.write_engine = self.engine.execution_options(**{IMMEDIATE: True})
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue here, in order, rather
        # than on SQLite's busy handler, which polls with sleeps of up to 25 ms.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction for reading; anything written in it is rolled back."""
        async with self._read() as session:
            yield session  # closing the session rolls its transaction back

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on an exception."""
        if self._write_lock is None:
            async with self._write() as session, session.begin():
                yield session
            return
        holding = _WRITING.get()
        if id(self) in holding:
            raise RuntimeError("a write transaction inside another one would wait for itself")
        async with self._write_lock:
            token = _WRITING.set(holding | {id(self)})
            try:
                async with self._write() as session, session.begin():
                    yield session
            finally:
                _WRITING.reset(token)

    @asynccontextmanager
    async def job_lock(self, name: str) -> AsyncIterator[bool]:
        """Whether this process may run the job `name` now. On PostgreSQL, a session advisory
        lock: one node at a time runs it, and a node that dies lets go with its connection.
        SQLite serves one node, which always may."""
        if self.is_sqlite:
            yield True
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        async with self.engine.connect() as conn:
            mine = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            await conn.commit()
            try:
                yield mine
            finally:
                if mine:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling would emit a deferred BEGIN lazily; take it over so
    # the "begin" hook below decides (the recipe in SQLAlchemy's SQLite dialect docs).
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


DATABASE = web.AppKey("database", Database)


def database_unavailable(exc: BaseException) -> tuple[str, str, int] | None:
    """(code, message, Retry-After seconds) when `exc` says the database cannot be used now:
    locked or busy, its disk full, or unreachable. A transaction that met it was rolled back,
    so nothing was half-written. None for any other error."""
    if isinstance(exc, db_errors.TimeoutError | ConnectionError):  # the pool, or the socket
        return UNREACHABLE
    if not isinstance(exc, db_errors.OperationalError | db_errors.InterfaceError) and not (
        isinstance(exc, db_errors.DBAPIError) and exc.connection_invalidated
    ):
        return None
    text = str(getattr(exc, "orig", exc)).lower()
    if "full" in text or "no space" in text:
        return (
            "storage_full",
            "The server's disk is full, so nothing was saved. Please try again later.",
            60,
        )
    if "locked" in text or "busy" in text:
        return (
            "database_busy",
            "The database is busy, so nothing was saved. Please try again in a moment.",
            2,
        )
    return UNREACHABLE


UNREACHABLE = (
    "database_unavailable",
    "The database cannot be reached, so nothing was saved. Please try again in a moment.",
    5,
)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """A background round failed: one line when the database is unavailable (it would fail
    the same way every round until it is back), else the traceback."""
    if database_unavailable(exc) is not None:
        logger.warning("%s: the database is unavailable (%s)", what, first_line(exc))
    else:
        logger.error("%s", what, exc_info=exc)
