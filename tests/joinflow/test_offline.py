"""Join requests sent while the creator was offline are handled once it is back."""

from __future__ import annotations

import time
from datetime import timedelta

from openclaw_convos.convos import content as cc
from openclaw_convos.convos.join import JoinAction
from openclaw_convos.joinflow.creator import Creator, create_conversation, invite_for, join_request_of
from openclaw_convos.joinflow.joiner import JoinStatus, check_invite, request_join, wait_for_join

from ..conftest import ClientFactory
from .conftest import PENDING_WAIT, WAIT, CreatorFactory, actions, now, of_type


async def test_stream_catches_up_from_its_cursor(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    invite = check_invite(invite_for(alice.client, room)[0], now=now())
    await alice.stop()

    since = time.time_ns() - 1_000_000_000
    await request_join(bob, invite, profile_name="Bob")
    pending = await wait_for_join(bob, invite, timeout=PENDING_WAIT, poll=0.2, since_ns=since)
    assert pending.status is JoinStatus.PENDING
    assert "must approve" in pending.message

    await alice.reopen()
    await alice.start(since_ns=alice.stopped_at_ns)
    result = await wait_for_join(bob, invite, timeout=WAIT, poll=0.2, since_ns=since)
    assert result.status is JoinStatus.JOINED and result.conversation_id == room.id
    assert actions(await alice.wait_outcomes(2)) == [JoinAction.ADMIT, JoinAction.ALREADY_HANDLED]


async def test_sweep_processes_recent_requests_once(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob, carol = await make_client("bob"), await make_client("carol")
    room = await create_conversation(alice.client, name="Room")
    invite = check_invite(invite_for(alice.client, room)[0], now=now())
    await alice.stop()
    since = time.time_ns() - 1_000_000_000
    await request_join(bob, invite)
    await request_join(carol, invite)
    noise = await bob.find_or_create_dm(alice.inbox_id)
    await noise.send(cc.encode_text("are you there?"))

    await alice.reopen()
    # Seen from two days later, the requests are out of the 24 h window: nothing happens.
    later = Creator(alice.client, alice.ledger, clock=lambda: now() + timedelta(days=2))
    assert await later.sweep() == []
    dm = await alice.dm_of(bob)
    first = next(m for m in await dm.messages(application_only=True) if m.sender_inbox_id == bob.inbox_id)
    request = join_request_of(first)
    assert request is not None
    stale = await later.process(dm, request)  # the live path applies the window too
    assert stale.decision.action is JoinAction.IGNORE and not stale.added
    creator = Creator(alice.client, alice.ledger)
    outcomes = await creator.sweep()
    assert sorted(actions(outcomes)) == sorted([JoinAction.ADMIT, JoinAction.ALREADY_HANDLED] * 2)
    assert sum(o.added for o in outcomes) == 2
    for joiner in (bob, carol):
        result = await wait_for_join(joiner, invite, timeout=WAIT, poll=0.2, since_ns=since)
        assert result.status is JoinStatus.JOINED and result.conversation_id == room.id

    # A second sweep costs nothing: everything is in the ledger.
    again = await creator.sweep()
    assert {o.decision.log_reason for o in again} == {"in the handled ledger"}
    assert len(again) == 4
    await alice.start()  # so that the fixture can stop it; and dm_of works
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinHandled)) == 1
    assert len(of_type(await alice.sent_in_dm(carol), cc.InviteJoinHandled)) == 1


async def test_sweep_and_stream_together_admit_once(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    """A sweep racing the live stream (both run in a real creator) never adds or answers twice."""
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    invite = check_invite(invite_for(alice.client, room)[0], now=now())
    since = time.time_ns() - 1_000_000_000
    await request_join(bob, invite)
    swept = await alice.creator.sweep()
    result = await wait_for_join(bob, invite, timeout=WAIT, poll=0.2, since_ns=since)
    assert result.status is JoinStatus.JOINED
    streamed = await alice.wait_outcomes(2)
    assert sum(o.added for o in [*swept, *streamed]) == 1
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinHandled)) == 1
