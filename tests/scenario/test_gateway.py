"""The whole gateway against the devnode: simulated Convos users talk to a real agent runtime."""

from __future__ import annotations

import asyncio
import json

from openclaw_convos.agents import AgentReply, AgentTurn, EchoAgent
from openclaw_convos.gateway.service import configure_with_invite, create_owned_conversation, open_gateway
from openclaw_convos.joinflow.joiner import JoinStatus
from openclaw_convos.simuser import SimulatedUser

from .conftest import World


async def setup_owner(world: World) -> tuple[SimulatedUser, str]:
    """Alice creates a conversation in her app; `configure --invite` joins it as the owner channel."""
    alice = await world.user("Alice")
    room = await alice.create_conversation("Alice & agent")
    slug = alice.invite(room)
    result = await configure_with_invite(world.load(), slug, timeout=30)
    assert result.join.status is JoinStatus.JOINED, result.join.message
    assert result.join.conversation_id == room.id
    config = json.loads(world.config_path.read_text())["channels"]["convos"]
    assert config["ownerConversationId"] == room.id
    assert config["enabled"] is True and config["identityId"] == result.identity.id
    return alice, room.id


async def test_owner_gets_answers_and_agent_has_a_name(world: World) -> None:
    alice, room = await setup_owner(world)
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        await alice.say(room, "hello agent")
        reply = await alice.wait_for(
            lambda s: s.sender_inbox_id == agent_inbox and s.kind in ("text", "reply")
        )
        assert reply.text == "hello agent"
        profile = await alice.wait_for(
            lambda s: s.sender_inbox_id == agent_inbox and s.text == "profile: OpenClaw"
        )
        assert profile is not None
        await gateway.idle()
        assert (await gateway.state.counts()).get("done") == 1


async def test_stranger_pairs_through_the_owner(world: World) -> None:
    alice, room = await setup_owner(world)
    bob = await world.user("Bob")
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        created = await create_owned_conversation(world.load(), name="Open room", gateway=gateway)
        assert not created.is_owner_conversation
        joined = await bob.join(created.url)
        assert joined.status is JoinStatus.JOINED and joined.conversation_id == created.conversation_id
        agent_inbox = gateway.hosts[created.identity.id].client.inbox_id

        await bob.say(created.conversation_id, "can I talk to you?")
        code_msg = await bob.wait_for(
            lambda s: s.sender_inbox_id == agent_inbox and "Pairing code:" in s.text
        )
        code = code_msg.text.split("Pairing code:")[1].split()[0]
        notice = await alice.wait_for(lambda s: "Pairing request" in s.text and code in s.text)
        assert notice.conversation_id == room
        await bob.say(created.conversation_id, "hello??")  # no second code, no answer
        await gateway.idle()

        await alice.say(room, f"approve {code}")
        await alice.wait_for(lambda s: s.text.startswith("Approved "))
        await bob.wait_for(lambda s: s.sender_inbox_id == agent_inbox and "paired" in s.text)
        await bob.say(created.conversation_id, "now?")
        answer = await bob.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "now?")
        assert answer.conversation_id == created.conversation_id
        texts = bob.texts_from(agent_inbox)
        assert sum("Pairing code:" in t for t in texts) == 1
        assert "hello??" not in texts and "can I talk to you?" not in texts


async def test_dm_policies(world: World) -> None:
    alice, room = await setup_owner(world)
    bob = await world.user("Bob")
    for policy, bob_answered in (("open", True), ("disabled", False), ("allowlist", False)):
        world.write_config(dmPolicy=policy)
        async with open_gateway(world.load(), EchoAgent()) as gateway:
            created = await create_owned_conversation(world.load(), name=f"{policy} room", gateway=gateway)
            await bob.join(created.url)
            agent_inbox = gateway.hosts[created.identity.id].client.inbox_id
            await bob.say(created.conversation_id, f"hi {policy}")
            await alice.say(room, f"owner {policy}")
            await alice.wait_for(
                lambda s, p=policy: s.text == f"owner {p}" and s.sender_inbox_id != alice.inbox_id
            )
            await gateway.idle()
            got = bob.texts_from(agent_inbox, created.conversation_id)
            assert (f"hi {policy}" in got) is bob_answered, (policy, got)
            assert not any("Pairing code" in t for t in got)
    world.write_config(dmPolicy="allowlist", allowFrom=[bob.inbox_id])
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        created = await create_owned_conversation(world.load(), name="allowed room", gateway=gateway)
        await bob.join(created.url)
        agent_inbox = gateway.hosts[created.identity.id].client.inbox_id
        await bob.say(created.conversation_id, "allowed?")
        await bob.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "allowed?")


class RecordingAgent:
    name = "recording"

    def __init__(self, reply: str = "ok", delay: float = 0.0, fail_on: str | None = None) -> None:
        self.turns: list[AgentTurn] = []
        self.reply = reply
        self.delay = delay
        self.fail_on = fail_on

    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        if self.fail_on and self.fail_on in turn.text:
            if self.fail_on == "slow":
                await asyncio.sleep(60)
            raise RuntimeError("agent exploded")
        await asyncio.sleep(self.delay)
        if turn.reaction:
            return AgentReply(text=f"you reacted {turn.reaction}")
        return AgentReply(text=self.reply if self.reply != "=" else turn.text)

    async def aclose(self) -> None:
        pass


