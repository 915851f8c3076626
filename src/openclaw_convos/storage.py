"""SQLite plumbing: WAL, foreign keys, a busy timeout, and schema migrations registered in code.

Each migration runs in its own transaction; a database whose schema is newer than the code knows
is refused rather than guessed at. All work runs on one dedicated thread per database, so the
event loop never waits on disk and statements keep their order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .errors import StateError
from .fsutil import ensure_private_dir

T = TypeVar("T")
Migration = Callable[[sqlite3.Connection], None]


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements inside the current transaction.

    (``sqlite3.Connection.executescript`` commits first, which would break a migration's transaction.)
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def open_sqlite(path: Path | str, migrations: Sequence[Migration], *, name: str) -> sqlite3.Connection:
    """Open (creating if needed) and migrate a database; ``migrations[i]`` takes it to version i+1."""
    if str(path) != ":memory:":
        ensure_private_dir(Path(path).parent)
    try:
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StateError(f"cannot open the {name} database {path}: {exc}") from exc
    if version > len(migrations):
        conn.close()
        raise StateError(
            f"the {name} database {path} has schema version {version}, newer than this version of "
            f"openclaw-convos knows ({len(migrations)}); upgrade openclaw-convos"
        )
    for number in range(version, len(migrations)):
        try:
            conn.execute("BEGIN IMMEDIATE")
            migrations[number](conn)
            conn.execute(f"PRAGMA user_version={number + 1}")
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            raise StateError(
                f"cannot migrate the {name} database {path} to version {number + 1}: {exc}"
            ) from exc
    return conn


class AsyncSqlite:
    """One SQLite connection driven from asyncio through a single worker thread."""

    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        self._conn = conn
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{name}")

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows changed."""
        return await self.run(lambda c: c.execute(sql, params).rowcount)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self.run(lambda c: c.execute(sql, params).fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        return await self.run(lambda c: c.execute(sql, params).fetchone())

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._conn.close()
