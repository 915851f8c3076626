"""Shared steps of the interop scenarios (both directions of the join, reading what the CLI sees)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from openclaw_convos.agents import Agent, AgentBase, AgentReply, AgentTurn, EchoAgent
from openclaw_convos.gateway.runtime import Gateway
from openclaw_convos.gateway.service import (
    CreatedConversation,
    configure_with_invite,
    create_owned_conversation,
    open_gateway,
)
from openclaw_convos.joinflow.joiner import JoinStatus

from .conftest import Interop
from .peer import CliError, CliProcess, CliUser

CliMessage = dict[str, Any]


async def cli_messages(user: CliUser, conversation_id: str, limit: int = 50) -> list[CliMessage]:
    """``conversation messages --sync`` in sent order."""
    out = await user.json(
        "conversation",
        "messages",
        conversation_id,
        "--sync",
        "--limit",
        str(limit),
        "--direction",
        "ascending",
    )
    assert isinstance(out, list), out
    return out


async def wait_cli_message(
    user: CliUser,
    conversation_id: str,
    predicate: Callable[[CliMessage], bool],
    *,
    timeout: float = 30.0,
    what: str = "message",
) -> CliMessage:
    """Poll the CLI user's view of the conversation until a message matches (bounded)."""
    deadline = time.monotonic() + timeout
    seen: list[CliMessage] = []
    while time.monotonic() < deadline:
        seen = await cli_messages(user, conversation_id)
        for message in seen:
            if predicate(message):
                return message
        await asyncio.sleep(0.3)
    shown = [(m.get("contentType", {}).get("typeId"), str(m.get("content"))[:80]) for m in seen[-12:]]
    raise AssertionError(f"{user.name} did not see the {what} in {timeout:.0f}s; last seen: {shown}")


@contextlib.asynccontextmanager
async def cli_stream(
    world: Interop, user: CliUser, conversation_id: str, *, seconds: int = 150
) -> AsyncIterator[CliProcess]:
    """``conversation stream`` of the CLI user, once its subscription is open on the devnode.

    The CLI prints nothing when its stream is ready, and nothing our side could send as a probe is
    invisible in the chat (the stream skips typing indicators and read receipts), so readiness is
    read from the devnode's count of open subscriptions. ``conversation messages`` cannot replace
    the stream for reactions: node-sdk 6 folds reactions into their parent message and the CLI
    prints neither (PEER_NOTES.md).
    """
    before = world.node.open_subscriptions
    stream = await user.start("conversation", "stream", conversation_id, "--json", "--timeout", str(seconds))
    try:
        deadline = time.monotonic() + 30
        while world.node.open_subscriptions <= before:
            if time.monotonic() > deadline or stream.proc.returncode is not None:
                raise AssertionError(
                    f"the CLI stream never subscribed: {stream.lines[-5:]} {stream.stderr[-5:]}"
                )
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        yield stream
    finally:
        await stream.stop()


def type_id(message: CliMessage) -> str:
    return str(message.get("contentType", {}).get("typeId"))


def agent_inbox(gateway: Gateway, conversation_id: str) -> str:
    host = gateway.host_for_conversation(conversation_id)
    assert host is not None, f"no identity of the gateway serves {conversation_id}"
    return host.client.inbox_id


@dataclass
class CliRoom:
    """A conversation the convos-cli user created, with an invite."""

    creator: CliUser
    conversation_id: str
    slug: str
    tag: str


async def cli_creates(
    world: Interop, name: str = "Alice", title: str = "Interop room", description: str | None = None
) -> CliRoom:
    alice = world.cli_user(name)
    extra = ["--description", description] if description else []
    created = await alice.json("conversations", "create", "--name", title, "--profile-name", name, *extra)
    return CliRoom(alice, created["conversationId"], created["invite"]["slug"], created["invite"]["tag"])


async def we_join(world: Interop, room: CliRoom, *, slug: str | None = None, timeout: float = 45.0) -> str:
    """Our ``configure --invite`` flow while the CLI creator watches for join requests."""
    async with room.creator.watching_joins() as watcher:
        result = await configure_with_invite(world.load(), slug or room.slug, timeout=timeout)
        assert result.join.status is JoinStatus.JOINED, result.join.message
        assert result.join.conversation_id == room.conversation_id
        accepted = await watcher.wait_for(lambda e: e.get("event") == "join_request_accepted", timeout=15)
        assert accepted["conversationId"] == room.conversation_id
        assert accepted["profile"]["name"] == "OpenClaw"
        assert accepted["profile"].get("memberKind") == "agent", accepted  # we join as an agent
        inbox = result.identity.inbox_id
        assert inbox is not None and accepted["joinerInboxId"] == inbox
    return inbox


async def cli_joins(user: CliUser, slug: str, *, timeout: int = 45) -> dict[str, Any]:
    """``conversations join <slug>`` (waits for the creator, i.e. our gateway, to add it)."""
    joined = await user.json(
        "conversations",
        "join",
        slug,
        "--profile-name",
        user.name,
        "--timeout",
        str(timeout),
        timeout=timeout + 30,
    )
    assert isinstance(joined, dict)
    return joined


@contextlib.asynccontextmanager
async def running_gateway(
    world: Interop, agent: Agent | None = None, **overrides: object
) -> AsyncIterator[Gateway]:
    async with open_gateway(world.load(), agent or EchoAgent(), **overrides) as gateway:
        yield gateway


async def we_create(world: Interop, gateway: Gateway, **options: Any) -> CreatedConversation:
    return await create_owned_conversation(world.load(), gateway=gateway, **options)


class ScriptedAgent(AgentBase):
    """Echoes texts; reacts with 👍 to ``react``, answers replies and reactions, takes 1 s for ``slowly``."""

    name = "scripted"

    def __init__(self) -> None:
        self.turns: list[AgentTurn] = []

    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        if turn.reaction is not None:
            return AgentReply(text=f"you reacted {turn.reaction}")
        if "react" in turn.text:
            return AgentReply(react="👍")
        if turn.reply_to_text is not None:
            return AgentReply(text=f"you replied to: {turn.reply_to_text}")
        if "slowly" in turn.text:
            await asyncio.sleep(1.0)  # longer than the gateway's typing_delay
        return AgentReply(text=turn.text)


async def assert_cli_refused(coro: Any) -> CliError:
    try:
        await coro
    except CliError as exc:
        return exc
    raise AssertionError("the convos-cli accepted what it should refuse")
