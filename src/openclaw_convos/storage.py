"""SQLite plumbing: WAL, foreign keys, a busy timeout, and schema migrations registered in code.

Each migration runs in its own transaction; a database whose schema is newer than the code knows
is refused rather than guessed at. All work runs on one dedicated thread per database, so the
event loop never waits on disk and statements keep their order. An open that fails (a read-only
folder, a full disk) says why and leaves no files behind: a database it created is removed, and so
are the empty ``-wal``/``-shm`` files it added next to an existing one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .errors import StateError, StorageFull
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
    fresh: set[Path] = set()
    if str(path) != ":memory:":
        ensure_private_dir(Path(path).parent)
        fresh = {p for p in _db_files(path) if not p.exists()}
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        _abandon(conn, path, fresh)
        raise StateError(f"cannot open the {name} database {path}: {exc}{_disk_hint(path)}") from exc
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
            with contextlib.suppress(sqlite3.DatabaseError):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            _abandon(conn, path, fresh)
            raise StateError(
                f"cannot migrate the {name} database {path} to version {number + 1}: {exc}{_disk_hint(path)}"
            ) from exc
    return conn


def _db_files(path: Path | str) -> tuple[Path, ...]:
    return tuple(Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal"))


def _abandon(conn: sqlite3.Connection | None, path: Path | str, fresh: set[Path]) -> None:
    """Close a connection whose open failed and remove the files that open created.

    A database this open created holds nothing else: it goes with its side files. Next to an
    existing database only empty side files are removed (a non-empty WAL or journal may hold
    committed or recoverable data), and the ``-shm`` index only once no WAL is left.
    """
    if conn is not None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
    db, wal, shm, journal = _db_files(path)
    if db in fresh:
        doomed = [f for f in (db, wal, shm, journal) if f in fresh]
    else:
        doomed = [f for f in (wal, journal) if f in fresh and f.exists() and f.stat().st_size == 0]
        if shm in fresh and (not wal.exists() or wal in doomed):
            doomed.append(shm)
    for file in doomed:
        with contextlib.suppress(OSError):
            file.unlink()


def _disk_hint(path: Path | str) -> str:
    """Why writing next to ``path`` may have failed, for the error message ("" when unknown)."""
    folder = Path(path).parent
    if not hasattr(os, "statvfs"):  # Windows
        return ""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return ""
    if fs.f_flag & os.ST_RDONLY:
        return f" (the file system holding {folder} is read-only)"
    if not os.access(folder, os.W_OK):
        return f" ({folder} is not writable by this user)"
    if fs.f_bavail * fs.f_frsize < 1024 * 1024:
        return f" (the disk holding {folder} is full)"
    import resource  # POSIX only, like statvfs above

    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        return f" (files may not grow beyond {limit} bytes: ulimit -f)"
    return ""


class AsyncSqlite:
    """One SQLite connection driven from asyncio through a single worker thread."""

    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        self._conn = conn
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{name}")

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the worker thread. A full disk raises :class:`StorageFull` (transient:
        the caller retries once space returns), other database failures :class:`StateError`."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, self._conn)
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "full" in text or "disk i/o" in text:
                raise StorageFull(f"the state database cannot be written: {exc}") from exc
            raise StateError(f"state database error: {exc}") from exc

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one transaction (the connection is in autocommit mode otherwise): all of
        its writes land, or none (rolled back on any error)."""

        def work(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self.run(work)

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
