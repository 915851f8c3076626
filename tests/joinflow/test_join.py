"""A joiner joins a creator's conversation through the whole DM flow, and only once."""

from __future__ import annotations

import time

from openclaw_convos.convos import content as cc
from openclaw_convos.convos import profiles as cp
from openclaw_convos.convos.join import JoinAction
from openclaw_convos.joinflow.creator import Creator, JoinRequestMessage, create_conversation, invite_for
from openclaw_convos.joinflow.joiner import JoinStatus, check_invite, request_join, wait_for_join
from openclaw_convos.xmtp import ConversationKind, MessageKind

from ..conftest import ClientFactory
from .conftest import WAIT, CreatorFactory, actions, group_names, join, now, of_type


async def test_join_through_the_dm_flow(make_creator: CreatorFactory, make_client: ClientFactory) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room", profile_name="Alice")
    _slug, url = invite_for(alice.client, room, env="dev")
    invite = check_invite(url, now=now())
    await alice.stop()  # the creator answers only once Bob's decoy groups exist

    since = time.time_ns() - 1_000_000_000
    dm = await request_join(bob, invite, profile_name="Bob")
    # Groups Bob is added to meanwhile: "the first new group" would be the wrong one.
    mallory = await make_client("mallory")
    decoy = await create_conversation(mallory, name="Room")
    await decoy.add_members([bob.inbox_id])
    untagged = await mallory.create_group([bob.inbox_id], name="Room")
    await alice.reopen()
    await alice.start(since_ns=since)
    reopened = alice.client.conversation(room.id)
    assert reopened is not None
    room = reopened

    result = await wait_for_join(bob, invite, timeout=WAIT, poll=0.2, since_ns=since, profile_name="Bob")
    assert result.status is JoinStatus.JOINED, result.message
    assert result.conversation_id == room.id
    groups = {c.id for c in await bob.list_conversations() if c.kind is ConversationKind.GROUP}
    assert groups == {room.id, decoy.id, untagged.id}
    assert bob.inbox_id in {m.inbox_id for m in await room.members()}

    # Typed request admitted, its plain-text copy retired by the marker.
    outcomes = await alice.wait_outcomes(2)
    assert actions(outcomes) == [JoinAction.ADMIT, JoinAction.ALREADY_HANDLED]
    assert outcomes[0].added and outcomes[0].decision.conversation_id == room.id

    creator_dm = await alice.dm_of(bob)
    assert creator_dm.id == dm.id
    assert creator_dm.consent() == "allowed"
    sent = await alice.sent_in_dm(bob)
    markers = of_type(sent, cc.InviteJoinHandled)
    assert len(markers) == 1 and len(sent) == 1
    typed = [m for m in await creator_dm.messages() if m.sender_inbox_id == bob.inbox_id]
    typed_ids = [m.id for m in typed if isinstance(cc.decode_content(m.content), cc.JoinRequest)]
    assert markers[0].invite_tag == invite.payload.tag and [markers[0].handled_message_id] == typed_ids

    # One profile snapshot after the add, naming the creator and (from its request) the joiner.
    await room.sync()
    snapshots = [
        m for m in await room.messages(application_only=True) if m.content_type == cp.PROFILE_SNAPSHOT
    ]
    assert len(snapshots) == 1
    snapshot = cc.decode_content(snapshots[0].content)
    assert isinstance(snapshot, cp.ProfileSnapshot)
    assert {p.inbox_id: p.name for p in snapshot.profiles} == {alice.inbox_id: "Alice", bob.inbox_id: "Bob"}
    assert {p.inbox_id: p.is_agent for p in snapshot.profiles} == {alice.inbox_id: True, bob.inbox_id: True}

    # Bob cannot read Alice's pre-join profile_update: he knows her name from the snapshot.
    bob_view = await group_names(bob, room.id)
    assert bob_view[alice.inbox_id] == "Alice"
    # Alice reads Bob's own profile_update (sent by wait_for_join once he was in).
    alice_view = await group_names(alice.client, room.id)
    assert alice_view[bob.inbox_id] == "Bob"
    updates = [
        m
        for m in await room.messages(application_only=True)
        if m.sender_inbox_id == bob.inbox_id and m.content_type == cp.PROFILE_UPDATE
    ]
    assert len(updates) == 1


