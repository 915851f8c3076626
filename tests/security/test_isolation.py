"""Two identities of one gateway cannot be linked through pairing (issue 14, item 6).

Before the fix, pending pairing requests were one pool for the whole gateway: a stranger with a
code from identity A got silence from identity B (so A and B were visibly the same gateway), and
three strangers at one identity filled the pool, so nobody could pair anywhere for an hour. Now
each identity keeps its own requests and its own limit of 3, and answers as an unrelated gateway
with the same policy would.
"""

from __future__ import annotations

from openclaw_convos.agents import EchoAgent
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.simuser import SimulatedUser
from tests.reliability.harness import Place, setup_owner


def code_from(user: SimulatedUser, agent: str, conversation_id: str) -> str | None:
    for seen in user.seen:
        if (
            seen.sender_inbox_id == agent
            and seen.conversation_id == conversation_id
            and "Pairing code:" in seen.text
        ):
            return seen.text.split("Pairing code:")[1].split()[0]
    return None


async def test_pairing_does_not_link_identities(place: Place) -> None:
    await setup_owner(place)
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room_a = await create_owned_conversation(place.load(), name="A", gateway=gateway)
        room_b = await create_owned_conversation(place.load(), name="B", gateway=gateway)
        agent_a = gateway.hosts[room_a.identity.id].client.inbox_id
        agent_b = gateway.hosts[room_b.identity.id].client.inbox_id
        bob, carol, dave, erin = [await place.user(n) for n in ("Bob", "Carol", "Dave", "Erin")]

        # three strangers fill identity A's pending requests
        for user in (bob, carol, dave):
            assert (await user.join(room_a.url)).conversation_id == room_a.conversation_id
            await user.say(room_a.conversation_id, "hello A")
            await user.wait_for(lambda s: code_from(user, agent_a, room_a.conversation_id) is not None)  # noqa: B023
        # a fourth stranger at B still pairs: A's full pool does not block B
        assert (await erin.join(room_b.url)).conversation_id == room_b.conversation_id
        await erin.say(room_b.conversation_id, "hello B")
        await erin.wait_for(
            lambda s: code_from(erin, agent_b, room_b.conversation_id) is not None, timeout=30
        )
        # a stranger pending at A is a new requester at B: a code of B's own, not silence
        assert (await bob.join(room_b.url)).conversation_id == room_b.conversation_id
        await bob.say(room_b.conversation_id, "hello B")
        await bob.wait_for(lambda s: code_from(bob, agent_b, room_b.conversation_id) is not None, timeout=30)
        code_at_a = code_from(bob, agent_a, room_a.conversation_id)
        code_at_b = code_from(bob, agent_b, room_b.conversation_id)
        assert code_at_a and code_at_b and code_at_a != code_at_b

        pending = await gateway.pairing.list_pending()
        by_account: dict[str, set[str]] = {}
        for request in pending:
            by_account.setdefault(request.account, set()).add(request.id)
        assert by_account == {
            room_a.identity.id: {bob.inbox_id, carol.inbox_id, dave.inbox_id},
            room_b.identity.id: {erin.inbox_id, bob.inbox_id},
        }
