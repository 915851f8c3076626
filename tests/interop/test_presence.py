"""Presence as the official convos-cli sees it: memberKind agent, read receipts, thinking, explode."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from .conftest import Interop
from .helpers import (
    ScriptedAgent,
    cli_creates,
    cli_joins,
    cli_messages,
    running_gateway,
    type_id,
    wait_cli_message,
    we_create,
    we_join,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]


async def test_cli_sees_an_agent_that_reads_and_thinks(interop: Interop) -> None:
    agent = ScriptedAgent()
    interop.write_config(name="Clawd")
    async with running_gateway(interop, agent) as gateway:
        created = await we_create(interop, gateway, name="Presence room")
        room = created.conversation_id
        ours = gateway.hosts[created.identity.id].client.inbox_id
        bob = interop.cli_user("Bob")
        joined = await cli_joins(bob, created.slug)
        assert joined["status"] == "joined", joined

        profiles = await bob.json("conversation", "profiles", room)
        by_inbox = {p["inboxId"]: p for p in profiles["profiles"]}
        assert by_inbox[ours]["memberKind"] == 1, profiles  # MEMBER_KIND_AGENT (PEER_NOTES 3)

        await bob.json("conversation", "send-text", room, "answer slowly")
        answer = await wait_cli_message(
            bob, room, lambda m: m["senderInboxId"] == ours and m["content"] == "answer slowly", what="answer"
        )
        asked = next(
            m
            for m in await cli_messages(bob, room)
            if m["senderInboxId"] != ours and m["content"] == "answer slowly"
        )
        seen = [m for m in await cli_messages(bob, room) if m["senderInboxId"] == ours]
        thinking = [json.loads(m["content"]) for m in seen if type_id(m) == "thinking"]
        assert [t["state"] for t in thinking] == ["start", "stop"], seen
        assert {t["targetMessageId"] for t in thinking} == {asked["id"]}
        assert answer["id"]  # the answer itself is a plain text

        deadline = time.monotonic() + 30
        read: dict[str, object] = {}
        while ours not in read and time.monotonic() < deadline:
            read = (await bob.json("conversation", "last-read-times", room, "--sync"))["readTimes"]
            await asyncio.sleep(0.3)
        assert ours in read, read
        await gateway.idle()


async def test_cli_explode_makes_our_agent_leave(interop: Interop) -> None:
    room = await cli_creates(interop, title="About to explode")
    inbox = await we_join(interop, room)
    async with running_gateway(interop, ScriptedAgent()) as gateway:
        await room.creator.json("conversation", "send-text", room.conversation_id, "--text", "still here?")
        await wait_cli_message(
            room.creator,
            room.conversation_id,
            lambda m: m["senderInboxId"] == inbox and m["content"] == "still here?",
            what="answer before the explosion",
        )
        exploded = await room.creator.json("conversation", "explode", room.conversation_id, "--force")
        assert exploded["success"] is True, exploded
        deadline = time.monotonic() + 30
        while room.conversation_id in gateway.served_conversations():
            assert time.monotonic() < deadline, "the agent kept serving an exploded conversation"
            await asyncio.sleep(0.2)
        await gateway.idle()
