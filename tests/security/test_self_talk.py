"""The gateway does not talk to itself (issue 14, item 1).

The inbox ids of the gateway's identities are visible to anyone who talked to them. Mallory
makes a group holding two of them and sends one message. Before the fix, under ``dmPolicy: open``
the two identities answered each other without end (550-850 messages in 20 s, each a paid model
call with a real backend); under ``pairing`` they handed each other pairing codes and filled the
pending requests. Now every identity of the gateway is the gateway itself: never a sender to
answer, never a pairing candidate, and a conversation holding two of them is served by one.
"""

from __future__ import annotations

import asyncio

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.xmtp import content as xc
from tests.reliability.harness import Place, conversation_texts, setup_owner

WATCH_SECONDS = 6.0


@pytest.mark.parametrize("policy", ["open", "pairing"])
async def test_two_identities_in_one_group_do_not_answer_each_other(place: Place, policy: str) -> None:
    await setup_owner(place)
    if policy == "open":
        place.write_config(dmPolicy="open", allowFrom=["*"])
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room_a = await create_owned_conversation(place.load(), name="A", gateway=gateway)
        room_b = await create_owned_conversation(place.load(), name="B", gateway=gateway)
        agent_a = gateway.hosts[room_a.identity.id].client.inbox_id
        agent_b = gateway.hosts[room_b.identity.id].client.inbox_id
        mallory = await place.user("Mallory")
        trap = await mallory.client.create_group([agent_a, agent_b], name="trap")
        await trap.send(xc.encode_text("hello, both of you"))
        await asyncio.sleep(WATCH_SECONDS)
        await gateway.idle(timeout=30)

        from_a = await conversation_texts(trap, agent_a)
        from_b = await conversation_texts(trap, agent_b)
        print(
            f"\n{policy}: in {WATCH_SECONDS:.0f} s identity A sent {len(from_a)}, identity B {len(from_b)} message(s)"
        )
        # one identity serves the group, once; the other stays silent
        assert len(from_a) + len(from_b) == 1, (from_a[:3], from_b[:3])
        (answer,) = from_a + from_b
        if policy == "open":
            assert answer == "hello, both of you"
        else:
            assert "Pairing code:" in answer and mallory.inbox_id in answer
        pending = {request.id for request in await gateway.pairing.list_pending()}
        assert not pending & {agent_a, agent_b}, "an identity of the gateway became a pairing candidate"
