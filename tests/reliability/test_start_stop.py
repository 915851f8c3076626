"""Starting and stopping the gateway over and over never hangs (a lost cancellation once made
``stop`` wait for a 300 s sleep of the join-request sweeper)."""

from __future__ import annotations

import asyncio
import time

from openclaw_convos.agents import EchoAgent
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway

from .harness import Place, setup_owner


async def test_start_stop_loop_never_hangs(place: Place) -> None:
    alice, owner_room = await setup_owner(place)
    await create_owned_conversation(place.load(), name="Room")  # a creator identity: it has a sweeper
    slowest = 0.0
    for cycle in range(20):
        started = time.monotonic()
        gateway = open_gateway(place.load(), EchoAgent())
        await asyncio.wait_for(gateway.start(), 20)
        await asyncio.sleep(0.01 * (cycle % 5))  # stop at different moments of the start-up work
        await asyncio.wait_for(gateway.stop(), 20)
        slowest = max(slowest, time.monotonic() - started)
    print(f"\n20 start/stop cycles, slowest {slowest:.2f}s")
    async with open_gateway(place.load(), EchoAgent()):
        await alice.say(owner_room, "still fine?")
        await alice.wait_for(lambda s: s.text == "still fine?" and s.sender_inbox_id != alice.inbox_id)
