"""Our gateway creates the conversation and the invite; a convos-cli user joins and chats."""

from __future__ import annotations

import pytest

from .conftest import Interop
from .helpers import (
    ScriptedAgent,
    cli_joins,
    cli_messages,
    cli_stream,
    running_gateway,
    type_id,
    wait_cli_message,
    we_create,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]


async def test_cli_joins_our_invite_and_chats_with_reactions_and_replies(interop: Interop) -> None:
    agent = ScriptedAgent()
    interop.write_config(name="Clawd")  # the agent's profile name, as the CLI must show it
    async with running_gateway(interop, agent) as gateway:
        description = "Our long description, sent uncompressed so that iOS and the CLI both read it. " * 6
        created = await we_create(interop, gateway, name="Agent room", description=description, emoji="🦞")
        assert created.is_owner_conversation
        room = created.conversation_id
        ours = gateway.hosts[created.identity.id].client.inbox_id

        bob = interop.cli_user("Bob")
        inspected = await bob.json("conversations", "inspect-invite", created.slug)
        assert inspected["signatureValid"] is True and inspected["name"] == "Agent room", inspected
        assert inspected["description"] == description and inspected["emoji"] == "🦞", inspected
        assert inspected["creatorInboxId"] == ours and inspected["inviteExpired"] is False
        joined = await cli_joins(bob, created.slug)
        assert joined["status"] == "joined", joined
        assert joined["conversationId"] == room
        bob_inbox = joined["inboxId"]
        assert gateway.is_owner(bob_inbox), "the first joiner of the owner conversation is the owner"

        # text both ways
        sent = await bob.json("conversation", "send-text", room, "--text", "hi agent")
        echo = await wait_cli_message(
            bob, room, lambda m: m["senderInboxId"] == ours and m["content"] == "hi agent", what="echo"
        )
        assert type_id(echo) == "text"

        # the CLI reacts to the agent's message: a turn for the agent
        await bob.json("conversation", "send-reaction", room, echo["id"], "add", "🎉")
        await wait_cli_message(
            bob,
            room,
            lambda m: m["senderInboxId"] == ours and m["content"] == "you reacted 🎉",
            what="reaction turn",
        )

        # the CLI replies to the agent's message: the agent sees what was quoted
        await bob.json("conversation", "send-reply", room, echo["id"], "about that")
        await wait_cli_message(
            bob,
            room,
            lambda m: m["senderInboxId"] == ours and m["content"] == "you replied to: hi agent",
            what="answer to a reply",
        )

        # the agent reacts to the CLI's message (seen in the CLI's stream: its `messages` hides reactions)
        async with cli_stream(interop, bob, room) as stream:
            asked = await bob.json("conversation", "send-text", room, "please react")
            reaction = await stream.wait_for(
                lambda e: e["senderInboxId"] == ours and type_id(e) == "reaction", timeout=30
            )
        assert reaction["content"] == f"reacted 👍 to {asked['messageId']}"
        await gateway.idle()

        # a slow turn shows the typing indicator (on, then off); fast turns send none
        await bob.json("conversation", "send-text", room, "answer slowly")
        await wait_cli_message(
            bob, room, lambda m: m["senderInboxId"] == ours and m["content"] == "answer slowly"
        )
        seen = [
            (type_id(m), m["content"]) for m in await cli_messages(bob, room) if m["senderInboxId"] == ours
        ]
        typing = [content for kind, content in seen if kind == "typing_indicator"]
        assert typing == ['{"isTyping":true}', '{"isTyping":false}'], seen
        # (the gateway clears the indicator when the agent returns, just before the answer goes out)
        assert seen.index(("typing_indicator", '{"isTyping":true}')) < seen.index(("text", "answer slowly"))

        turns = [(t.text, t.reaction, t.reply_to_text) for t in agent.turns[:4]]
        assert turns == [
            ("hi agent", None, None),
            ("", "🎉", "hi agent"),
            ("about that", None, "hi agent"),
            ("please react", None, None),
        ], turns
        assert sent["messageId"] == agent.turns[0].message_id
        # Bob's name reached us through the CLI's ProfileUpdate, and our name reached the CLI
        assert await gateway.state.member_name(room, bob_inbox) == "Bob"
        profiles = await bob.json("conversation", "profiles", room)
        names = {p["inboxId"]: p["name"] for p in profiles["profiles"]}
        assert names == {ours: "Clawd", bob_inbox: "Bob"}, profiles
