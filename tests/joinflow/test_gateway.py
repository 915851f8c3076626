"""The gateway as creator and as joiner: restarts, and display names both ways."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.convos import profiles as cp
from openclaw_convos.convos.invites import parse_invite
from openclaw_convos.devnode import Devnode
from openclaw_convos.gateway.service import configure_with_invite, create_owned_conversation, open_gateway
from openclaw_convos.joinflow.joiner import JoinStatus, request_join, wait_for_join
from openclaw_convos.xmtp import BackendPool, Endpoint

from ..scenario.conftest import World
from .conftest import PENDING_WAIT, WAIT, eventually, group_names

NAME = "Jarvis"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with Devnode(port=0) as node:
        w = World(node, tmp_path, BackendPool(Endpoint(node.url)))
        w.write_config(name=NAME)
        try:
            yield w
        finally:
            for user in w.users:
                await user.stop()


async def test_gateway_admits_a_request_sent_while_it_was_stopped(world: World) -> None:
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        created = await create_owned_conversation(world.load(), name="Room", gateway=gateway)
        agent_inbox = gateway.hosts[created.identity.id].client.inbox_id
    bob = await world.user("Bob")
    invite = parse_invite(created.url)
    since = time.time_ns() - 1_000_000_000
    await request_join(bob.client, invite, profile_name="Bob")
    pending = await wait_for_join(bob.client, invite, timeout=PENDING_WAIT, poll=0.2, since_ns=since)
    assert pending.status is JoinStatus.PENDING

    async with open_gateway(world.load(), EchoAgent()) as gateway:
        result = await wait_for_join(
            bob.client, invite, timeout=WAIT, poll=0.2, since_ns=since, profile_name="Bob"
        )
        assert result.status is JoinStatus.JOINED, result.message
        conversation_id = created.conversation_id
        assert result.conversation_id == conversation_id
        # Bob joined after the agent's profile_update: its snapshot gives him the agent's name.
        assert (await group_names(bob.client, conversation_id)).get(agent_inbox) == NAME
        # The gateway reads Bob's own profile_update.
        assert await eventually(lambda: gateway.state.member_name(conversation_id, bob.inbox_id)) == "Bob"
        # The first joiner of the owner conversation became the owner.
        assert gateway.is_owner(bob.inbox_id)
        await gateway.idle()
    assert (await group_names(bob.client, conversation_id)).get(agent_inbox) == NAME


async def test_gateway_learns_names_from_snapshots_and_updates(world: World) -> None:
    alice = await world.user("Alice")
    room = await alice.create_conversation("Alice & agent")
    configured = await configure_with_invite(world.load(), alice.invite(room), timeout=WAIT)
    assert configured.join.status is JoinStatus.JOINED
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        agent_inbox = gateway.hosts[configured.identity.id].client.inbox_id
        # Alice named herself before the agent joined: only her snapshot tells the agent.
        assert await eventually(lambda: gateway.state.member_name(room.id, alice.inbox_id)) == "Alice"
        await room.send(cp.profile_update_content(cp.ProfileUpdate(name="Alice B.")), push=False)

        async def renamed() -> bool:
            return await gateway.state.member_name(room.id, alice.inbox_id) == "Alice B."

        assert await eventually(renamed)
        # Alice's app shows the agent's name, not "Somebody".
        names = await group_names(alice.client, room.id)
        assert names.get(agent_inbox) == NAME
