"""The gateway's SQLite state, the migration runner, and the identity store."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from openclaw_convos.errors import StateError
from openclaw_convos.gateway.identities import IdentityStore
from openclaw_convos.gateway.state import (
    MIGRATIONS,
    GatewayState,
    HistoryItem,
    Plan,
    PlannedSend,
    RecordState,
    Role,
)
from openclaw_convos.storage import open_sqlite
from openclaw_convos.xmtp.outbound import Reaction, Text, from_json


def _plan(message_id: str, sent_at_ns: int, *sends: str, **kw: object) -> Plan:
    return Plan(
        message_id,
        "c1",
        "alice",
        sent_at_ns,
        sends=tuple(PlannedSend("c1", item) for item in sends),
        **kw,  # type: ignore[arg-type]
    )


async def test_a_decision_is_one_write_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "gateway.sqlite"
    state = GatewayState.open(path)
    assert await state.get("m1") is None  # nothing is recorded before the decision
    await state.commit(
        _plan(
            "m1",
            10,
            "s1",
            "s2",
            history=(HistoryItem(Role.USER, "alice", "Alice", "hi"),),
            activity=(("last_reply_at", "x"),),
        )
    )
    await state.commit(_plan("m1", 10, "other"))  # a second decision never replaces the first
    rec = await state.get("m1")
    assert rec is not None and rec.state is RecordState.REPLYING
    assert [s.item for s in await state.outbox("m1")] == ["s1", "s2"]
    await state.commit(_plan("m2", 20, "code", ignored=True))
    await state.commit(_plan("m3", 30))  # nothing to send: done at once
    state.close()

    state = GatewayState.open(path)
    assert [r.message_id for r in await state.unfinished()] == ["m1", "m2"]
    assert await state.activity_value("last_reply_at") == "x"
    assert await state.cursor("c1") == 30
    assert await state.cursor("other") is None
    await state.advance_cursor("other", 7)
    await state.advance_cursor("other", 5)  # never moves back
    await state.advance_cursor("c1", 15)  # below the inbound maximum
    assert (await state.cursor("other"), await state.cursor("c1")) == (7, 30)
    assert await state.cursors(["c1", "other", "none"]) == {"c1": 30, "other": 7}
    state.finished_soon("m1")
    state.finished_soon("m2")
    assert await state.unfinished() == []  # finished, to be written with the next write
    assert await state.counts() == {"replying": 2, "done": 1}
    await state.flush()
    assert await state.counts() == {"done": 2, "ignored": 1}  # m2 had no agent turn: ignored
    assert await state.outbox("m1") == []  # sent: its rows (which may hold a file's key) are gone
    state.close()


async def test_finishes_ride_on_the_next_decision(tmp_path: Path) -> None:
    state = GatewayState.open(tmp_path / "s.sqlite")
    await state.commit(_plan("m1", 1, "a"))
    state.finished_soon("m1")
    await state.commit(_plan("m2", 2, "b"))
    assert (await state.counts()) == {"done": 1, "replying": 1}
    state.close()


async def test_history_members_invites_owners(tmp_path: Path) -> None:
    state = GatewayState.open(tmp_path / "s.sqlite")
    for i in range(5):
        role = Role.USER if i % 2 == 0 else Role.ASSISTANT
        await state.commit(
            _plan(
                f"m{i}", i, history=(HistoryItem(role, "a" if role is Role.USER else None, "Ann", f"t{i}"),)
            )
        )
    items = await state.history("c1", limit=3)
    assert [h.text for h in items] == ["t2", "t3", "t4"]
    assert (items[0].sender_inbox_id, items[0].sender_name, items[1].role) == ("a", "Ann", Role.ASSISTANT)
    await state.set_member_name("c", "i", "Old", None, 5)
    await state.set_member_name("c", "i", "Older", None, 1)  # an older update never wins
    assert await state.member_name("c", "i") == "Old"
    await state.set_member_name("c", "i", "From snapshot", None, 9, own=False)  # never over an own update
    assert await state.member_name("c", "i") == "Old"
    await state.set_member_name("c", "j", "Snap", None, 9, own=False)
    await state.set_member_name("c", "j", "Own", None, 2)  # an own update beats a newer snapshot
    assert await state.member_name("c", "j") == "Own"
    assert await state.use_invite("k", "c", "joiner1") is True
    assert await state.use_invite("k", "c", "joiner1") is True  # the same joiner again: idempotent
    assert await state.use_invite("k", "c", "joiner2") is False
    assert await state.invite_used_by("k") == "joiner1"
    assert await state.owners() == set()
    await state.add_owner("o1")
    await state.add_owner("o1")
    assert await state.owners() == {"o1"}
    state.close()


async def test_a_schema_3_database_is_migrated(tmp_path: Path) -> None:
    """A database written by the previous release (committed as it was) opens and keeps its data."""
    path = tmp_path / "gateway.sqlite"
    shutil.copy(Path(__file__).parent / "data" / "gateway-v3.sqlite", path)
    alice, owner = "a1" * 32, "0f" * 32
    state = GatewayState.open(path)
    history = await state.history("c1")
    # v3 kept one "sender" column: a name, or the inbox id when there was none. A name can pose
    # as an inbox id, so none of them is taken as one: the hex stays a name (issue 14, item 5)
    assert [(h.role, h.sender_inbox_id, h.sender_name, h.text) for h in history] == [
        (Role.USER, None, "Alexandra Wonderland", "hello"),
        (Role.ASSISTANT, None, None, "hi"),
        (Role.USER, None, alice.upper(), "no name"),  # as it was stored
    ]
    assert await state.owners() == {owner}
    assert await state.activity_value("owners") is None  # moved to its table
    assert await state.activity_value("health") == "healthy"
    assert await state.member_name("c1", alice) == "Alexandra Wonderland"
    # m2's answer was stored but not sent yet: it waits in the outbox
    assert [from_json(s.item) for s in await state.outbox("m2")] == [
        Text("Hello again"),
        Reaction("m2", alice, "👍"),
    ]
    unfinished = {r.message_id: r.state for r in await state.unfinished()}
    assert unfinished == {"m2": RecordState.REPLYING, "m3": RecordState.RECEIVED}
    await state.commit(_plan("m3", 30, "answer"))  # a v3 "received" message is decided now
    assert (await state.get("m3")).state is RecordState.REPLYING  # type: ignore[union-attr]
    assert [s.item for s in await state.outbox("m3")] == ["answer"]
    assert await state.counts() == {"done": 1, "replying": 2}
    state.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    open_sqlite(path, MIGRATIONS, name="x").close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StateError, match="newer than this version"):
        open_sqlite(path, MIGRATIONS, name="x")


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("SELECT * FROM missing_table")

    with pytest.raises(StateError, match="version 1"):
        open_sqlite(tmp_path / "s.sqlite", [bad], name="x")
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='t'").fetchone() is None


def test_identity_files_are_private_and_round_trip(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "convos" / "identities")
    ident = store.create(role="owner", label="owner")
    path = store.folder / f"{ident.id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert ident.wallet_key.hex() not in repr(ident)
    loaded = store.load(ident.id)
    assert loaded == ident
    updated = store.update(loaded, inbox_id="abc", conversation_id="c1")
    assert store.find_by_conversation("c1") == updated
    assert store.ids() == [ident.id]


def test_a_corrupt_identity_file_is_reported_and_others_load(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path)
    good = store.create()
    bad = store.create()
    (tmp_path / f"{bad.id}.json").write_text(json.dumps({"id": bad.id, "walletKey": "zz"}))
    loaded, errors = store.load_all()
    assert loaded == [good]
    assert list(errors) == [bad.id] and bad.id in str(errors[bad.id])
    with pytest.raises(StateError):
        store.load("../escape")


async def test_a_decision_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    """One transaction: a failure after the record's row leaves neither the record nor its sends."""
    state = GatewayState.open(tmp_path / "s.sqlite")
    await state.commit(_plan("m0", 1, "a"))
    state.finished_soon("m0")
    bad = _plan("m1", 2, "x", history=(HistoryItem("bogus", None, None, "t"),))  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        await state.commit(bad)
    assert await state.get("m1") is None and await state.outbox("m1") == []
    assert (await state.counts()) == {"replying": 1}  # m0's finish was not written either...
    await state.flush()
    assert (await state.counts()) == {"done": 1}  # ...and is kept for the next write
    state.close()
