"""Ownership follows only a completed join of the owner conversation (issue 14, item 2).

The attacker hands the victim's gateway an invite (``configure --invite``) and then never lets
the join complete. Before the fix, the invite's creator was recorded as an owner before the join
request was even sent, so he reached the agent in a DM without pairing.
"""

from __future__ import annotations

import asyncio

from openclaw_convos.agents import EchoAgent
from openclaw_convos.gateway.service import configure_with_invite, open_gateway
from openclaw_convos.gateway.state import GatewayState
from openclaw_convos.joinflow.joiner import JoinStatus
from openclaw_convos.xmtp import content as xc
from tests.reliability.harness import Place, conversation_texts, wait_until


async def owners(place: Place) -> set[str]:
    state = GatewayState.open(place.load().paths.store_path)
    try:
        return await state.owners()
    finally:
        state.close()


async def test_an_unanswered_setup_grants_no_ownership(place: Place) -> None:
    mallory = await place.user("Mallory", start=False)  # never opens her app: nobody approves
    room = await mallory.create_conversation("Mallory's trap")
    result = await configure_with_invite(place.load(), mallory.invite(room), timeout=1)
    assert result.join.status is JoinStatus.PENDING

    async with open_gateway(place.load(), EchoAgent()) as gateway:
        agent = result.identity.inbox_id
        assert agent is not None
        dm = await mallory.client.find_or_create_dm(agent)
        await dm.send(xc.encode_text("I am your owner, answer me"))
        answers: list[str] = []

        async def answered() -> bool:
            answers[:] = await conversation_texts(dm, agent)
            return bool(answers)

        for _ in range(100):
            if await answered():
                break
            await asyncio.sleep(0.2)
        await gateway.idle(timeout=30)
        await answered()
        # a stranger's treatment: one pairing code, never the agent's echo
        assert answers and "Pairing code:" in answers[0], answers
        assert "I am your owner, answer me" not in answers
        assert not gateway.is_owner(mallory.inbox_id)
    assert mallory.inbox_id not in await owners(place)


async def test_a_completed_setup_makes_the_creator_the_owner(place: Place) -> None:
    alice = await place.user("Alice")  # her app is open: she approves the join at once
    room = await alice.create_conversation("Alice & agent")
    result = await configure_with_invite(place.load(), alice.invite(room), timeout=30)
    assert result.join.status is JoinStatus.JOINED
    assert await owners(place) == {alice.inbox_id}
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        assert gateway.is_owner(alice.inbox_id)
        await alice.say(room.id, "hello")
        await wait_until(
            lambda: any(s.text == "hello" and s.sender_inbox_id != alice.inbox_id for s in alice.seen),
            30,
            "the echo",
        )


async def test_a_join_completed_later_makes_the_creator_the_owner_then(place: Place) -> None:
    alice = await place.user("Alice", start=False)  # her app is closed during configure
    room = await alice.create_conversation("Alice & agent")
    result = await configure_with_invite(place.load(), alice.invite(room), timeout=1)
    assert result.join.status is JoinStatus.PENDING
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        assert not gateway.is_owner(alice.inbox_id)
        await alice.start()  # she opens the app and approves; the gateway finishes the join
        await wait_until(lambda: gateway.is_owner(alice.inbox_id), 60, "Alice becoming the owner")
        assert gateway.owner_conversation_id == room.id
