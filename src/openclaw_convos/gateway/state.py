"""The gateway's own state: progress per message, agent history, member names, invites used.

Progress makes processing exactly-once across crashes. An inbound message is recorded once its
answer is decided, in one transaction with every send it needs (the outbox: replies, chunks,
pairing codes, owner notices, announcements), its history and activity: ``replying``, then
``done`` once the sends went out (or ``ignored``). A crash before the decision leaves no record:
the message is read again from the cursor and decided again (nothing was sent for it). After a
crash later, ``replying`` messages send only what is not in the conversation yet.
"""

from __future__ import annotations

import enum
import json
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


def _v4(conn: sqlite3.Connection) -> None:
    """History keeps the sender's inbox id and display name apart; owners get a table; the outbox.

    Version 3 stored one ``sender`` column holding a display name or, without one, an inbox id.
    A member chooses its name, so a 64-hex "sender" may be a name posing as someone's inbox id
    (issue 14, item 5): every v3 sender becomes a ``sender_name`` and none an inbox id.
    """
    execute_script(
        conn,
        """
        CREATE TABLE history_v4 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            sender_inbox_id TEXT,
            sender_name TEXT,
            text TEXT NOT NULL,
            at_ns INTEGER NOT NULL
        );
        INSERT INTO history_v4 (id, conversation_id, role, sender_inbox_id, sender_name, text, at_ns)
            SELECT id, conversation_id, role, NULL, sender, text, at_ns
            FROM history;
        DROP TABLE history;
        ALTER TABLE history_v4 RENAME TO history;
        CREATE INDEX history_conversation ON history (conversation_id, id);
        ALTER TABLE inbound ADD COLUMN final_state TEXT NOT NULL DEFAULT 'done'
            CHECK (final_state IN ('done', 'ignored'));
        CREATE TABLE owners (
            inbox_id TEXT PRIMARY KEY,
            added_at REAL NOT NULL
        );
        CREATE TABLE outbox (
            message_id TEXT NOT NULL REFERENCES inbound (message_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            conversation_id TEXT NOT NULL,
            item TEXT NOT NULL,
            PRIMARY KEY (message_id, seq)
        );
        """,
    )
    # A half-sent v3 answer becomes outbox rows: the chunks not counted as sent, and the reaction.
    from ..xmtp import outbound as out  # pure values; the binding loads with the gateway anyway
    from .chunking import chunk_text

    for message_id, conversation_id, sender, text, react, sent in conn.execute(
        "SELECT message_id, conversation_id, sender_inbox_id, reply_text, reply_react, chunks_sent"
        " FROM inbound WHERE state = 'replying'"
    ).fetchall():
        items: list[out.Outbound] = (
            [out.Text(chunk) for chunk in chunk_text(text)[int(sent) :]] if text else []
        )
        if react:
            items.append(out.Reaction(message_id, sender, react))
        conn.executemany(
            "INSERT INTO outbox (message_id, seq, conversation_id, item) VALUES (?, ?, ?, ?)",
            [(message_id, i, conversation_id, out.to_json(item)) for i, item in enumerate(items)],
        )
    row = conn.execute("SELECT value FROM activity WHERE key = 'owners'").fetchone()
    if row is not None:
        try:
            owners = [str(o) for o in json.loads(row[0])]
        except (ValueError, TypeError):
            owners = []
        conn.executemany(
            "INSERT OR IGNORE INTO owners (inbox_id, added_at) VALUES (?, ?)",
            [(o, time.time()) for o in owners],
        )
        conn.execute("DELETE FROM activity WHERE key = 'owners'")


MIGRATIONS = (_v1, _v2, _v3, _v4)


class RecordState(enum.StrEnum):
    """Where an inbound message is. ``received`` is only in databases of schema 3 and older: the
    answer was not decided yet (it is decided again)."""

    RECEIVED = "received"
    REPLYING = "replying"
    DONE = "done"
    IGNORED = "ignored"

    @property
    def finished(self) -> bool:
        return self in (RecordState.DONE, RecordState.IGNORED)


