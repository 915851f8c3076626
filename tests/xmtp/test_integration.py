"""The XMTP layer with real libxmtp clients against the devnode."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.errors import IdentityError, NodeUnreachable
from openclaw_convos.retry import Backoff
from openclaw_convos.xmtp import (
    BackendPool,
    ConversationKind,
    Endpoint,
    Identity,
    IdentityKeys,
    MessageKind,
    MessageStream,
    XmtpClient,
)
from openclaw_convos.xmtp import content as c

from ..conftest import ClientFactory


def texts(messages: list) -> list[str]:  # type: ignore[type-arg]
    out = []
    for m in messages:
        decoded = c.decode_standard(m.content)
        if isinstance(decoded, c.Text):
            out.append(decoded.text)
    return out


async def wait_for_conversation(client: XmtpClient, conversation_id: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while client.conversation(conversation_id) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{conversation_id} never arrived")
        await client.sync_welcomes()
        await asyncio.sleep(0.05)


async def test_three_clients_dm_group_query_and_stream(make_client: ClientFactory) -> None:
    started = time.monotonic()
    alice, bob, carol = await asyncio.gather(make_client("alice"), make_client("bob"), make_client("carol"))
    assert len({alice.inbox_id, bob.inbox_id, carol.inbox_id}) == 3
    assert len(alice.installation_id) == 64

    async with MessageStream(bob, name="bob") as bob_stream:
        dm = await alice.find_or_create_dm(bob.inbox_id)
        assert dm.kind is ConversationKind.DM
        assert dm.dm_peer_inbox_id == bob.inbox_id
        await dm.send(c.encode_text("hello bob"))
        got = await bob_stream.get(timeout=10)
        while got.kind is not MessageKind.APPLICATION:
            got = await bob_stream.get(timeout=10)
        assert got.conversation_id == dm.id
        assert got.sender_inbox_id == alice.inbox_id
        assert c.decode_standard(got.content) == c.Text("hello bob")

        group = await alice.create_group([bob.inbox_id, carol.inbox_id], name="trio", description="d")
        assert group.kind is ConversationKind.GROUP
        members = {m.inbox_id for m in await group.members()}
        assert members == {alice.inbox_id, bob.inbox_id, carol.inbox_id}
        await group.send(c.encode_text("hi all"))
        while True:
            got = await bob_stream.get(timeout=10)
            if got.kind is MessageKind.APPLICATION and got.conversation_id == group.id:
                break
        assert c.decode_standard(got.content) == c.Text("hi all")

    # carol reads by query
    await wait_for_conversation(carol, group.id)
    carol_group = carol.conversation(group.id)
    assert carol_group is not None
    await carol_group.sync()
    assert carol_group.name == "trio"
    assert texts(await carol_group.messages(application_only=True)) == ["hi all"]
    print(f"3-client scenario: {time.monotonic() - started:.2f}s")


async def test_paging_over_more_than_100_messages(make_client: ClientFactory) -> None:
    alice, bob = await asyncio.gather(make_client("alice"), make_client("bob"))
    dm = await alice.find_or_create_dm(bob.inbox_id)
    for i in range(130):
        await dm.send(c.encode_text(f"m{i}"))
    await bob.sync_all()
    bob_dm = bob.conversation(dm.id)
    assert bob_dm is not None
    await bob_dm.sync()
    assert texts(await bob_dm.messages(application_only=True)) == [f"m{i}" for i in range(130)]


async def test_forgetting_old_messages_deletes_only_our_local_copies(
    pool: BackendPool, tmp_path: Path
) -> None:
    """Why the gateway forgets: libxmtp lists conversations with every stored message in memory."""
    alice = await XmtpClient.open(Identity(IdentityKeys.generate(), tmp_path / "alice.db3"), pool)
    bob_identity = Identity(IdentityKeys.generate(), tmp_path / "bob.db3")
    bob = await XmtpClient.open(bob_identity, pool)
    dm = await alice.find_or_create_dm(bob.inbox_id)
    for i in range(40):
        await dm.send(c.encode_text(f"m{i}"))
    await wait_for_conversation(bob, dm.id)
    bob_dm = bob.conversation(dm.id)
    assert bob_dm is not None
    await bob_dm.sync()
    stored = await bob_dm.messages()
    sent = [m for m in stored if m.kind is MessageKind.APPLICATION]
    assert texts(sent) == [f"m{i}" for i in range(40)]

    # Nothing at or after before_ns goes, even beyond `keep`.
    forgotten = await bob.forget_messages(dm.id, keep=5, before_ns=sent[30].sent_at_ns)
    assert forgotten == len(stored) - 10
    assert texts(await bob_dm.messages()) == [f"m{i}" for i in range(30, 40)]
    assert bob.message(sent[0].id) is None
    # Then the newest `keep` stay.
    assert await bob.forget_messages(dm.id, keep=5, before_ns=time.time_ns()) == 5
    assert texts(await bob_dm.messages()) == [f"m{i}" for i in range(35, 40)]
    assert await bob.forget_messages(dm.id, keep=5, before_ns=time.time_ns()) == 0

    # Syncing and reopening do not fetch them again; alice's copy is whole; the DM still works.
    await bob_dm.sync()
    await bob.sync_all()
    bob.close()
    bob = await XmtpClient.open(bob_identity, pool)
    await bob.sync_all()
    again = bob.conversation(dm.id)
    assert again is not None
    assert texts(await again.messages()) == [f"m{i}" for i in range(35, 40)]
    assert len(texts(await dm.messages())) == 40
    await again.send(c.encode_text("still here"))
    await dm.sync()
    assert texts(await dm.messages())[-1] == "still here"


async def test_reopen_keeps_inbox_and_installation(pool: BackendPool, tmp_path: Path) -> None:
    identity = Identity(IdentityKeys.generate(), tmp_path / "ids" / "a.db3")
    first = await XmtpClient.open(identity, pool)
    inbox, installation = first.inbox_id, first.installation_id
    first.close()
    again = await XmtpClient.open(identity, pool)
    assert (again.inbox_id, again.installation_id) == (inbox, installation)
    assert await again.installation_count() == 1
    offline = await XmtpClient.open(identity, pool, allow_offline=True)
    assert offline.installation_id == installation


async def test_wrong_db_key_fails_fast(pool: BackendPool, tmp_path: Path) -> None:
    keys = IdentityKeys.generate()
    db = tmp_path / "ids" / "a.db3"
    (await XmtpClient.open(Identity(keys, db), pool)).close()
    wrong = IdentityKeys(keys.wallet_key, IdentityKeys.generate().db_key)
    started = time.monotonic()
    with pytest.raises(IdentityError, match="database key"):
        await XmtpClient.open(Identity(wrong, db), pool)
    assert time.monotonic() - started < 1


async def test_lost_database_does_not_silently_add_an_installation(pool: BackendPool, tmp_path: Path) -> None:
    keys = IdentityKeys.generate()
    (await XmtpClient.open(Identity(keys, tmp_path / "a" / "x.db3"), pool)).close()
    with pytest.raises(IdentityError, match="installation 2 of 10"):
        await XmtpClient.open(Identity(keys, tmp_path / "b" / "x.db3"), pool)
    second = await XmtpClient.open(
        Identity(keys, tmp_path / "b" / "x.db3"), pool, allow_new_installation=True
    )
    assert await second.installation_count() == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_node_gives_typed_error_quickly(tmp_path: Path) -> None:
    pool = BackendPool(Endpoint(f"http://127.0.0.1:{_free_port()}"))
    started = time.monotonic()
    with pytest.raises(NodeUnreachable):
        await pool.probe(timeout=5)
    with pytest.raises(NodeUnreachable):
        await XmtpClient.open(Identity(IdentityKeys.generate(), tmp_path / "x.db3"), pool, timeout=5)
    assert time.monotonic() - started < 12


async def test_devnode_restart_keeps_everything_and_stream_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openclaw_convos.xmtp.stream")
    db = tmp_path / "node.sqlite"
    node = Devnode(port=0, db_path=str(db))
    await node.start()
    port = node.port
    pool = BackendPool(Endpoint(node.url))
    alice = await XmtpClient.open(Identity(IdentityKeys.generate(), tmp_path / "a.db3"), pool)
    bob = await XmtpClient.open(Identity(IdentityKeys.generate(), tmp_path / "b.db3"), pool)
    dm = await alice.find_or_create_dm(bob.inbox_id)
    await dm.send(c.encode_text("before"))
    states: list[str] = []
    stream = MessageStream(bob, on_state=states.append, backoff=Backoff(0.1, 2, 0.5))
    await stream.start()
    first = await stream.get(timeout=10)
    while c.decode_standard(first.content) != c.Text("before"):
        first = await stream.get(timeout=10)

    await node.stop()
    with pytest.raises(NodeUnreachable):
        await pool.probe(timeout=5)
    node = Devnode(port=port, db_path=str(db))
    await node.start()
    try:
        await pool.probe(timeout=5)
        await dm.send(c.encode_text("after restart"))
        got = await stream.get(timeout=20)
        while c.decode_standard(got.content) != c.Text("after restart"):
            got = await stream.get(timeout=20)
        assert "reconnecting" in states and states[-1] == "connected"
        # the outage is said once (not at every reconnect attempt), and so is its end
        said = [r.getMessage() for r in caplog.records if r.name == "openclaw_convos.xmtp.stream"]
        down = [m for m in said if m.startswith(f"message stream of {stream.name} failed; reconnecting")]
        back = [m for m in said if m.startswith(f"message stream of {stream.name} is back after")]
        assert len(down) == 1 and len(back) == 1, said
        # a third client registers on the restarted node and sees the whole history it is added to
        carol = await XmtpClient.open(Identity(IdentityKeys.generate(), tmp_path / "c.db3"), pool)
        group = await alice.create_group([bob.inbox_id, carol.inbox_id])
        await group.send(c.encode_text("group after restart"))
        await wait_for_conversation(carol, group.id)
        carol_group = carol.conversation(group.id)
        assert carol_group is not None
        await carol_group.sync()
        assert texts(await carol_group.messages()) == ["group after restart"]
    finally:
        await stream.close()
        await node.stop()


async def test_add_and_remove_members_and_metadata(make_client: ClientFactory) -> None:
    alice, bob, carol = await asyncio.gather(make_client(), make_client(), make_client())
    group = await alice.create_group([bob.inbox_id], name="g", app_data="x1")
    assert group.is_admin(alice.inbox_id) and not group.is_admin(bob.inbox_id)
    await group.add_members([carol.inbox_id])
    assert {m.inbox_id for m in await group.members()} == {alice.inbox_id, bob.inbox_id, carol.inbox_id}
    await group.remove_members([bob.inbox_id])
    assert {m.inbox_id for m in await group.members()} == {alice.inbox_id, carol.inbox_id}
    await group.set_app_data("x2")
    await group.set_name("renamed")
    await group.set_add_member_policy(allow=False)
    assert group.add_member_policy() == "deny"
    await wait_for_conversation(carol, group.id)
    carol_group = carol.conversation(group.id)
    assert carol_group is not None
    await carol_group.sync()
    assert (carol_group.name, carol_group.app_data) == ("renamed", "x2")
    assert carol_group.add_member_policy() == "deny"
    listed = {c.id for c in await alice.list_conversations()}
    assert group.id in listed


async def test_inbox_state_lists_the_inbox_addresses_as_libxmtp_verified_them(
    make_client: ClientFactory, pool: BackendPool
) -> None:
    alice = await make_client("alice")
    state = await pool.inbox_state(alice.inbox_id.upper())
    assert state is not None
    assert state.inbox_id == alice.inbox_id
    assert state.addresses == frozenset({alice.address.lower()})
    assert state.recovery_address == alice.address.lower()
    assert state.installation_count == 1
    # no identity update for it on this node: no such inbox (the real node answers the same way)
    assert await pool.inbox_state("ab" * 32) is None
    assert await pool.inbox_state("not an inbox id") is None


async def test_inbox_state_of_an_unreachable_node_is_node_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = BackendPool(Endpoint(f"http://127.0.0.1:{port}"))
    started = time.monotonic()
    with pytest.raises(NodeUnreachable):
        await pool.inbox_state("ab" * 32, timeout=3)
    assert time.monotonic() - started < 5
