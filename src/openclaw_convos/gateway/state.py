"""The gateway's own state: progress per message, agent history, member names, invites used.

Progress makes processing exactly-once across crashes. An inbound message moves through
``received`` -> ``replying`` (the agent's answer is stored before anything is sent) -> ``done``
(or ``ignored``). After a restart, ``received`` messages are processed again (nothing was sent
for them yet) and ``replying`` ones only send the chunks that are not in the conversation yet.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..storage import AsyncSqlite, execute_script, open_sqlite


def _v1(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE inbound (
            message_id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL,
            sender_inbox_id TEXT NOT NULL,
            sent_at_ns INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('received', 'replying', 'done', 'ignored')),
            reply_text TEXT,
            reply_react TEXT,
            chunks_sent INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
        );
        CREATE INDEX inbound_conversation ON inbound (conversation_id, sent_at_ns);
        CREATE INDEX inbound_pending ON inbound (state) WHERE state IN ('received', 'replying');
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            sender TEXT,
            text TEXT NOT NULL,
            at_ns INTEGER NOT NULL
        );
        CREATE INDEX history_conversation ON history (conversation_id, id);
        CREATE TABLE members (
            conversation_id TEXT NOT NULL,
            inbox_id TEXT NOT NULL,
            display_name TEXT,
            image_url TEXT,
            updated_ns INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, inbox_id)
        );
        CREATE TABLE used_invites (
            invite_key TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL,
            used_by_inbox_id TEXT NOT NULL,
            used_at REAL NOT NULL
        );
        CREATE TABLE handled_join_requests (
            message_id TEXT PRIMARY KEY,
            outcome TEXT NOT NULL,
            handled_at REAL NOT NULL
        );
        CREATE TABLE activity (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    )


def _v2(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE cursors (
            conversation_id TEXT PRIMARY KEY,
            sent_at_ns INTEGER NOT NULL
        )
        """,
    )