class Role(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class InboundRecord:
    message_id: str
    conversation_id: str
    sender_inbox_id: str
    sent_at_ns: int
    state: RecordState
    planned_at: float
    """When the answer was decided (Unix seconds): resume looks for our messages after it."""


@dataclass(frozen=True, slots=True)
class HistoryItem:
    role: Role
    sender_inbox_id: str | None
    sender_name: str | None
    text: str


@dataclass(frozen=True, slots=True)
class PlannedSend:
    """One send decided for an inbound message: ``item`` is the stored form of an outbound value."""

    conversation_id: str
    item: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything decided about one inbound message, written in one transaction."""

    message_id: str
    conversation_id: str
    sender_inbox_id: str
    sent_at_ns: int
    sends: tuple[PlannedSend, ...] = ()
    history: tuple[HistoryItem, ...] = ()
    activity: tuple[tuple[str, str], ...] = ()
    ignored: bool = False
    """The agent was not involved (not admitted, not for us); sends may still go out (a pairing code)."""

    @property
    def final_state(self) -> RecordState:
        return RecordState.IGNORED if self.ignored else RecordState.DONE

    @property
    def state(self) -> RecordState:
        return RecordState.REPLYING if self.sends else self.final_state


@dataclass(frozen=True, slots=True)
class Prefetched:
    record: InboundRecord | None
    sender_name: str | None
    history: tuple[HistoryItem, ...]


def _cursors_sql(where: str = "") -> str:
    """Rows ``(c, m)``: each conversation's cursor, the newest sent time handled (inbound records
    and the ``cursors`` table). ``where`` filters both sources alike."""
    return (
        f"SELECT c, MAX(m) AS m FROM (SELECT conversation_id AS c, MAX(sent_at_ns) AS m FROM inbound {where}"  # noqa: S608
        f" GROUP BY conversation_id UNION ALL SELECT conversation_id, sent_at_ns FROM cursors {where}) GROUP BY c"
    )


class GatewayState:
    """Async access to the gateway's SQLite database."""

    def __init__(self, db: AsyncSqlite) -> None:
        self._db = db
        self._finished: list[str] = []

    @classmethod
    def open(cls, path: Path | str) -> GatewayState:
        return cls(AsyncSqlite(open_sqlite(path, MIGRATIONS, name="gateway state"), "gateway"))

    def close(self) -> None:
        self._db.close()

    # -- inbound progress --
    async def get(self, message_id: str) -> InboundRecord | None:
        row = await self._db.fetchone("SELECT * FROM inbound WHERE message_id = ?", (message_id,))
        return _record(row) if row else None

    async def prefetch(
        self, message_id: str, conversation_id: str, sender_inbox_id: str, history_limit: int
    ) -> Prefetched:
        """What deciding a message reads, in one trip to the database thread: its record, the
        sender's display name and the conversation's recent history."""

        def work(c: sqlite3.Connection) -> Prefetched:
            row = c.execute("SELECT * FROM inbound WHERE message_id = ?", (message_id,)).fetchone()
            name = c.execute(
                "SELECT display_name FROM members WHERE conversation_id = ? AND inbox_id = ?",
                (conversation_id, sender_inbox_id),
            ).fetchone()
            rows = c.execute(
                "SELECT role, sender_inbox_id, sender_name, text FROM history WHERE conversation_id = ?"
                " ORDER BY id DESC LIMIT ?",
                (conversation_id, history_limit),
            ).fetchall()
            return Prefetched(
                _record(row) if row else None,
                str(name["display_name"]) if name and name["display_name"] else None,
                tuple(_history(r) for r in reversed(rows)),
            )

        return await self._db.run(work)

    async def commit(self, plan: Plan) -> None:
        """Record a decided message with its sends, history and activity: one transaction.

        Messages marked :meth:`finished_soon` since the last write are finished in it too. A
        message already recorded keeps its record (a decision is never replaced).
        """
        state = plan.state
        done, self._finished = self._finished, []

        def work(c: sqlite3.Connection) -> None:
            _finish(c, done)
            cursor = c.execute(
                "INSERT OR IGNORE INTO inbound (message_id, conversation_id, sender_inbox_id, sent_at_ns,"
                " state, final_state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    plan.message_id,
                    plan.conversation_id,
                    plan.sender_inbox_id,
                    plan.sent_at_ns,
                    state,
                    plan.final_state,
                    time.time(),
                ),
            )
            if cursor.rowcount == 0:
                c.execute(
                    "UPDATE inbound SET state = ?, final_state = ?, updated_at = ?"
                    " WHERE message_id = ? AND state = 'received'",
                    (state, plan.final_state, time.time(), plan.message_id),
                )
                if c.execute("SELECT changes()").fetchone()[0] == 0:
                    return  # decided before: keep that decision
            c.executemany(
                "INSERT INTO outbox (message_id, seq, conversation_id, item) VALUES (?, ?, ?, ?)",
                [(plan.message_id, i, s.conversation_id, s.item) for i, s in enumerate(plan.sends)],
            )
            now_ns = time.time_ns()
            c.executemany(
                "INSERT INTO history (conversation_id, role, sender_inbox_id, sender_name, text, at_ns)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (plan.conversation_id, h.role, h.sender_inbox_id, h.sender_name, h.text, now_ns + i)
                    for i, h in enumerate(plan.history)
                ],
            )
            c.executemany(_SET_ACTIVITY, plan.activity)

        try:
            await self._db.transaction(work)
        except BaseException:
            self._finished[:0] = done  # not written: keep them for the next write
            raise

    async def outbox(self, message_id: str) -> list[PlannedSend]:
        rows = await self._db.fetchall(
            "SELECT conversation_id, item FROM outbox WHERE message_id = ? ORDER BY seq", (message_id,)
        )
        return [PlannedSend(str(r["conversation_id"]), str(r["item"])) for r in rows]

    def finished_soon(self, message_id: str) -> None:
        """Every planned send of the message went out: mark it done with the next write.

        Until then it looks unfinished, and a crash makes the resume check the conversation,
        which finds every send present. This keeps a message's bookkeeping at one write.
        """
        self._finished.append(message_id)

    async def flush(self) -> None:
        """Write the pending :meth:`finished_soon` marks now."""
        if not self._finished:
            return
        done, self._finished = self._finished, []
        try:
            await self._db.transaction(lambda c: _finish(c, done))
        except BaseException:
            self._finished[:0] = done
            raise

    async def finish(self, message_id: str, state: RecordState = RecordState.DONE) -> None:
        await self._db.execute(
            "UPDATE inbound SET state = ?, updated_at = ? WHERE message_id = ?",
            (state, time.time(), message_id),
        )

    async def unfinished(self) -> list[InboundRecord]:
        rows = await self._db.fetchall(
            "SELECT * FROM inbound WHERE state IN ('received', 'replying') ORDER BY sent_at_ns"
        )
        pending = set(self._finished)
        return [_record(r) for r in rows if r["message_id"] not in pending]

    async def cursor(self, conversation_id: str) -> int | None:
        """The newest sent time of a message handled in the conversation (catch-up starts there)."""
        cursors = await self.cursors([conversation_id])
        return cursors.get(conversation_id)

    async def cursors(self, conversation_ids: list[str]) -> dict[str, int]:
        """:meth:`cursor` of several conversations in one read (absent: nothing handled yet)."""
        if not conversation_ids:
            return {}
        marks = ",".join("?" * len(conversation_ids))
        rows = await self._db.fetchall(
            _cursors_sql(f"WHERE conversation_id IN ({marks})"), (*conversation_ids, *conversation_ids)
        )
        return {str(r["c"]): int(r["m"]) for r in rows if r["m"] is not None}

    async def handled_before(self) -> dict[str, int]:
        """Per conversation: the sent time before which every message is handled for good.

        That is the cursor, or the oldest message still being answered when that is older (a
        restart reads it again by id). Messages older than this may leave the local XMTP store.
        """
        rows = await self._db.fetchall(
            f"WITH cur AS ({_cursors_sql()}), open AS (SELECT conversation_id AS c, MIN(sent_at_ns) AS m"  # noqa: S608
            " FROM inbound WHERE state IN ('received', 'replying') GROUP BY conversation_id)"
            " SELECT cur.c AS c, MIN(cur.m, COALESCE(open.m, cur.m)) AS m FROM cur LEFT JOIN open ON open.c = cur.c"
        )
        return {str(r["c"]): int(r["m"]) for r in rows if r["m"] is not None}

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
    async def history(self, conversation_id: str, limit: int = 20) -> tuple[HistoryItem, ...]:
        rows = await self._db.fetchall(
            "SELECT role, sender_inbox_id, sender_name, text FROM history WHERE conversation_id = ?"
            " ORDER BY id DESC LIMIT ?",
            (conversation_id, limit),
        )
        return tuple(_history(r) for r in reversed(rows))

    # -- owners --
    async def owners(self) -> set[str]:
        rows = await self._db.fetchall("SELECT inbox_id FROM owners")
        return {str(r["inbox_id"]) for r in rows}

    async def add_owner(self, inbox_id: str) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO owners (inbox_id, added_at) VALUES (?, ?)", (inbox_id, time.time())
        )

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
        await self._db.execute(_SET_ACTIVITY, (key, value))

    async def activity(self) -> dict[str, str]:
        rows = await self._db.fetchall("SELECT key, value FROM activity")
        return {str(r["key"]): str(r["value"]) for r in rows}

    async def activity_values(self, prefix: str) -> dict[str, str]:
        """Every activity entry whose key starts with ``prefix`` (one read for all identities)."""
        rows = await self._db.fetchall(
            "SELECT key, value FROM activity WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff")
        )
        return {str(r["key"]): str(r["value"]) for r in rows}

    async def set_activities(self, items: list[tuple[str, str]]) -> None:
        """Several activity entries in one write."""
        if items:
            await self._db.transaction(lambda c: c.executemany(_SET_ACTIVITY, items))

    async def activity_value(self, key: str) -> str | None:
        """One activity entry (the whole table grows with the identities: two keys each)."""
        row = await self._db.fetchone("SELECT value FROM activity WHERE key = ?", (key,))
        return None if row is None else str(row["value"])


