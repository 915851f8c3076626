"""The gateway is SIGKILLed at random points while users talk: every message is answered exactly once.

The gateway runs in a subprocess (``gateway_runner.py``) so it can be killed with SIGKILL, which
runs no clean-up code at all. The devnode and the users stay in this process. After the last
kill a final gateway runs until every message has its answer; then each user's conversation is
read back from the node and the agent's answers are counted per message.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from openclaw_convos.gateway.service import create_owned_conversation
from openclaw_convos.simuser import SimulatedUser

from .harness import ECHO_PREFIX, GatewayProcess, Place, conversation_texts, setup_owner


async def _answers(users: list[tuple[SimulatedUser, str]], agents: set[str]) -> Counter[str]:
    """How many times the agent answered each ``echo: <token>`` in the users' conversations."""
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for user, conversation_id in users:
        if conversation_id in seen:
            continue
        seen.add(conversation_id)
        conversation = user.conversation(conversation_id)
        for agent in agents:
            for text in await conversation_texts(conversation, agent):
                if text.startswith(ECHO_PREFIX):
                    counts[text[len(ECHO_PREFIX) :]] += 1
    return counts


async def _kill_storm(place: Place, tmp_path: Path, *, kills: int, messages: int, seed: int) -> None:
    rng = random.Random(seed)
    alice, owner_room = await setup_owner(place)
    place.write_config(dmPolicy="open", allowFrom=["*"])
    created = await create_owned_conversation(place.load(), name="Team room")
    gateway = GatewayProcess(place, tmp_path / "gw", agent_delay=0.05)
    try:
        ready = await gateway.start()
        assert ready["identities"] == 2 and not ready["problems"], ready
        bob = await place.user("Bob")
        carol = await place.user("Carol")
        for joined in await asyncio.gather(bob.join(created.url), carol.join(created.url)):
            assert joined.conversation_id == created.conversation_id, joined.message
        talkers = [(alice, owner_room), (bob, created.conversation_id), (carol, created.conversation_id)]

        async def warm_up(user: SimulatedUser, room: str) -> str:
            await user.say(room, f"warm-{user.name}")
            seen = await user.wait_for(lambda s: s.text == f"{ECHO_PREFIX}warm-{user.name}", timeout=30)
            return seen.sender_inbox_id

        agents = set(await asyncio.gather(*(warm_up(user, room) for user, room in talkers)))

        tokens = [f"m{i:03d}-{talkers[i % 3][0].name}" for i in range(messages)]
        send_window = max(5.0, kills * 2.2)
        interval = send_window / messages

        async def send_all() -> None:
            for i, token in enumerate(tokens):
                user, room = talkers[i % 3]
                await user.say(room, token)
                await asyncio.sleep(interval * rng.uniform(0.5, 1.5))

        async def kill_all() -> list[float]:
            lived = []
            for _ in range(kills):
                started = time.monotonic()
                await asyncio.sleep(rng.uniform(0.4, 3.0))  # some land in start-up, some mid-reply
                await gateway.kill()
                lived.append(time.monotonic() - started)
                await gateway.spawn()
            return lived

        started = time.monotonic()
        lived, _ = await asyncio.gather(kill_all(), send_all())
        await gateway.wait_ready()
        deadline = time.monotonic() + 120
        while True:
            counts = await _answers(talkers, agents)
            if all(counts[t] >= 1 for t in tokens) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(3.0 if kills > 5 else 1.0)  # any late duplicate would show up now
        counts = await _answers(talkers, agents)
        elapsed = time.monotonic() - started
        lost = [t for t in tokens if counts[t] == 0]
        duplicated = {t: counts[t] for t in tokens if counts[t] > 1}
        turns = Counter(t["text"] for t in gateway.turns())
        rerun = sum(1 for t in tokens if turns[t] > 1)
        print(
            f"\nSIGKILL storm: {gateway.kills} kills (alive {min(lived):.1f}-{max(lived):.1f}s), "
            f"{len(tokens)} messages in {elapsed:.0f}s: lost {len(lost)}, duplicate answers "
            f"{len(duplicated)}, agent re-runs {rerun} (answered once anyway)"
        )
        assert gateway.kills == kills
        assert not lost, f"{len(lost)} messages never answered: {lost[:10]}"
        assert not duplicated, f"answered more than once: {duplicated}"
        status = gateway.status()
        assert status is not None and not status["problems"], status
    finally:
        await gateway.close()


async def test_sigkill_a_few_times_nothing_lost_nothing_doubled(place: Place, tmp_path: Path) -> None:
    await _kill_storm(place, tmp_path, kills=2, messages=18, seed=7)


@pytest.mark.slow
async def test_sigkill_20_times_during_300_messages(place: Place, tmp_path: Path) -> None:
    await _kill_storm(place, tmp_path, kills=20, messages=300, seed=20)
