"""Invites that must not get anyone in, each with the right outcome on both sides."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from openclaw_convos.convos import content as cc
from openclaw_convos.convos.errors import InviteConversationExpired, InviteExpired
from openclaw_convos.convos.invites import create_invite, parse_invite
from openclaw_convos.convos.join import (
    REASON_LOCKED,
    REASON_NOT_FOUND,
    REASON_SINGLE_USE,
    REASON_TAG_REVOKED,
    JoinAction,
)
from openclaw_convos.convos.metadata import decode_app_data, update_app_data
from openclaw_convos.convos.tags import new_invite_tag
from openclaw_convos.errors import XmtpError
from openclaw_convos.gateway.state import GatewayState
from openclaw_convos.joinflow.creator import (
    JoinRequestMessage,
    create_conversation,
    invite_for,
    join_request_of,
    lock,
    revoke_invites,
)
from openclaw_convos.joinflow.joiner import JoinStatus, check_invite, request_join, wait_for_join
from openclaw_convos.xmtp import IdentityKeys, XmtpClient

from ..conftest import ClientFactory
from .conftest import (
    PENDING_WAIT,
    CreatorFactory,
    CreatorService,
    actions,
    join,
    now,
    of_type,
    send_raw_request,
)


async def _members(service: CreatorService, conversation_id: str) -> set[str]:
    conversation = service.client.conversation(conversation_id)
    assert conversation is not None
    await conversation.sync()
    return {m.inbox_id for m in await conversation.members()}


async def _refused(joiner: XmtpClient, slug: str, since: int) -> cc.InviteJoinError:
    result = await wait_for_join(joiner, parse_invite(slug), timeout=5.0, poll=0.2, since_ns=since)
    assert result.status is JoinStatus.REFUSED, result.status
    assert result.error is not None and result.conversation_id is None
    return result.error


async def test_forged_invite_blocks_the_dm_and_gets_no_answer(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    tag = decode_app_data(room.app_data).tag
    # Signed by another key, claiming Alice's inbox (the token is not hers either).
    forged = create_invite(IdentityKeys.generate().wallet_key, alice.inbox_id, room.id, tag)
    invite = check_invite(forged, now=now())  # a joiner cannot tell: any recoverable signer passes
    result = await join(bob, invite, timeout=PENDING_WAIT)

    outcomes = await alice.wait_outcomes(1)
    assert actions(outcomes)[0] is JoinAction.BLOCK_SENDER
    assert all(a is JoinAction.IGNORE for a in actions(alice.outcomes[1:]))  # the copy: DM blocked
    assert result.status is JoinStatus.PENDING
    assert (await alice.dm_of(bob)).consent() == "denied"
    assert await alice.sent_in_dm(bob) == []
    assert bob.inbox_id not in await _members(alice, room.id)


async def test_text_that_is_not_an_invite_is_ignored_not_blocked(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    dm = await bob.find_or_create_dm(alice.inbox_id)
    await dm.send(cc.encode_text("0x" + "ab" * 32))  # a pasted transaction hash (reference §17.10)
    await dm.send(cc.encode_text("hello"))
    outcomes = await alice.wait_outcomes(2)
    assert actions(outcomes) == [JoinAction.IGNORE, JoinAction.IGNORE]
    assert (await alice.dm_of(bob)).consent() == "unknown"
    assert await alice.sent_in_dm(bob) == []


async def test_expired_invite_is_refused_by_the_joiner_and_ignored_by_the_creator(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    slug, _ = invite_for(alice.client, room, expires_at=int(time.time()) - 60)
    with pytest.raises(InviteExpired):
        check_invite(slug, now=now())
    with pytest.raises(InviteExpired):
        await request_join(bob, parse_invite(slug))
    assert await bob.list_conversations() == []  # refused before anything was sent

    # A creator that gets one anyway stays silent (it has not verified the invite yet).
    since = time.time_ns() - 1_000_000_000
    await send_raw_request(bob, slug)
    outcomes = await alice.wait_outcomes(2)
    assert actions(outcomes) == [JoinAction.IGNORE, JoinAction.IGNORE]
    assert outcomes[0].decision.log_reason == "invite expired"
    result = await wait_for_join(bob, parse_invite(slug), timeout=PENDING_WAIT, poll=0.2, since_ns=since)
    assert result.status is JoinStatus.PENDING
    assert await alice.sent_in_dm(bob) == []
    assert (await alice.dm_of(bob)).consent() == "unknown"


async def test_expired_conversation_gets_one_conversation_expired_reply(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    slug, _ = invite_for(alice.client, room, conversation_expires_at=int(time.time()) - 60)
    with pytest.raises(InviteConversationExpired):
        await request_join(bob, parse_invite(slug))

    since = time.time_ns() - 1_000_000_000
    await send_raw_request(bob, slug)
    error = await _refused(bob, slug, since)
    assert error.error_type is cc.InviteJoinErrorType.CONVERSATION_EXPIRED
    assert error.reason is not None and error.reason.startswith("conversation expired at ")
    await alice.wait_outcomes(2)
    assert actions(alice.outcomes) == [JoinAction.REPLY_ERROR, JoinAction.REPLY_ERROR]
    assert [o.replied for o in alice.outcomes] == [True, False]  # one reply for the typed+text pair
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinError)) == 1

    # Ours: the conversation's own explode time (appData) has passed.
    await room.set_app_data(update_app_data(room.app_data, expires_at=int(time.time()) - 1))
    carol = await make_client("carol")
    fresh = check_invite(invite_for(alice.client, room)[0], now=now())
    result = await join(carol, fresh, timeout=5.0)
    assert result.status is JoinStatus.REFUSED and result.error is not None
    assert result.error.error_type is cc.InviteJoinErrorType.CONVERSATION_EXPIRED
    assert result.error.reason is not None and result.error.reason.startswith("conversation expired at ")
    assert await _members(alice, room.id) == {alice.inbox_id}


async def test_revoked_invite_is_refused_once_per_attempt(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    old, _ = invite_for(alice.client, room)
    new_tag = await revoke_invites(room)
    assert parse_invite(old).payload.tag != new_tag

    result = await join(bob, parse_invite(old), timeout=5.0)
    assert result.status is JoinStatus.REFUSED and result.error is not None
    assert result.error.error_type is cc.InviteJoinErrorType.CONVERSATION_EXPIRED
    assert result.error.reason == REASON_TAG_REVOKED
    assert "no longer available" in result.message
    await alice.wait_outcomes(2)
    assert [o.replied for o in alice.outcomes] == [True, False]

    # Replaying a handled request does nothing; a fresh attempt gets one fresh reply.
    dm = await alice.dm_of(bob)
    request = next(m for m in await dm.messages(application_only=True) if m.sender_inbox_id == bob.inbox_id)
    replay = await alice.creator.process(
        dm, JoinRequestMessage(request.id, bob.inbox_id, request.sent_at_ns, old)
    )
    assert replay.decision.action is JoinAction.ALREADY_HANDLED and not replay.replied
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinError)) == 1
    assert (await join(bob, parse_invite(old), timeout=5.0)).status is JoinStatus.REFUSED
    await alice.wait_outcomes(4)
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinError)) == 2

    # A new invite (with the new tag) works.
    fresh = check_invite(invite_for(alice.client, room)[0], now=now())
    joined = await join(bob, fresh)
    assert joined.status is JoinStatus.JOINED and joined.conversation_id == room.id


async def test_locked_conversation_refuses_and_denies_adds(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob, carol = await make_client("bob"), await make_client("carol")
    room = await create_conversation(alice.client, name="Room")
    before, _ = invite_for(alice.client, room)
    await lock(room)
    assert room.add_member_policy() == "deny"
    after, _ = invite_for(alice.client, room)  # even an invite with the current tag

    old = await join(bob, parse_invite(before), timeout=5.0)
    assert old.status is JoinStatus.REFUSED and old.error is not None
    assert old.error.reason == REASON_TAG_REVOKED
    new = await join(carol, parse_invite(after), timeout=5.0)
    assert new.status is JoinStatus.REFUSED and new.error is not None
    assert new.error.error_type is cc.InviteJoinErrorType.CONVERSATION_EXPIRED
    assert new.error.reason == REASON_LOCKED
    with pytest.raises(XmtpError):
        await room.add_members([carol.inbox_id])
    assert await _members(alice, room.id) == {alice.inbox_id}

    # Unlocked: adds work again; invites from before the lock stay dead.
    await lock(room, locked=False)
    assert room.add_member_policy() != "deny"
    assert (await join(carol, parse_invite(after))).status is JoinStatus.JOINED
    again = await join(bob, parse_invite(before), timeout=5.0)
    assert again.status is JoinStatus.REFUSED


async def test_single_use_invite_stays_used_across_a_creator_restart(
    make_creator: CreatorFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    state_path = tmp_path / "creator-state.sqlite"
    state = GatewayState.open(state_path)
    alice = await make_creator("alice", ledger=state)
    bob, carol = await make_client("bob"), await make_client("carol")
    room = await create_conversation(alice.client, name="Room")
    slug, _ = invite_for(alice.client, room, single_use=True)
    invite = check_invite(slug, now=now())
    assert invite.payload.single_use

    joined = await join(bob, invite)
    assert joined.status is JoinStatus.JOINED
    await alice.wait_outcomes(2)
    assert await state.invite_used_by(invite.digest.hex()) == bob.inbox_id

    await alice.stop()
    state.close()
    alice.ledger = state = GatewayState.open(state_path)
    await alice.reopen()
    await alice.start(since_ns=alice.stopped_at_ns)
    reopened = alice.client.conversation(room.id)
    assert reopened is not None
    room = reopened
    try:
        refused = await join(carol, invite, timeout=5.0)
        assert refused.status is JoinStatus.REFUSED and refused.error is not None
        assert refused.error.error_type is cc.InviteJoinErrorType.CONVERSATION_EXPIRED
        assert refused.error.reason == REASON_SINGLE_USE
        # The one who used it is still welcome to ask again (already a member: no error).
        again = await join(bob, invite)
        assert again.status is JoinStatus.JOINED
        # Other invites of the conversation are not affected.
        other = check_invite(invite_for(alice.client, room)[0], now=now())
        assert (await join(carol, other)).status is JoinStatus.JOINED
        assert await _members(alice, room.id) == {alice.inbox_id, bob.inbox_id, carol.inbox_id}
        assert not of_type(await alice.sent_in_dm(bob), cc.InviteJoinError)
    finally:
        await alice.stop()
        state.close()


async def test_invite_for_a_conversation_the_creator_does_not_have(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    slug = create_invite(alice.client.identity.keys.wallet_key, alice.inbox_id, "ab" * 16, new_invite_tag())
    result = await join(bob, check_invite(slug, now=now()), timeout=5.0)
    assert result.status is JoinStatus.REFUSED and result.error is not None
    assert result.error.error_type is cc.InviteJoinErrorType.CONVERSATION_NOT_FOUND
    assert result.error.reason == REASON_NOT_FOUND
    await alice.wait_outcomes(2)
    assert [o.replied for o in alice.outcomes] == [True, False]
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinError)) == 1


async def test_a_late_text_copy_gets_no_second_reply(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    room = await create_conversation(alice.client, name="Room")
    old, _ = invite_for(alice.client, room)
    await revoke_invites(room)
    dm = await bob.find_or_create_dm(alice.inbox_id)
    await dm.send(cc.encode_content(cc.JoinRequest(invite_slug=old)))
    await alice.wait_outcomes(1)
    await dm.send(cc.encode_text(old))
    outcomes = await alice.wait_outcomes(2)
    assert actions(outcomes) == [JoinAction.REPLY_ERROR, JoinAction.REPLY_ERROR]
    assert [o.replied for o in outcomes] == [True, False]
    assert len(of_type(await alice.sent_in_dm(bob), cc.InviteJoinError)) == 1


async def test_two_joiners_racing_for_a_single_use_invite(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    """Requests in different DMs are processed side by side (the gateway does): one gets in."""
    alice = await make_creator("alice")
    bob, carol = await make_client("bob"), await make_client("carol")
    room = await create_conversation(alice.client, name="Room")
    invite = check_invite(invite_for(alice.client, room, single_use=True)[0], now=now())
    await alice.stop()
    since = time.time_ns() - 1_000_000_000
    for joiner in (bob, carol):
        dm = await joiner.find_or_create_dm(alice.inbox_id)
        await dm.send(cc.encode_content(cc.JoinRequest(invite_slug=invite.slug)))
    await alice.reopen()
    await alice.client.sync_all()
    work = []
    for joiner in (bob, carol):
        dm = await alice.dm_of(joiner)
        message = next(
            m for m in await dm.messages(application_only=True) if m.sender_inbox_id == joiner.inbox_id
        )
        request = join_request_of(message)
        assert request is not None
        work.append(alice.creator.process(dm, request))  # a Creator per request, like the gateway
    outcomes = await asyncio.gather(*work)
    assert sorted(o.decision.action for o in outcomes) == sorted([JoinAction.ADMIT, JoinAction.REPLY_ERROR])
    assert sum(o.added for o in outcomes) == 1
    loser = [bob, carol][[o.added for o in outcomes].index(False)]
    error = await _refused(loser, invite.slug, since)
    assert error.reason == REASON_SINGLE_USE
    await alice.start()


async def test_junk_is_recorded_once_and_not_verified_again_by_a_later_sweep(
    make_creator: CreatorFactory, make_client: ClientFactory
) -> None:
    alice = await make_creator("alice")
    bob = await make_client("bob")
    dm = await bob.find_or_create_dm(alice.inbox_id)
    await dm.send(cc.encode_text("hello"))
    await dm.send(cc.encode_text("0x" + "ab" * 32))
    outcomes = await alice.wait_outcomes(2)
    assert actions(outcomes) == [JoinAction.IGNORE, JoinAction.IGNORE]
    # what a restart's sweep finds: both already handled, nothing sent, the DM not blocked
    swept = await alice.creator.sweep()
    assert actions(swept) == [JoinAction.ALREADY_HANDLED, JoinAction.ALREADY_HANDLED]
    assert await alice.sent_in_dm(bob) == [] and (await alice.dm_of(bob)).consent() == "unknown"