_SET_ACTIVITY = (
    "INSERT INTO activity (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def _finish(c: sqlite3.Connection, message_ids: list[str]) -> None:
    """Mark messages done and drop their outbox rows: a finished message is never resumed, and
    the rows may hold secrets (the key of a file the agent sent)."""
    c.executemany(
        "UPDATE inbound SET state = final_state, updated_at = ? WHERE message_id = ? AND state = 'replying'",
        [(time.time(), m) for m in message_ids],
    )
    c.executemany(
        "DELETE FROM outbox WHERE message_id = ? AND message_id NOT IN"
        " (SELECT message_id FROM inbound WHERE state = 'replying')",
        [(m,) for m in message_ids],
    )


def _history(row: sqlite3.Row) -> HistoryItem:
    return HistoryItem(Role(str(row["role"])), row["sender_inbox_id"], row["sender_name"], str(row["text"]))


def _record(row: sqlite3.Row) -> InboundRecord:
    return InboundRecord(
        message_id=str(row["message_id"]),
        conversation_id=str(row["conversation_id"]),
        sender_inbox_id=str(row["sender_inbox_id"]),
        sent_at_ns=int(row["sent_at_ns"]),
        state=RecordState(str(row["state"])),
        planned_at=float(row["updated_at"]),
    )