def _v3(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE members ADD COLUMN own INTEGER NOT NULL DEFAULT 0")


MIGRATIONS = (_v1, _v2, _v3)


@dataclass(frozen=True, slots=True)
class InboundRecord:
    message_id: str
    conversation_id: str
    sender_inbox_id: str
    sent_at_ns: int
    state: str
    reply_text: str | None
    reply_react: str | None
    chunks_sent: int


@dataclass(frozen=True, slots=True)
class HistoryItem:
    role: str
    sender: str | None
    text: str


class GatewayState:
    """Async access to the gateway's SQLite database."""

    def __init__(self, db: AsyncSqlite) -> None:
        self._db = db

    @classmethod
    def open(cls, path: Path | str) -> GatewayState:
        return cls(AsyncSqlite(open_sqlite(path, MIGRATIONS, name="gateway state"), "gateway"))

    def close(self) -> None:
        self._db.close()

    # -- inbound progress --
    async def claim(
        self, message_id: str, conversation_id: str, sender: str, sent_at_ns: int
    ) -> InboundRecord:
        """Record a message as received (idempotent); returns its current record."""

        def work(c: sqlite3.Connection) -> InboundRecord:
            c.execute(
                "INSERT OR IGNORE INTO inbound (message_id, conversation_id, sender_inbox_id, sent_at_ns,"
                " state, updated_at) VALUES (?, ?, ?, ?, 'received', ?)",
                (message_id, conversation_id, sender, sent_at_ns, time.time()),
            )
            row = c.execute("SELECT * FROM inbound WHERE message_id = ?", (message_id,)).fetchone()
            return _record(row)

        return await self._db.run(work)

    async def get(self, message_id: str) -> InboundRecord | None:
        row = await self._db.fetchone("SELECT * FROM inbound WHERE message_id = ?", (message_id,))
        return _record(row) if row else None

    async def set_reply(self, message_id: str, text: str | None, react: str | None) -> None:
        await self._db.execute(
            "UPDATE inbound SET state = 'replying', reply_text = ?, reply_react = ?, updated_at = ? "
            "WHERE message_id = ? AND state = 'received'",
            (text, react, time.time(), message_id),
        )

    async def chunk_sent(self, message_id: str, count: int) -> None:
        await self._db.execute(
            "UPDATE inbound SET chunks_sent = ?, updated_at = ? WHERE message_id = ?",
            (count, time.time(), message_id),
        )

    async def finish(self, message_id: str, state: str = "done") -> None:
        await self._db.execute(
            "UPDATE inbound SET state = ?, updated_at = ? WHERE message_id = ?",
            (state, time.time(), message_id),
        )

    async def unfinished(self) -> list[InboundRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM inbound WHERE state IN ('received', 'replying') ORDER BY sent_at_ns"
        )
        return [_record(r) for r in rows]

    async def cursor(self, conversation_id: str) -> int | None:
        """The newest sent time of a message handled in the conversation (catch-up starts there)."""
        row = await self._db.fetchone(
            "SELECT MAX(m) AS m FROM (SELECT MAX(sent_at_ns) AS m FROM inbound WHERE conversation_id = ?"
            " UNION ALL SELECT sent_at_ns FROM cursors WHERE conversation_id = ?)",
            (conversation_id, conversation_id),
        )
        return int(row["m"]) if row and row["m"] is not None else None

    async def advance_cursor(self, conversation_id: str, sent_at_ns: int) -> None:
        """Record that a message that leaves no inbound record (profile, join request) was handled."""
        await self._db.execute(
            "INSERT INTO cursors (conversation_id, sent_at_ns) VALUES (?, ?) ON CONFLICT (conversation_id)"
            " DO UPDATE SET sent_at_ns = MAX(sent_at_ns, excluded.sent_at_ns)",
            (conversation_id, sent_at_ns),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._db.fetchall("SELECT state, COUNT(*) AS n FROM inbound GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}

    # -- history for agents --
    async def add_history(self, conversation_id: str, role: str, sender: str | None, text: str) -> None:
        await self._db.execute(
            "INSERT INTO history (conversation_id, role, sender, text, at_ns) VALUES (?, ?, ?, ?, ?)",
            (conversation_id, role, sender, text, time.time_ns()),
        )

    async def history(self, conversation_id: str, limit: int = 20) -> tuple[HistoryItem, ...]:
        rows = await self._db.fetchall(
            "SELECT role, sender, text FROM history WHERE conversation_id = ? ORDER BY id DESC LIMIT ?",
            (conversation_id, limit),
        )
        return tuple(HistoryItem(str(r["role"]), r["sender"], str(r["text"])) for r in reversed(rows))

    # -- member profiles --
    async def set_member_name(
        self,
        conversation_id: str,
        inbox_id: str,
        name: str | None,
        image_url: str | None,
        at_ns: int,
        *,
        own: bool = True,
    ) -> None:
        """Record a member's profile: ``own`` for the member's own update, False for a snapshot entry.

        The newest own update wins; a snapshot entry only fills in for members with no own update.
        """
        await self._db.execute(
            "INSERT INTO members (conversation_id, inbox_id, display_name, image_url, updated_ns, own)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, inbox_id) DO UPDATE SET"
            " display_name = excluded.display_name, image_url = excluded.image_url,"
            " updated_ns = excluded.updated_ns, own = excluded.own"
            " WHERE (excluded.own > members.own)"
            " OR (excluded.own = members.own AND excluded.updated_ns >= members.updated_ns)",
            (conversation_id, inbox_id, name, image_url, at_ns, int(own)),
        )

    async def member_name(self, conversation_id: str, inbox_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT display_name FROM members WHERE conversation_id = ? AND inbox_id = ?",
            (conversation_id, inbox_id),
        )
        return str(row["display_name"]) if row and row["display_name"] else None

    # -- single-use invites and join requests (creator side) --
    async def use_invite(self, invite_key: str, conversation_id: str, inbox_id: str) -> bool:
        """Mark a single-use invite used; False when it was already used by someone else."""

        def work(c: sqlite3.Connection) -> bool:
            row = c.execute(
                "SELECT used_by_inbox_id FROM used_invites WHERE invite_key = ?", (invite_key,)
            ).fetchone()
            if row is not None:
                return str(row[0]) == inbox_id
            c.execute(
                "INSERT INTO used_invites (invite_key, conversation_id, used_by_inbox_id, used_at) VALUES (?, ?, ?, ?)",
                (invite_key, conversation_id, inbox_id, time.time()),
            )
            return True

        return await self._db.run(work)

    async def invite_used_by(self, invite_key: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT used_by_inbox_id FROM used_invites WHERE invite_key = ?", (invite_key,)
        )
        return str(row[0]) if row else None

    async def join_request_handled(self, message_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT outcome FROM handled_join_requests WHERE message_id = ?", (message_id,)
        )
        return str(row[0]) if row else None

    async def mark_join_request(self, message_id: str, outcome: str) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO handled_join_requests (message_id, outcome, handled_at) VALUES (?, ?, ?)",
            (message_id, outcome, time.time()),
        )

    # -- activity (for status) --
    async def set_activity(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO activity (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def activity(self) -> dict[str, str]:
        rows = await self._db.fetchall("SELECT key, value FROM activity")
        return {str(r["key"]): str(r["value"]) for r in rows}

    async def activity_value(self, key: str) -> str | None:
        """One activity entry (the whole table grows with the identities: two keys each)."""
        row = await self._db.fetchone("SELECT value FROM activity WHERE key = ?", (key,))
        return None if row is None else str(row["value"])


def _record(row: sqlite3.Row) -> InboundRecord:
    return InboundRecord(
        message_id=str(row["message_id"]),
        conversation_id=str(row["conversation_id"]),
        sender_inbox_id=str(row["sender_inbox_id"]),
        sent_at_ns=int(row["sent_at_ns"]),
        state=str(row["state"]),
        reply_text=row["reply_text"],
        reply_react=row["reply_react"],
        chunks_sent=int(row["chunks_sent"]),
    )