async def test_replays_and_retries_never_add_twice(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room", profile_name="Alice")
    invite = check_invite(invite_for(alice.client, room)[0], now=now())
    assert (await join(bob, invite)).status is JoinStatus.JOINED
    await alice.wait_outcomes(2)
    creator_dm = await alice.dm_of(bob)

    # A replay of the same message: the ledger ends it (no crypto, no reply).
    first = next(
        m
        for m in await creator_dm.messages()
        if m.sender_inbox_id == bob.inbox_id and m.kind is MessageKind.APPLICATION
    )
    replay = JoinRequestMessage(first.id, bob.inbox_id, first.sent_at_ns, invite.slug)
    outcome = await alice.creator.process(creator_dm, replay)
    assert outcome.decision.action is JoinAction.ALREADY_HANDLED
    assert outcome.decision.log_reason == "in the handled ledger"

    # A fresh retry from a member: no add, a fresh marker for the typed request, nothing for its copy.
    result = await join(bob, invite)
    assert result.status is JoinStatus.JOINED and result.conversation_id == room.id
    outcomes = await alice.wait_outcomes(4)
    assert actions(outcomes[2:]) == [JoinAction.ALREADY_MEMBER, JoinAction.ALREADY_HANDLED]
    assert not any(o.added or o.replied for o in outcomes[2:])

    sent = await alice.sent_in_dm(bob)
    assert len(of_type(sent, cc.InviteJoinHandled)) == 2
    assert not of_type(sent, cc.InviteJoinError)
    await room.sync()
    history = await room.messages()
    adds = [m for m in history if m.kind is MessageKind.MEMBERSHIP_CHANGE]
    snapshots = [m for m in history if m.content_type == cp.PROFILE_SNAPSHOT]
    assert len(snapshots) == 1
    assert len(adds) == 1  # the one add commit (the group's creation adds no message)
    assert sorted(m.inbox_id for m in await room.members()) == sorted([alice.inbox_id, bob.inbox_id])


async def test_a_late_text_copy_is_the_same_attempt(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    """The creator may answer the typed request before the joiner sends the text copy."""
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    invite = check_invite(invite_for(alice.client, room)[0], now=now())
    dm = await bob.find_or_create_dm(alice.inbox_id)
    await dm.send(cc.encode_content(cc.JoinRequest(invite_slug=invite.slug)))
    assert actions(await alice.wait_outcomes(1)) == [JoinAction.ADMIT]
    await dm.send(cc.encode_text(invite.slug))
    outcomes = await alice.wait_outcomes(2)
    assert actions(outcomes) == [JoinAction.ADMIT, JoinAction.ALREADY_HANDLED]
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinHandled)) == 1


async def test_a_gate_holds_a_join_until_it_allows_it(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    """``Creator(gate=...)``: a join every check allows is held (no add, no reply, not marked
    handled) while the gate says no, and admitted by the next pass once it says yes."""
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room", profile_name="Alice")
    _slug, url = invite_for(alice.client, room, env="dev")
    invite = check_invite(url, now=now())
    await alice.stop()  # no stream: only the sweeps below process the request
    await alice.reopen()
    await request_join(bob, invite, profile_name="Bob")
    allowed: set[str] = set()
    asked: list[tuple[str, str]] = []

    async def gate(conversation_id: str, inbox_id: str, request: JoinRequestMessage) -> bool:
        asked.append((conversation_id, inbox_id))
        return inbox_id in allowed

    creator = Creator(alice.client, alice.ledger, gate=gate)
    held = [o for o in await creator.sweep() if o.held]
    room = alice.client.conversation(room.id) or room
    # the typed request and its plain-text copy: both held, neither added nor answered
    assert len(held) == 2 and not any(o.added or o.replied for o in held)
    assert set(asked) == {(room.id, bob.inbox_id)}
    await room.sync()
    assert bob.inbox_id not in {m.inbox_id for m in await room.members()}
    assert await alice.sent_in_dm(bob) == []  # no marker, no error: Bob just waits
    allowed.add(bob.inbox_id)
    added = [o for o in await creator.sweep() if o.added]
    assert len(added) == 1
    result = await wait_for_join(bob, invite, timeout=WAIT, poll=0.2, profile_name="Bob")
    assert result.status is JoinStatus.JOINED and result.conversation_id == room.id