async def test_reaction_to_agent_message_is_a_turn(world: World) -> None:
    alice, room = await setup_owner(world)
    agent = RecordingAgent(reply="question?")
    async with open_gateway(world.load(), agent) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        mine = await alice.say(room, "ask me")
        answer = await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "question?")
        await alice.react(room, mine, alice.inbox_id, "👀")  # a reaction to her own message: context only
        await alice.react(room, answer.message_id, agent_inbox, "👍")
        got = await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "you reacted 👍")
        assert got is not None
        await gateway.idle()
        assert [t.reaction for t in agent.turns] == [None, "👍"]
        assert agent.turns[1].reply_to_text == "question?"


async def test_long_replies_are_chunked_in_order(world: World) -> None:
    alice, room = await setup_owner(world)
    world.write_config(textChunkLimit=200)
    long_text = "\n\n".join(f"Paragraph {i}: " + "word " * 30 for i in range(6))
    async with open_gateway(world.load(), RecordingAgent(reply=long_text)) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        await alice.say(room, "tell me a lot")
        await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text.startswith("Paragraph 5"))
        chunks = [t for t in alice.texts_from(agent_inbox, room) if t.startswith("Paragraph")]
        assert len(chunks) == 6
        assert all(len(c) <= 200 for c in chunks)
        assert [c.split(":")[0] for c in chunks] == [f"Paragraph {i}" for i in range(6)]


async def test_failing_and_slow_agent_apologise_then_recover(world: World) -> None:
    alice, room = await setup_owner(world)
    agent = RecordingAgent(reply="=", fail_on="boom")
    async with open_gateway(world.load(), agent, turn_timeout=1.0) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        await alice.say(room, "boom")
        await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text.startswith("Sorry"))
        agent.fail_on = "slow"
        await alice.say(room, "slow")
        apologies = lambda: [t for t in alice.texts_from(agent_inbox) if t.startswith("Sorry")]  # noqa: E731
        await alice.wait_for(lambda s: len(apologies()) >= 2)
        agent.fail_on = None
        await alice.say(room, "fine now")
        await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "fine now")
        assert gateway.turns_failed == 2


class ReactingAgent(RecordingAgent):
    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        return AgentReply(text=None, react="❤️")


async def test_agent_can_react(world: World) -> None:
    alice, room = await setup_owner(world)
    async with open_gateway(world.load(), ReactingAgent()) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        mine = await alice.say(room, "love this")
        got = await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.kind == "reaction")
        assert got.text == "reacted ❤️" and got.reference_id == mine


async def test_direct_messages_work(world: World) -> None:
    await setup_owner(world)
    world.write_config(dmPolicy="open")
    bob = await world.user("Bob")
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        dm = await bob.client.find_or_create_dm(agent_inbox)
        await bob.say(dm.id, "a direct question")
        answer = await bob.wait_for(
            lambda s: s.sender_inbox_id == agent_inbox and s.text == "a direct question"
        )
        assert answer.conversation_id == dm.id and answer.kind == "text"  # no quote in a DM
        assert gateway.health == "healthy"
        assert (await gateway.status())["health"] == "healthy"


async def test_restart_answers_what_arrived_meanwhile_exactly_once(world: World) -> None:
    alice, room = await setup_owner(world)
    agent = RecordingAgent(reply="=")
    async with open_gateway(world.load(), agent) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        await alice.say(room, "before")
        await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "before")
    for i in range(3):
        await alice.say(room, f"while down {i}")
    async with open_gateway(world.load(), agent) as gateway:
        for i in range(3):
            await alice.wait_for(
                lambda s, i=i: s.sender_inbox_id == agent_inbox and s.text == f"while down {i}"
            )
        await alice.say(room, "after")
        await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "after")
        await gateway.idle()
    answers = alice.texts_from(agent_inbox, room)
    expected = ["before", "while down 0", "while down 1", "while down 2", "after"]
    assert [a for a in answers if a in expected] == expected  # each once, in order
    assert [t.text for t in agent.turns] == expected


async def test_the_agent_gets_inbox_ids_and_display_names_apart(world: World) -> None:
    """A member with a display name reaches the agent as (inbox id, name), in the turn and in history."""
    alice = await world.user("Alexandra Wonderland")
    room = await alice.create_conversation("Alice & agent")
    result = await configure_with_invite(world.load(), alice.invite(room), timeout=30)
    assert result.join.status is JoinStatus.JOINED, result.join.message
    agent = RecordingAgent(reply="noted")
    async with open_gateway(world.load(), agent) as gateway:
        agent_inbox = gateway.hosts[next(iter(gateway.hosts))].client.inbox_id
        await alice.say(room.id, "hello")
        await alice.wait_for(lambda s: s.sender_inbox_id == agent_inbox and s.text == "noted")
        await alice.say(room.id, "again")
        await alice.wait_for(lambda s: len(alice.texts_from(agent_inbox, room.id)) >= 2)
        await gateway.idle()
    first, second = agent.turns
    assert (first.sender_inbox_id, first.sender_name) == (alice.inbox_id, "Alexandra Wonderland")
    assert (second.sender_inbox_id, second.sender_name) == (alice.inbox_id, "Alexandra Wonderland")
    [earlier] = [h for h in second.history if h.role == "user"]
    assert (earlier.sender_inbox_id, earlier.sender_name, earlier.text) == (
        alice.inbox_id,
        "Alexandra Wonderland",
        "hello",
    )
