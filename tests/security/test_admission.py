"""No path admits a member the creator did not approve.

For the gateway, the creator's approval of a joiner *is* a valid invite it signed: an invite
link is a bearer token (whoever holds a live multi-use invite may join, as in the Convos app),
so the tests attack everything around it. One gateway serves the owner conversation (it joined
Alice's), Room A and Room B (it created both, with two different identities). Bob and Carol
join Room A legitimately; then Mallory (nobody) and Bob (a member of A) try:

forged invites, tampered invites, a revoked invite replayed, expired invites, a conversation
past its expiry, a used single-use invite replayed (typed and as text, and as the exact bytes
of the admitted request), invites naming another conversation or another creator, a token
swapped in from another conversation, join requests posted into groups instead of a DM, and a
stranger's group that the gateway's identity was added to.

After each attempt the gateway must have finished with it (a canary message sent after it in
the same DM is processed, or the DM is blocked); at the end every conversation has exactly the
members that were approved. The test prints how many admissions happened without approval (0).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.convos import content as cc
from openclaw_convos.convos.invites import create_invite, encode_slug, parse_invite
from openclaw_convos.convos.join import REASON_SINGLE_USE, REASON_TAG_REVOKED
from openclaw_convos.convos.proto import invite_pb2
from openclaw_convos.convos.tags import new_invite_tag
from openclaw_convos.gateway.runtime import Gateway
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.joinflow.creator import invite_for, revoke_invites
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import XmtpConversation
from openclaw_convos.xmtp import content as xc
from tests.reliability.harness import Place, setup_owner


@dataclass
class Attempt:
    name: str
    attacker: SimulatedUser | None  # None: a new Mallory, so an earlier block does not hide this one
    target_inbox: str
    payload: bytes
    expected: str
    """The creator's decision: ignore, block_sender or reply_error (never admit)."""
    also_text: str | None = None
    reason: str | None = None
    """For reply_error: words of the (diagnostic) reason in the ``invite_join_error`` sent back."""


async def _members(gateway: Gateway, identity_id: str, conversation_id: str) -> set[str]:
    conversation = gateway.hosts[identity_id].client.conversation(conversation_id)
    assert conversation is not None
    await conversation.sync()
    return {m.inbox_id for m in await conversation.members()}


