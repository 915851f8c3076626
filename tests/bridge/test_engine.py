"""The bridge engine as OpenClaw's plugin drives it: setup joins, turns go out and come back."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint

from .engine_proc import Engine, run_setup, state_environ


@dataclass
class Joined:
    node: Devnode
    alice: SimulatedUser
    state: Path
    conversation_id: str
    setup: dict[str, Any]
    invite: str
    phones: Path

    @property
    def environ(self) -> dict[str, str]:
        return state_environ(self.state)

    def config(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "env": "local",
            "apiUrl": self.node.url,
            "ownerConversationId": self.conversation_id,
            "identityId": self.setup["identityId"],
            "name": "Bridge bot",
            "dmPolicy": "pairing",
            "engineCommand": ["ignored-by-the-engine"],
        }


@pytest.fixture
async def joined(tmp_path: Path) -> AsyncIterator[Joined]:
    async with Devnode(port=0) as node:
        alice = await SimulatedUser.create("Alice", BackendPool(Endpoint(node.url)), tmp_path / "phones")
        await alice.start()
        try:
            conversation = await alice.create_conversation("Agent room")
            invite = alice.invite(conversation)
            state = tmp_path / "state"
            environ = state_environ(state)
            code, about, _err = await run_setup(environ, "--invite", invite, "--check")
            assert code == 0 and about["name"] == "Agent room"
            assert about["ownerInboxId"] == alice.inbox_id
            code, result, err = await run_setup(
                environ, "--invite", invite, "--env", "local", "--api-url", node.url, "--name", "Bridge bot"
            )
            assert code == 0, err
            assert result["status"] == "joined" and result["conversationId"] == conversation.id
            assert "Waiting" in err or "Sending the join request" in err  # progress on stderr
            assert not (state / "openclaw.json").exists()  # setup never writes the config
            yield Joined(node, alice, state, conversation.id, result, invite, tmp_path / "phones")
        finally:
            await alice.stop()


async def test_turns_commands_and_clean_stop(joined: Joined) -> None:
    engine = await Engine.start(joined.environ, joined.config())
    try:
        ready = await engine.wait_event(lambda e: e["event"] == "ready", timeout=60)
        assert [c["conversationId"] for c in ready["conversations"]] == [joined.conversation_id]
        alice = joined.alice
        await alice.say(joined.conversation_id, "hello bot")
        turn = await engine.wait_event(lambda e: e["event"] == "turn")
        assert turn["text"] == "hello bot"
        assert turn["senderInboxId"] == alice.inbox_id
        assert turn["senderName"] == "Alice"
        assert turn["isOwner"] is True and turn["isGroup"] is True
        assert turn["conversationId"] == joined.conversation_id
        # while OpenClaw works on the turn, the conversation shows the agent typing
        await alice.wait_for(lambda s: s.text == "typing…", timeout=20)
        await engine.send({"type": "turn.done", "turnId": turn["turnId"], "text": "hi Alice, from OpenClaw"})
        await alice.wait_for(lambda s: s.text == "hi Alice, from OpenClaw", timeout=20)

        n = len(engine.events)
        await engine.send(
            {
                "type": "send",
                "id": "s1",
                "conversationId": joined.conversation_id,
                "text": "a reply",
                "replyTo": turn["messageId"],
            }
        )
        sent = await engine.wait_event(lambda e: e.get("id") == "s1", after=n)
        assert sent["event"] == "sent" and len(sent["messageIds"]) == 1
        seen = await alice.wait_for(lambda s: s.text == "a reply", timeout=20)
        assert seen.kind == "reply" and seen.reference_id == turn["messageId"]

        await engine.send(
            {
                "type": "react",
                "id": "r1",
                "conversationId": joined.conversation_id,
                "messageId": turn["messageId"],
                "emoji": "👍",
            }
        )
        await engine.wait_event(lambda e: e.get("id") == "r1" and e["event"] == "reacted")
        await alice.wait_for(lambda s: s.kind == "reaction" and s.text == "reacted 👍", timeout=20)

        mark = len(alice.seen)
        await engine.send({"type": "typing", "conversationId": joined.conversation_id, "active": True})
        await alice.wait_for(lambda s: s.text == "typing…", timeout=20, after=mark)

        await engine.send({"type": "status", "id": "st"})
        status = await engine.wait_event(lambda e: e.get("id") == "st")
        assert status["event"] == "status"
        assert status["conversations"][0]["conversationId"] == joined.conversation_id
        assert status["conversations"][0]["stream"] == "connected"

        # a stranger reaches OpenClaw as a turn (dmPolicy is OpenClaw's to apply): no code from us
        bob = await SimulatedUser.create("Bob", BackendPool(Endpoint(joined.node.url)), joined.phones)
        await bob.start()
        try:
            assert (await bob.join(joined.invite)).conversation_id == joined.conversation_id
            n = len(engine.events)
            await bob.say(joined.conversation_id, "hi, I am new")
            turn = await engine.wait_event(lambda e: e["event"] == "turn", after=n)
            assert turn["senderInboxId"] == bob.inbox_id and turn["isOwner"] is False
            assert not any("Pairing code" in s.text for s in bob.seen)
            await engine.send({"type": "turn.done", "turnId": turn["turnId"], "text": None})
        finally:
            await bob.stop()

        # join: a new identity of the account asks to join another conversation of Alice's
        second = await alice.create_conversation("Second room")
        await engine.send({"type": "join", "id": "j1", "inviteUrl": alice.invite(second)})
        join = await engine.wait_event(lambda e: e.get("id") == "j1")
        assert join["event"] == "join", join
        assert join["status"] == "pending" and join["name"] == "Second room"
        for _ in range(60):
            await engine.send({"type": "status", "id": "st2"})
            status = await engine.wait_event(lambda e: e.get("id") == "st2", after=len(engine.events) - 1)
            if second.id in [c["conversationId"] for c in status["conversations"]]:
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"the join did not finish: {status}")

        await engine.send({"type": "bogus"})
        bad = await engine.wait_event(lambda e: e["event"] == "error")
        assert "unknown command type" in bad["message"]

        took = await engine.close_stdin_and_wait()
        assert took < 5.0
        assert engine.proc.returncode == 0
        assert engine.events[-1]["event"] == "stopped"
    finally:
        await engine.kill()


async def test_sigterm_mid_turn_then_the_turn_comes_again(joined: Joined) -> None:
    """SIGTERM while OpenClaw works on a turn: the engine stops within 5 s and asks again after a
    restart (the message was never answered, so it is not lost)."""
    engine = await Engine.start(joined.environ, joined.config())
    try:
        await engine.wait_event(lambda e: e["event"] == "ready", timeout=60)
        await joined.alice.say(joined.conversation_id, "are you there?")
        first = await engine.wait_event(lambda e: e["event"] == "turn")
        engine.proc.send_signal(signal.SIGTERM)
        import asyncio
        import time

        began = time.monotonic()
        await asyncio.wait_for(engine.proc.wait(), 10)
        assert time.monotonic() - began < 5.0
        assert engine.proc.returncode == 0
    finally:
        await engine.kill()
    again = await Engine.start(joined.environ, joined.config())
    try:
        await again.wait_event(lambda e: e["event"] == "ready", timeout=60)
        turn = await again.wait_event(lambda e: e["event"] == "turn", timeout=30)
        assert turn["messageId"] == first["messageId"]
        await again.send({"type": "turn.done", "turnId": turn["turnId"], "text": "yes"})
        await joined.alice.wait_for(lambda s: s.text == "yes", timeout=20)
    finally:
        await again.kill()


async def test_a_second_engine_on_the_same_state_is_refused(joined: Joined) -> None:
    engine = await Engine.start(joined.environ, joined.config())
    other = None
    try:
        await engine.wait_event(lambda e: e["event"] == "ready", timeout=60)
        other = await Engine.start(joined.environ, joined.config())
        fatal = await other.wait_event(lambda e: e["event"] == "fatal")
        assert "already running" in fatal["message"]
    finally:
        await engine.kill()
        if other is not None:
            await other.kill()


async def test_protocol_version_mismatch_is_fatal_and_says_what_to_do(tmp_path: Path) -> None:
    engine = Engine.__new__(Engine)
    import asyncio
    import os

    from .engine_proc import ENGINE

    proc = await asyncio.create_subprocess_exec(
        *ENGINE,
        "bridge",
        env={**os.environ, **state_environ(tmp_path / "state")},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    Engine.__init__(engine, proc)
    try:
        await engine.send({"type": "start", "protocol": 99, "config": {}})
        fatal = await engine.wait_event(lambda e: e["event"] == "fatal")
        assert "install matching versions" in fatal["message"]
        await asyncio.wait_for(proc.wait(), 10)
        assert proc.returncode == 3
    finally:
        await engine.kill()
