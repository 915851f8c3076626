"""The gateway's SQLite state, the migration runner, and the identity store."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from openclaw_convos.errors import StateError
from openclaw_convos.gateway.identities import IdentityStore
from openclaw_convos.gateway.state import MIGRATIONS, GatewayState
from openclaw_convos.storage import open_sqlite


async def test_progress_is_idempotent_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "gateway.sqlite"
    state = GatewayState.open(path)
    rec = await state.claim("m1", "c1", "alice", 10)
    assert rec.state == "received"
    await state.set_reply("m1", "hello", None)
    await state.chunk_sent("m1", 1)
    again = await state.claim("m1", "c1", "alice", 10)
    assert (again.state, again.reply_text, again.chunks_sent) == ("replying", "hello", 1)
    await state.claim("m2", "c1", "bob", 20)
    state.close()

    state = GatewayState.open(path)
    assert [r.message_id for r in await state.unfinished()] == ["m1", "m2"]
    assert await state.cursor("c1") == 20
    assert await state.cursor("other") is None
    await state.advance_cursor("other", 7)
    await state.advance_cursor("other", 5)  # never moves back
    await state.advance_cursor("c1", 15)  # below the inbound maximum
    assert (await state.cursor("other"), await state.cursor("c1")) == (7, 20)
    await state.finish("m1")
    await state.finish("m2", "ignored")
    assert await state.unfinished() == []
    assert await state.counts() == {"done": 1, "ignored": 1}
    state.close()


async def test_set_reply_only_from_received(tmp_path: Path) -> None:
    state = GatewayState.open(tmp_path / "s.sqlite")
    await state.claim("m1", "c1", "a", 1)
    await state.set_reply("m1", "first", None)
    await state.set_reply("m1", "second", None)  # a second answer must never replace the stored one
    rec = await state.get("m1")
    assert rec is not None and rec.reply_text == "first"
    state.close()


async def test_history_members_invites(tmp_path: Path) -> None:
    state = GatewayState.open(tmp_path / "s.sqlite")
    for i in range(5):
        await state.add_history("c", "user" if i % 2 == 0 else "assistant", "a", f"t{i}")
    assert [h.text for h in await state.history("c", limit=3)] == ["t2", "t3", "t4"]
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
