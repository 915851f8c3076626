"""The XMTP node goes away and comes back: streams reconnect, nothing is lost, status tells the story.

The devnode keeps its port and its database file across the outage, as a real node would. A
message arrives just before the outage and its answer has to be sent while the node is down (the
send fails and is retried); another is sent right after the node is back, before the gateway's
streams have reconnected (the catch-up must find it).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from openclaw_convos.agents import AgentReply, AgentTurn
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway

from .harness import ECHO_PREFIX, Node, Place, conversation_texts, setup_owner, wait_until


class SlowEcho:
    """``echo: <text>``; texts starting with ``slow`` take ``delay`` seconds."""

    name = "slow-echo"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started: list[str] = []

    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.started.append(turn.text)
        if turn.text.startswith("slow"):
            await asyncio.sleep(self.delay)
        return AgentReply(text=ECHO_PREFIX + turn.text)

    async def aclose(self) -> None:
        pass


async def _outage(place: Place, node: Node, tmp_path: Path, outage: float) -> None:
    alice, owner_room = await setup_owner(place)
    place.write_config(dmPolicy="open", allowFrom=["*"])
    agent = SlowEcho(delay=1.0)
    async with open_gateway(place.load(), agent) as gateway:
        created = await create_owned_conversation(place.load(), name="Room", gateway=gateway)
        bob = await place.user("Bob")
        joined = await bob.join(created.url)
        assert joined.conversation_id == created.conversation_id, joined.message
        agent_ids = {h.client.inbox_id for h in gateway.hosts.values()}
        await alice.say(owner_room, "before")
        await alice.wait_for(lambda s: s.text == f"{ECHO_PREFIX}before")
        assert (await gateway.status())["health"] == "healthy"

        await alice.say(owner_room, "slow in flight")
        await wait_until(lambda: "slow in flight" in agent.started, 20, "the turn to start")
        down_at = time.monotonic()
        await node.stop()  # the answer is sent while the node is down
        degraded: dict[str, str] = {}

        def is_degraded() -> bool:
            return all(state == "reconnecting" for state in degraded.values()) and bool(degraded)

        while time.monotonic() - down_at < outage:
            degraded = dict((await gateway.status())["streams"])
            if is_degraded():
                break
            await asyncio.sleep(0.2)
        assert is_degraded(), f"status did not show the outage: {degraded}"
        degraded_after = time.monotonic() - down_at
        await asyncio.sleep(max(0.0, outage - (time.monotonic() - down_at)))
        status = await gateway.status()
        assert set(status["streams"].values()) == {"reconnecting"}, status
        assert status["health"] == "degraded", status
        await node.start()
        up_at = time.monotonic()
        await alice.say(owner_room, "right after")  # before the gateway's streams are back
        await bob.say(created.conversation_id, "bob after")

        async def healthy() -> bool:
            status = await gateway.status()
            healthy = status["health"] == "healthy"
            assert healthy == (set(status["streams"].values()) == {"connected"}), status
            return healthy and not status["problems"]

        deadline = time.monotonic() + 60
        while not await healthy():
            assert time.monotonic() < deadline, await gateway.status()
            await asyncio.sleep(0.2)
        healthy_after = time.monotonic() - up_at
        for who, text in ((alice, "slow in flight"), (alice, "right after"), (bob, "bob after")):
            await who.wait_for(lambda s, t=text: s.text == f"{ECHO_PREFIX}{t}", timeout=60)
        answered_after = time.monotonic() - up_at
        await gateway.idle(timeout=30)
        status = await gateway.status()
        for who, room in ((alice, owner_room), (bob, created.conversation_id)):
            texts: list[str] = []
            for agent_id in agent_ids:
                texts += await conversation_texts(who.conversation(room), agent_id)
            echoes = [t for t in texts if t.startswith(ECHO_PREFIX)]
            assert len(echoes) == len(set(echoes)), f"duplicate answers: {echoes}"
        counts = status["messages"]
        assert counts.get("received", 0) == 0 and counts.get("replying", 0) == 0, counts
        print(
            f"\noutage {outage:.0f}s: degraded after {degraded_after:.1f}s, healthy {healthy_after:.1f}s "
            f"after the node came back, all answered after {answered_after:.1f}s, "
            f"reconnects {status['reconnects']}, lost 0"
        )


@pytest.mark.slow
async def test_short_outage(place: Place, node: Node, tmp_path: Path) -> None:
    await _outage(place, node, tmp_path, outage=3.0)


@pytest.mark.slow
async def test_node_down_30s_streams_reconnect_nothing_lost(place: Place, node: Node, tmp_path: Path) -> None:
    await _outage(place, node, tmp_path, outage=30.0)
