"""The owner channel's first invite does not stay open (issue 14, item 4).

``invite create`` without an owner makes the owner conversation; whoever joins first becomes the
owner. Before the fix its invite was multi-use: after the owner had joined, anyone else holding
that first link (a shared screenshot, a forwarded message) was admitted to the owner conversation
and read every later pairing notice, codes included.
"""

from __future__ import annotations

from openclaw_convos.agents import EchoAgent
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.joinflow.joiner import JoinStatus
from tests.reliability.harness import Place, wait_until


async def test_the_first_link_admits_the_owner_only(place: Place) -> None:
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        created = await create_owned_conversation(place.load(), gateway=gateway)
        assert created.is_owner_conversation and created.single_use
        alice, mallory = await place.user("Alice"), await place.user("Mallory")
        assert (await alice.join(created.url)).conversation_id == created.conversation_id
        await wait_until(lambda: gateway.is_owner(alice.inbox_id), 30, "Alice becoming the owner")

        late = await mallory.join(created.url, timeout=15)
        assert late.status is not JoinStatus.JOINED, late
        owner_conversation = gateway.hosts[created.identity.id].client.conversation(created.conversation_id)
        assert owner_conversation is not None
        await owner_conversation.sync()
        members = {m.inbox_id for m in await owner_conversation.members()}
        assert mallory.inbox_id not in members and alice.inbox_id in members
        assert not gateway.is_owner(mallory.inbox_id)

        # so Mallory never sees a pairing notice with its code
        bob = await place.user("Bob")
        room = await create_owned_conversation(place.load(), name="Room", gateway=gateway)
        assert not room.is_owner_conversation and not room.single_use  # other conversations: as asked
        assert (await bob.join(room.url)).conversation_id == room.conversation_id
        await bob.say(room.conversation_id, "hi")
        await alice.wait_for(lambda s: "Pairing request" in s.text)
        assert not [s for s in mallory.seen if "Pairing request" in s.text]


async def test_joins_by_others_wait_for_the_owners_admit(place: Place) -> None:
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        created = await create_owned_conversation(
            place.load(), gateway=gateway, single_use=False
        )  # opted out
        alice, mallory = await place.user("Alice"), await place.user("Mallory")
        assert (await alice.join(created.url)).conversation_id == created.conversation_id
        await wait_until(lambda: gateway.is_owner(alice.inbox_id), 30, "Alice becoming the owner")

        held = await mallory.join(created.url, timeout=8)  # no answer: held for the owner
        assert held.status is not JoinStatus.JOINED
        notice = await alice.wait_for(lambda s: f"{mallory.inbox_id} asks to join" in s.text)
        code = notice.text.split("`admit ")[1].split("`")[0]
        owner_conversation = gateway.hosts[created.identity.id].client.conversation(created.conversation_id)
        assert owner_conversation is not None
        await owner_conversation.sync()
        assert mallory.inbox_id not in {m.inbox_id for m in await owner_conversation.members()}

        await alice.say(created.conversation_id, "admit WRONG234")
        await alice.wait_for(lambda s: "No join request is waiting" in s.text)
        await owner_conversation.sync()
        assert mallory.inbox_id not in {m.inbox_id for m in await owner_conversation.members()}
        await alice.say(created.conversation_id, f"admit {code.lower()}")
        await alice.wait_for(lambda s: s.text.startswith(f"Admitted {mallory.inbox_id}"))
        await wait_until_member(owner_conversation, mallory.inbox_id)


async def wait_until_member(conversation: object, inbox_id: str, timeout: float = 30) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await conversation.sync()  # type: ignore[attr-defined]
        if inbox_id in {m.inbox_id for m in await conversation.members()}:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"{inbox_id} never became a member")
