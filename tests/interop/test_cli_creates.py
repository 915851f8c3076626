"""A convos-cli user creates the conversation and the invite; our gateway joins and answers."""

from __future__ import annotations

import pytest

from openclaw_convos.convos.invites import parse_invite

from .conftest import Interop
from .helpers import (
    ScriptedAgent,
    agent_inbox,
    cli_creates,
    cli_joins,
    running_gateway,
    type_id,
    wait_cli_message,
    we_join,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]


async def test_we_join_a_cli_conversation_and_answer_send_text(interop: Interop) -> None:
    # a long description makes the CLI compress the invite (0x1F frame with a zlib-wrapped body)
    description = "A room to check that both implementations agree. " * 8
    room = await cli_creates(interop, description=description)
    invite = parse_invite(room.slug)
    assert invite.compression == "zlib" and invite.payload.description == description
    assert "*" in room.slug  # separators every 300 characters
    our_inbox = await we_join(interop, room)
    config = interop.config()
    assert config["ownerConversationId"] == room.conversation_id and config["enabled"] is True

    async with running_gateway(interop) as gateway:
        assert agent_inbox(gateway, room.conversation_id) == our_inbox
        sent = await room.creator.json(
            "conversation", "send-text", room.conversation_id, "--text", "hello agent"
        )
        assert sent["success"] is True
        answer = await wait_cli_message(
            room.creator,
            room.conversation_id,
            lambda m: m["senderInboxId"] == our_inbox and type_id(m) in ("text", "reply"),
            what="agent's answer",
        )
        assert answer["content"] in (
            "hello agent",
            f'reply to "hello agent" ({sent["messageId"]}): hello agent',
        )
        await gateway.idle()
        assert (await gateway.state.counts()).get("done") == 1

    profiles = await room.creator.json("conversation", "profiles", room.conversation_id)
    by_inbox = {p["inboxId"]: p for p in profiles["profiles"]}
    assert by_inbox[our_inbox]["name"] == "OpenClaw", profiles
    # the CLI prints the proto enum number: MEMBER_KIND_AGENT = 1 (its own entry shows the same)
    assert by_inbox[our_inbox].get("memberKind") == 1, profiles


async def test_in_a_group_of_three_the_agent_quotes_and_reads_cli_replies(interop: Interop) -> None:
    agent = ScriptedAgent()
    room = await cli_creates(interop, title="Three of us")
    ours = await we_join(interop, room)
    carol = interop.cli_user("Carol")
    async with room.creator.watching_joins() as watcher:
        joined = await cli_joins(carol, room.slug)
        assert joined["status"] == "joined" and joined["conversationId"] == room.conversation_id
        await watcher.wait_for(lambda e: e.get("joinerInboxId") == joined["inboxId"], timeout=15)

    async with running_gateway(interop, agent) as gateway:
        alice = room.creator
        asked = await alice.json("conversation", "send-text", room.conversation_id, "who is here?")
        answer = await wait_cli_message(
            alice,
            room.conversation_id,
            lambda m: m["senderInboxId"] == ours and type_id(m) == "reply",
            what="agent's quoted answer",
        )
        # more than two members: the answer quotes (xmtp.org/reply) the message it answers
        assert answer["content"] == f'reply to "who is here?" ({asked["messageId"]}): who is here?', answer
        await alice.json("conversation", "send-reply", room.conversation_id, answer["id"], "you!")
        await wait_cli_message(
            carol,
            room.conversation_id,
            lambda m: m["senderInboxId"] == ours and "you replied to: who is here?" in m["content"],
            what="agent's answer to a CLI reply (seen by the third member)",
        )
        await gateway.idle()
    assert [t.reply_to_text for t in agent.turns] == [None, "who is here?"]
    assert all(t.is_group for t in agent.turns)
