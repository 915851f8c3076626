"""Lock, revoke, single use and expiry, with the convos-cli on one side and us on the other."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from openclaw_convos.convos.invites import parse_invite
from openclaw_convos.convos.metadata import decode_app_data
from openclaw_convos.errors import InviteError
from openclaw_convos.gateway.runtime import Gateway
from openclaw_convos.joinflow import creator as convos_creator
from openclaw_convos.joinflow.joiner import JoinStatus, check_invite, request_join, wait_for_join
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, XmtpConversation

from .conftest import Interop, eventually
from .helpers import cli_creates, cli_joins, running_gateway, we_create, we_join
from .peer import CliError, CliProcess, CliUser

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

CLI_DENY = 1
"""node-sdk's ``PermissionPolicy.Deny``, as ``conversation permissions`` prints it."""
REFUSED_WAIT = 8
"""How long a refused CLI joiner waits before it reports ``timeout`` (the CLI ignores refusals)."""


async def python_joiner(world: Interop, name: str) -> SimulatedUser:
    """Our own joiner code in a plain client (not the gateway), for a second or third join."""
    return await SimulatedUser.create(name, BackendPool(world.load().convos.endpoint()), world.root / "ours")


def served(gateway: Gateway, conversation_id: str) -> XmtpConversation:
    host = gateway.host_for_conversation(conversation_id)
    assert host is not None
    conversation = host.client.conversation(conversation_id)
    assert conversation is not None
    return conversation


async def cli_add_policy(user: CliUser, conversation_id: str) -> object:
    await user.run("conversation", "sync", conversation_id)
    permissions = await user.json("conversation", "permissions", conversation_id)
    return permissions["policySet"]["addMemberPolicy"]


async def watcher_said(watcher: CliProcess, text: str) -> bool:
    return any(text in line for line in watcher.lines)


async def refused(user: CliUser, slug: str) -> None:
    result = await cli_joins(user, slug, timeout=REFUSED_WAIT)
    assert result["status"] == "timeout", result


# ------------------------------------------------------------------------------- the CLI is creator


async def test_cli_lock_and_unlock_are_seen_by_us_and_old_invites_die(interop: Interop) -> None:
    room = await cli_creates(interop)
    await we_join(interop, room)
    async with running_gateway(interop) as gateway:
        conversation = served(gateway, room.conversation_id)
        assert decode_app_data(conversation.app_data).tag == room.tag
        locked = await room.creator.json("conversation", "lock", room.conversation_id, "--force")
        assert locked["success"] is True and locked["action"] == "locked"

        async def seen_locked() -> bool:
            await conversation.sync()
            return (
                conversation.add_member_policy() == "deny"
                and decode_app_data(conversation.app_data).tag != room.tag
            )

        await eventually(seen_locked, what="the lock (deny + new tag) on our side")

        dave = await python_joiner(interop, "Dave")
        try:
            async with room.creator.watching_joins() as watcher:
                result = await dave.join(room.slug, timeout=REFUSED_WAIT)
                assert result.status is JoinStatus.PENDING  # the CLI creator refuses silently
                await eventually(
                    lambda: watcher_said(watcher, "Invite tag mismatch"),
                    timeout=10,
                    what="the CLI creator's tag-mismatch rejection",
                )
                assert not any(e.get("event") == "join_request_accepted" for e in watcher.events)

            await room.creator.json("conversation", "lock", room.conversation_id, "--unlock")

            async def seen_unlocked() -> bool:
                await conversation.sync()
                return conversation.add_member_policy() != "deny"

            await eventually(seen_unlocked, what="the unlock on our side")
            fresh = await room.creator.json("conversation", "invite", room.conversation_id)
            assert decode_app_data(conversation.app_data).tag == fresh["tag"]
            async with room.creator.watching_joins():
                assert (await dave.join(room.slug, timeout=REFUSED_WAIT)).status is JoinStatus.PENDING
                joined = await dave.join(fresh["slug"], timeout=30)
            assert joined.status is JoinStatus.JOINED and joined.conversation_id == room.conversation_id
        finally:
            await dave.stop()