async def _outcome(gateway: Gateway, dm_id: str, request_id: str, canary_id: str) -> str:
    """The creator's decision on ``request_id``: from its ledger, once the canary sent after it
    in the same DM was processed (``ignore`` leaves no ledger entry) or the DM got blocked."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        decided = await gateway.state.join_request_handled(request_id)
        if decided is not None:
            return decided
        record = await gateway.state.get(canary_id)
        if record is not None and record.state in ("done", "ignored"):
            return await gateway.state.join_request_handled(request_id) or "ignore"
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the gateway did not decide on join request {request_id} in DM {dm_id}")


async def _attempt(gateway: Gateway, place: Place, attempt: Attempt, index: int) -> str:
    attacker = attempt.attacker or await place.user(f"Mallory{index}")
    dm = await attacker.client.find_or_create_dm(attempt.target_inbox)
    request_id = await dm.send(attempt.payload)
    if attempt.also_text:
        await dm.send(xc.encode_text(attempt.also_text.replace("*", "")))
    canary = await dm.send(xc.encode_text(f"canary-{uuid.uuid4().hex}"))
    outcome = await _outcome(gateway, dm.id, request_id, canary)
    if outcome == "reply_error":
        outcome += ": " + await _refusal_reason(dm, attempt.target_inbox)
    return outcome


async def _refusal_reason(dm: XmtpConversation, creator: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        await dm.sync()
        for message in await dm.messages(application_only=True, descending=True):
            if message.sender_inbox_id == creator:
                decoded = cc.decode_content(message.content)
                if isinstance(decoded, cc.InviteJoinError):
                    return decoded.reason or "(no reason)"
        await asyncio.sleep(0.2)
    return "(no invite_join_error received)"


def _join(slug: str) -> bytes:
    return cc.encode_content(cc.JoinRequest(invite_slug=slug.replace("*", "")))


def _tampered(slug: str) -> str:
    """The same signature over a payload whose name was changed."""
    invite = parse_invite(slug)
    payload = invite_pb2.InvitePayload()
    payload.ParseFromString(invite.payload_bytes)
    payload.name = "Free entry"
    wire = invite_pb2.SignedInvite(payload=payload.SerializeToString(), signature=invite.signature)
    return encode_slug(wire.SerializeToString())


def _token_swapped(slug: str, token_from: str) -> str:
    """An invite of one conversation carrying the conversation token of another."""
    invite = parse_invite(slug)
    payload = invite_pb2.InvitePayload()
    payload.ParseFromString(invite.payload_bytes)
    payload.conversationToken = parse_invite(token_from).payload.conversation_token
    wire = invite_pb2.SignedInvite(payload=payload.SerializeToString(), signature=invite.signature)
    return encode_slug(wire.SerializeToString())


@pytest.mark.slow
async def test_no_admission_without_the_creators_approval(place: Place) -> None:
    alice, owner_room = await setup_owner(place)
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room_a = await create_owned_conversation(place.load(), name="Room A", gateway=gateway)
        room_b = await create_owned_conversation(place.load(), name="Room B", gateway=gateway)
        a_id, b_id = room_a.identity.id, room_b.identity.id
        a_inbox = gateway.hosts[a_id].client.inbox_id
        b_inbox = gateway.hosts[b_id].client.inbox_id
        owner_host = gateway.host_for_conversation(owner_room)
        assert owner_host is not None
        owner_inbox = owner_host.client.inbox_id
        a_host_conversation = gateway.hosts[a_id].client.conversation(room_a.conversation_id)
        assert a_host_conversation is not None
        conv_a: XmtpConversation = a_host_conversation

        bob = await place.user("Bob")
        carol = await place.user("Carol")
        mallory = await place.user("Mallory")
        alice_invite = alice.invite(alice.conversation(owner_room))
        assert (await bob.join(room_a.url)).conversation_id == room_a.conversation_id
        single_use, _ = invite_for(gateway.hosts[a_id].client, conv_a, env="dev", single_use=True)
        assert (await carol.join(single_use)).conversation_id == room_a.conversation_id
        approved_a = {a_inbox, bob.inbox_id, carol.inbox_id}
        assert await _members(gateway, a_id, room_a.conversation_id) == approved_a

        admitted_request = None
        carol_dm = await carol.client.find_or_create_dm(a_inbox)
        for message in await carol_dm.messages(application_only=True):
            if message.sender_inbox_id == carol.inbox_id and isinstance(
                cc.decode_content(message.content), cc.JoinRequest
            ):
                admitted_request = message.content
        assert admitted_request is not None
        before_revoke = [
            Attempt(
                "used single-use invite replayed",
                None,
                a_inbox,
                _join(single_use),
                "reply_error",
                also_text=single_use,
                reason=REASON_SINGLE_USE,
            ),
            Attempt(
                "exact bytes of Carol's admitted request",
                None,
                a_inbox,
                admitted_request,
                "reply_error",
                reason=REASON_SINGLE_USE,
            ),
        ]
        outcomes = {}
        for index, attempt in enumerate(before_revoke):
            outcomes[attempt.name] = await _attempt(gateway, place, attempt, index)

        old_a = room_a.slug
        await revoke_invites(conv_a)  # every invite of Room A made so far is dead now
        live_a, _ = invite_for(gateway.hosts[a_id].client, conv_a, env="dev")
        expired, _ = invite_for(gateway.hosts[a_id].client, conv_a, env="dev", expires_at=1_600_000_000)
        ended, _ = invite_for(
            gateway.hosts[a_id].client, conv_a, env="dev", conversation_expires_at=1_600_000_000
        )
        mallory_key = mallory.client.identity.keys.wallet_key
        forged = create_invite(mallory_key, a_inbox, room_a.conversation_id, new_invite_tag(), name="Room A")
        forged_b = create_invite(mallory_key, b_inbox, room_a.conversation_id, new_invite_tag())

        attempts = [
            Attempt("forged invite naming Room A's creator", None, a_inbox, _join(forged), "block_sender"),
            Attempt(
                "tampered real invite (payload changed)",
                None,
                a_inbox,
                _join(_tampered(live_a)),
                "block_sender",
            ),
            Attempt(
                "revoked invite replayed",
                None,
                a_inbox,
                _join(old_a),
                "reply_error",
                also_text=old_a,
                reason=REASON_TAG_REVOKED,
            ),
            Attempt("expired invite", None, a_inbox, _join(expired), "ignore"),
            Attempt(
                "conversation past its expiry",
                None,
                a_inbox,
                _join(ended),
                "reply_error",
                reason="conversation expired",
            ),
            Attempt(
                "revoked single-use invite replayed (Carol's exact bytes)",
                None,
                a_inbox,
                admitted_request,
                "reply_error",
                reason=REASON_TAG_REVOKED,
            ),
            Attempt("Room A's invite sent to Room B's identity", None, b_inbox, _join(live_a), "ignore"),
            Attempt("Room A's invite sent to the owner identity", None, owner_inbox, _join(live_a), "ignore"),
            Attempt(
                "Alice's invite sent to the owner identity", None, owner_inbox, _join(alice_invite), "ignore"
            ),
            Attempt(
                "member of A asks B's identity with A's invite",
                bob,
                b_inbox,
                _join(live_a),
                "ignore",
                also_text=live_a,
            ),
            Attempt(
                "member of A forges an invite for B's identity", bob, b_inbox, _join(forged_b), "block_sender"
            ),
            Attempt(
                "member of A: A's invite with B's token",
                bob,
                a_inbox,
                _join(_token_swapped(live_a, room_b.slug)),
                "block_sender",
            ),
        ]
        for index, attempt in enumerate(attempts, start=len(before_revoke)):
            outcomes[attempt.name] = await _attempt(gateway, place, attempt, index)
        attempts = before_revoke + attempts
        assert len({a.name for a in attempts}) == len(attempts) == len(outcomes)

        # Join requests posted into groups are not join requests.
        await bob.say(room_a.conversation_id, room_b.slug.replace("*", ""))
        await bob.conversation(room_a.conversation_id).send(_join(live_a))
        stranger_group = await mallory.client.create_group([a_inbox, b_inbox, owner_inbox], name="Trap")
        await stranger_group.send(_join(live_a))
        await stranger_group.send(xc.encode_text(live_a.replace("*", "")))
        await asyncio.sleep(2.0)
        await gateway.idle(timeout=30)

        unapproved: list[str] = []
        expected = {
            (a_id, room_a.conversation_id): approved_a,
            (b_id, room_b.conversation_id): {b_inbox},
            (owner_host.stored.id, owner_room): {alice.inbox_id, owner_inbox},
        }
        for (identity_id, conversation_id), members in expected.items():
            got = await _members(gateway, identity_id, conversation_id)
            unapproved += sorted(got - members)
            assert got >= members, "an approved member disappeared"
        print(f"\n{len(attempts) + 4} admission attempts without approval, admitted: {len(unapproved)}")
        for name, outcome in outcomes.items():
            print(f"  {name}: {outcome}")
        assert not unapproved, f"admitted without approval: {unapproved}"
        wrong = {
            a.name: (outcomes[a.name], a.expected, a.reason)
            for a in attempts
            if outcomes[a.name].split(":")[0] != a.expected or (a.reason and a.reason not in outcomes[a.name])
        }
        assert not wrong, f"refused, but not by the expected check (got, expected): {wrong}"

        # And the live invite still works: the refusals were not a broken gateway.
        dave = await place.user("Dave")
        assert (await dave.join(live_a)).conversation_id == room_a.conversation_id
