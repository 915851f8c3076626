"""SQLite storage of the devnode: inbox log, address index, key packages, messages, commit log.

One :class:`Store` owns one connection and is used from one thread (the node's event-loop
thread). Every id column is ``INTEGER PRIMARY KEY AUTOINCREMENT``: ids start at 1, grow strictly
and are never reused; each table has its own global sequence, as in the reference node.

A file database uses WAL and an exclusive lock, so a second node cannot open the same file while
the first runs. ``PRAGMA user_version`` holds :data:`SCHEMA_VERSION`; a newer version is refused.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from openclaw_convos.errors import DevnodeError

SCHEMA_VERSION = 1
MAX_SQLITE_INT = (1 << 63) - 1
LOCK_TIMEOUT_S = 0.2  # the file is exclusively locked by its node: waiting longer never helps

_SCHEMA = """
CREATE TABLE inbox_log (
    sequence_id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id TEXT NOT NULL,
    server_timestamp_ns INTEGER NOT NULL,
    identity_update BLOB NOT NULL
);
CREATE INDEX inbox_log_inbox_id ON inbox_log (inbox_id, sequence_id);

CREATE TABLE address_log (
    address TEXT NOT NULL,
    inbox_id TEXT NOT NULL,
    association_sequence_id INTEGER NOT NULL,
    revocation_sequence_id INTEGER
);
CREATE INDEX address_log_address ON address_log (address, association_sequence_id);

CREATE TABLE installations (
    installation_key BLOB PRIMARY KEY,
    key_package BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);

CREATE TABLE group_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    group_id BLOB NOT NULL,
    data BLOB NOT NULL,
    sender_hmac BLOB NOT NULL,
    should_push INTEGER NOT NULL,
    is_commit INTEGER NOT NULL,
    group_id_data_hash BLOB NOT NULL UNIQUE
);
CREATE INDEX group_messages_group_id ON group_messages (group_id, id);

CREATE TABLE welcome_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    installation_key BLOB NOT NULL,
    data BLOB NOT NULL,
    hpke_public_key BLOB NOT NULL,
    wrapper_algorithm INTEGER NOT NULL,
    welcome_metadata BLOB NOT NULL,
    message_type INTEGER NOT NULL,
    installation_key_data_hash BLOB NOT NULL UNIQUE
);
CREATE INDEX welcome_messages_installation_key ON welcome_messages (installation_key, id);

CREATE TABLE commit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    group_id BLOB NOT NULL,
    serialized_entry BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX commit_log_group_id ON commit_log (group_id, id);