async def test_cli_invite_flags_expiry_and_single_use(interop: Interop) -> None:
    room = await cli_creates(interop)
    expiring = await room.creator.json("conversation", "invite", room.conversation_id, "--expires-in", "3")
    single = await room.creator.json("conversation", "invite", room.conversation_id, "--single-use")
    assert expiring["expiresAt"] is not None and single["singleUse"] is True

    decoded = parse_invite(expiring["slug"]).payload
    assert decoded.expires_at_unix is not None
    assert abs(decoded.expires_at_unix - datetime.fromisoformat(expiring["expiresAt"]).timestamp()) < 1
    assert parse_invite(single["slug"]).payload.single_use is True
    assert parse_invite(room.slug).payload.tag == room.tag

    await asyncio.sleep(3.5)
    with pytest.raises(InviteError, match="expired"):  # our joiner refuses an expired invite ...
        check_invite(expiring["slug"], now=datetime.now(UTC))

    eve = await python_joiner(interop, "Eve")
    try:
        # ... and the CLI creator ignores a request for it (sent as if the clock were earlier)
        invite = parse_invite(expiring["slug"])
        async with room.creator.watching_joins() as watcher:
            sent = datetime.now(UTC)
            await request_join(eve.client, invite, profile_name="Eve", now=sent - timedelta(seconds=10))
            pending = await wait_for_join(eve.client, invite, timeout=REFUSED_WAIT, poll=0.5)
            assert pending.status is JoinStatus.PENDING
            assert not any(e.get("event") == "join_request_accepted" for e in watcher.events)

        # single use: the first joiner (our gateway's configure flow) gets in ...
        await we_join(interop, room, slug=single["slug"])
        # ... and the CLI creator lets a second one in too: it does not enforce single use
        async with room.creator.watching_joins():
            second = await eve.join(single["slug"], timeout=30)
        assert second.status is JoinStatus.JOINED, "convos-cli 0.10.15 started enforcing single use"
    finally:
        await eve.stop()


# ------------------------------------------------------------------------------- we are creator


async def test_our_revoke_and_lock_are_seen_by_the_cli(interop: Interop) -> None:
    async with running_gateway(interop) as gateway:
        # the world's first conversation becomes the owner conversation, where joins by anyone but
        # the owner wait for the owner's approval: make it first, so this one is an ordinary room
        await we_create(interop, gateway, name="Owner")
        created = await we_create(interop, gateway, name="Revocable")
        bob, carol, dave = (interop.cli_user(n) for n in ("Bob", "Carol", "Dave"))
        assert (await cli_joins(bob, created.slug))["status"] == "joined"
        conversation = served(gateway, created.conversation_id)
        host = gateway.host_for_conversation(created.conversation_id)
        assert host is not None
        assert await cli_add_policy(bob, created.conversation_id) != CLI_DENY

        # revoke: rotate the tag; the old invite dies, a new one works
        await convos_creator.revoke_invites(conversation)
        second_slug, _ = convos_creator.invite_for(host.client, conversation, env="dev")
        await refused(carol, created.slug)
        assert (await cli_joins(carol, second_slug))["status"] == "joined"

        # lock: every member's CLI sees adds denied; even the newest invite is refused
        await convos_creator.lock(conversation)
        assert await cli_add_policy(bob, created.conversation_id) == CLI_DENY
        await refused(dave, second_slug)
        await gateway.idle()


async def test_our_single_use_and_expiring_invites_are_honoured(interop: Interop) -> None:
    async with running_gateway(interop) as gateway:
        created = await we_create(interop, gateway, name="Single", single_use=True)
        bob, carol = interop.cli_user("Bob"), interop.cli_user("Carol")
        inspected = await bob.json("conversations", "inspect-invite", created.slug)
        assert inspected["signatureValid"] is True and inspected["expiresAfterUse"] is True, inspected
        assert inspected["creatorInboxId"] == gateway.hosts[created.identity.id].client.inbox_id
        assert (await cli_joins(bob, created.slug))["status"] == "joined"
        await refused(carol, created.slug)  # our creator enforces single use

        conversation = served(gateway, created.conversation_id)
        host = gateway.host_for_conversation(created.conversation_id)
        assert host is not None
        soon = datetime.now(UTC) + timedelta(seconds=3)
        slug, _ = convos_creator.invite_for(host.client, conversation, env="dev", expires_at=soon)
        await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
        assert (await carol.json("conversations", "inspect-invite", slug))["inviteExpired"] is True
        with pytest.raises(CliError, match="Invite has expired"):
            await cli_joins(carol, slug)
        await gateway.idle()