"""


class Direction(IntEnum):
    """Effective sort direction of a paged query (wire values of ``SortDirection``)."""

    ASCENDING = 1
    DESCENDING = 2


class WelcomeType(IntEnum):
    """``welcome_messages.message_type``: a V1 welcome or a welcome pointer."""

    V1 = 0
    POINTER = 1


@dataclass(frozen=True)
class IdentityUpdateRow:
    """One entry of an inbox log."""

    sequence_id: int
    inbox_id: str
    server_timestamp_ns: int
    identity_update: bytes


@dataclass(frozen=True)
class AddressChange:
    """An association (``revoke`` false) or revocation of a lowercase Ethereum address."""

    address: str
    revoke: bool


@dataclass(frozen=True)
class GroupMessageRow:
    """A stored group message."""

    id: int
    created_ns: int
    group_id: bytes
    data: bytes
    sender_hmac: bytes
    should_push: bool
    is_commit: bool


@dataclass(frozen=True)
class WelcomeRow:
    """A stored welcome: a V1 welcome, or a pointer whose bytes sit in ``data``."""

    id: int
    created_ns: int
    installation_key: bytes
    data: bytes
    hpke_public_key: bytes
    wrapper_algorithm: int
    welcome_metadata: bytes
    message_type: int


@dataclass(frozen=True)
class CommitLogRow:
    """A stored commit log entry; ``signature`` is a serialised RecoverableEd25519Signature."""

    id: int
    group_id: bytes
    serialized_entry: bytes
    signature: bytes


def _clamp(value: int) -> int:
    return min(max(value, 0), MAX_SQLITE_INT)


_GROUP_COLUMNS = "id, created_ns, group_id, data, sender_hmac, should_push, is_commit"
_WELCOME_COLUMNS = "id, created_ns, installation_key, data, hpke_public_key, wrapper_algorithm, welcome_metadata, message_type"
_PAGE_CONDITION = {
    Direction.ASCENDING: "id > ? ORDER BY id ASC LIMIT ?",
    Direction.DESCENDING: "id < ? ORDER BY id DESC LIMIT ?",
}
_GROUP_PAGE_SQL = {
    d: f"SELECT {_GROUP_COLUMNS} FROM group_messages WHERE group_id = ? AND {c}"  # noqa: S608 - constants
    for d, c in _PAGE_CONDITION.items()
}
_WELCOME_PAGE_SQL = {
    d: f"SELECT {_WELCOME_COLUMNS} FROM welcome_messages WHERE installation_key = ? AND {c}"  # noqa: S608
    for d, c in _PAGE_CONDITION.items()
}


def _page_start(direction: Direction, cursor: int) -> int:
    """The bound cursor of a paged query: ``cursor`` 0 means from the start in either direction."""
    if direction is Direction.DESCENDING and cursor <= 0:
        return MAX_SQLITE_INT
    return _clamp(cursor)


class Store:
    """The devnode's database. ``path`` None means an in-memory database."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(
                ":memory:" if path is None else path, isolation_level=None, timeout=LOCK_TIMEOUT_S
            )
        except sqlite3.Error as exc:
            raise DevnodeError(f"cannot open devnode database {path!r}: {exc}") from exc
        try:
            self._setup()
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise DevnodeError(f"devnode database {path!r} is in use by another process") from exc
            raise DevnodeError(f"cannot open devnode database {path!r}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise DevnodeError(f"{path!r} is not a devnode database: {exc}") from exc
        except DevnodeError:
            self._db.close()
            raise

    def _setup(self) -> None:
        db = self._db
        if self.path is not None:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version == 0:
                tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise DevnodeError(f"{self.path!r} is an SQLite file but not a devnode database")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise DevnodeError(
                    f"devnode database {self.path!r} has schema version {version}, newer than the "
                    f"supported {SCHEMA_VERSION}; use a newer openclaw-convos or another --db"
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection (releases the file lock)."""
        self._db.close()

    # -- identity ------------------------------------------------------------------------------

    def count_identity_updates(self, inbox_id: str) -> int:
        """Number of log entries of an inbox."""
        row = self._db.execute("SELECT count(*) FROM inbox_log WHERE inbox_id = ?", (inbox_id,)).fetchone()
        return int(row[0])

    def append_identity_update(
        self, inbox_id: str, update: bytes, now_ns: int, changes: Iterable[AddressChange]
    ) -> IdentityUpdateRow:
        """Append an update to an inbox log and apply its address changes, atomically."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT INTO inbox_log (inbox_id, server_timestamp_ns, identity_update) VALUES (?, ?, ?)",
                (inbox_id, now_ns, update),
            )
            sequence_id = int(cur.lastrowid or 0)
            for change in changes:
                if change.revoke:
                    db.execute(
                        "UPDATE address_log SET revocation_sequence_id = ? WHERE address = ? AND inbox_id = ?"
                        " AND revocation_sequence_id IS NULL AND association_sequence_id < ?",
                        (sequence_id, change.address, inbox_id, sequence_id),
                    )
                else:
                    db.execute(
                        "INSERT INTO address_log (address, inbox_id, association_sequence_id) VALUES (?, ?, ?)",
                        (change.address, inbox_id, sequence_id),
                    )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return IdentityUpdateRow(sequence_id, inbox_id, now_ns, update)

    def identity_updates(self, inbox_id: str, after_sequence_id: int) -> list[IdentityUpdateRow]:
        """Log entries of an inbox with ``sequence_id > after_sequence_id``, ascending."""
        rows = self._db.execute(
            "SELECT sequence_id, inbox_id, server_timestamp_ns, identity_update FROM inbox_log"
            " WHERE inbox_id = ? AND sequence_id > ? ORDER BY sequence_id ASC",
            (inbox_id, _clamp(after_sequence_id)),
        ).fetchall()
        return [IdentityUpdateRow(int(r[0]), r[1], int(r[2]), bytes(r[3])) for r in rows]

    def inbox_for_address(self, address: str) -> str | None:
        """The inbox an address is currently associated with (latest unrevoked association)."""
        row = self._db.execute(
            "SELECT inbox_id FROM address_log WHERE address = ? AND revocation_sequence_id IS NULL"
            " ORDER BY association_sequence_id DESC LIMIT 1",
            (address,),
        ).fetchone()
        return None if row is None else str(row[0])

    # -- key packages --------------------------------------------------------------------------

    def upsert_key_package(self, installation_key: bytes, key_package: bytes, now_ns: int) -> None:
        """Store the current key package of an installation; the last upload wins."""
        self._db.execute(
            "INSERT INTO installations (installation_key, key_package, created_ns, updated_ns)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (installation_key)"
            " DO UPDATE SET key_package = excluded.key_package, updated_ns = excluded.updated_ns",
            (installation_key, key_package, now_ns, now_ns),
        )

    def key_packages(self, installation_keys: Sequence[bytes]) -> list[bytes | None]:
        """The latest key package of each installation, in order; None for unknown keys."""
        result: list[bytes | None] = []
        for key in installation_keys:
            row = self._db.execute(
                "SELECT key_package FROM installations WHERE installation_key = ?", (key,)
            ).fetchone()
            result.append(None if row is None else bytes(row[0]))
        return result

    # -- group messages ------------------------------------------------------------------------

    def insert_group_message(
        self,
        group_id: bytes,
        data: bytes,
        sender_hmac: bytes,
        should_push: bool,
        is_commit: bool,
        now_ns: int,
    ) -> GroupMessageRow | None:
        """Insert a group message; None when ``sha256(group_id || data)`` is already stored."""
        digest = hashlib.sha256(group_id + data).digest()
        cur = self._db.execute(
            "INSERT INTO group_messages (created_ns, group_id, data, sender_hmac, should_push, is_commit,"
            " group_id_data_hash) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id_data_hash) DO NOTHING",
            (now_ns, group_id, data, sender_hmac, int(should_push), int(is_commit), digest),
        )
        if cur.rowcount == 0:
            return None
        return GroupMessageRow(
            int(cur.lastrowid or 0), now_ns, group_id, data, sender_hmac, should_push, is_commit
        )

    def query_group_messages(
        self, group_id: bytes, direction: Direction, limit: int, cursor: int
    ) -> list[GroupMessageRow]:
        """One page of a group's messages (cursor exclusive; 0 = from the start)."""
        rows = self._db.execute(
            _GROUP_PAGE_SQL[direction], (group_id, _page_start(direction, cursor), limit)
        ).fetchall()
        return [_group_row(r) for r in rows]

    def newest_group_message(self, group_id: bytes) -> GroupMessageRow | None:
        """The message with the highest id in a group, if any."""
        rows = self.query_group_messages(group_id, Direction.DESCENDING, 1, 0)
        return rows[0] if rows else None

    # -- welcome messages ----------------------------------------------------------------------

    def insert_welcome(
        self,
        message_type: WelcomeType,
        installation_key: bytes,
        data: bytes,
        hpke_public_key: bytes,
        wrapper_algorithm: int,
        welcome_metadata: bytes,
        now_ns: int,
    ) -> WelcomeRow | None:
        """Insert a welcome or pointer; None when ``sha256(installation_key || data)`` is stored."""
        digest = hashlib.sha256(installation_key + data).digest()
        cur = self._db.execute(
            "INSERT INTO welcome_messages (created_ns, installation_key, data, hpke_public_key,"
            " wrapper_algorithm, welcome_metadata, message_type, installation_key_data_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (installation_key_data_hash) DO NOTHING",
            (now_ns, installation_key, data, hpke_public_key, wrapper_algorithm, welcome_metadata,
             int(message_type), digest),
        )  # fmt: skip
        if cur.rowcount == 0:
            return None
        return WelcomeRow(
            int(cur.lastrowid or 0), now_ns, installation_key, data, hpke_public_key, wrapper_algorithm,
            welcome_metadata, int(message_type),
        )  # fmt: skip

    def query_welcomes(
        self, installation_key: bytes, direction: Direction, limit: int, cursor: int
    ) -> list[WelcomeRow]:
        """One page of an installation's welcomes (cursor exclusive; 0 = from the start)."""
        rows = self._db.execute(
            _WELCOME_PAGE_SQL[direction], (installation_key, _page_start(direction, cursor), limit)
        ).fetchall()
        return [
            WelcomeRow(
                int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3]), bytes(r[4]), int(r[5]), bytes(r[6]), int(r[7])
            )
            for r in rows
        ]

    # -- commit log ----------------------------------------------------------------------------

    def insert_commit_log(
        self, entries: Sequence[tuple[bytes, bytes, bytes]], now_ns: int
    ) -> list[CommitLogRow]:
        """Insert ``(group_id, serialized_entry, signature)`` entries atomically; no dedupe."""
        db = self._db
        rows: list[CommitLogRow] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for group_id, entry, signature in entries:
                cur = db.execute(
                    "INSERT INTO commit_log (created_ns, group_id, serialized_entry, signature)"
                    " VALUES (?, ?, ?, ?)",
                    (now_ns, group_id, entry, signature),
                )
                rows.append(CommitLogRow(int(cur.lastrowid or 0), group_id, entry, signature))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return rows

    def query_commit_log(self, group_id: bytes, limit: int, cursor: int) -> list[CommitLogRow]:
        """One ascending page of a group's commit log entries with ``id > cursor``."""
        rows = self._db.execute(
            "SELECT id, group_id, serialized_entry, signature FROM commit_log"
            " WHERE group_id = ? AND id > ? ORDER BY id ASC LIMIT ?",
            (group_id, _clamp(cursor), limit),
        ).fetchall()
        return [CommitLogRow(int(r[0]), bytes(r[1]), bytes(r[2]), bytes(r[3])) for r in rows]


def _group_row(r: Any) -> GroupMessageRow:
    return GroupMessageRow(
        int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3]), bytes(r[4]), bool(r[5]), bool(r[6])
    )
