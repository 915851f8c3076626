"""Every channel setting, acted on: simulated Convos users talk to the whole gateway on the devnode.

groupPolicy, groups (allowlist entries, requireMention, per-group allowFrom), groupAllowFrom,
historyLimit/dmHistoryLimit, chunkMode, reactionLevel; and the presence the Convos app shows:
read receipts, the thinking indicator, the sender's time zone, ExplodeSettings.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from openclaw_convos.agents import AgentReply, AgentTurn
from openclaw_convos.convos import content as cc
from openclaw_convos.convos import profiles as cp
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import content as xc

from .conftest import World
from .test_gateway import RecordingAgent, setup_owner


def agent_of(gateway: Any, conversation_id: str) -> str:
    for host in gateway.hosts.values():
        if host.client.conversation(conversation_id) is not None:
            return str(host.client.inbox_id)
    raise AssertionError(f"no identity of ours is in {conversation_id}")


async def said(
    user: SimulatedUser, conversation_id: str, text: str, agent_inbox: str, *, timeout: float = 20
) -> None:
    """``user`` says ``text`` and waits for the agent's answer in that conversation."""
    after = len(user.seen)
    await user.say(conversation_id, text)
    await user.wait_for(
        lambda s: (
            s.sender_inbox_id == agent_inbox
            and s.conversation_id == conversation_id
            and s.kind in ("text", "reply")
        ),
        after=after,
        timeout=timeout,
    )


async def silent(
    gateway: Any, user: SimulatedUser, conversation_id: str, text: str, agent_inbox: str
) -> None:
    """``user`` says ``text``; the gateway handles it and answers nothing (no text, reaction,
    thinking indicator, or read receipt for it)."""
    after = len(user.seen)
    mine = await user.say(conversation_id, text)
    await asyncio.sleep(0.3)
    await gateway.idle()
    await asyncio.sleep(0.3)
    answers = [
        s
        for s in user.seen[after:]
        if s.sender_inbox_id == agent_inbox
        and s.conversation_id == conversation_id
        and (s.kind in ("text", "reply") or s.reference_id == mine)
    ]
    assert not answers, answers


async def shared_room(world: World, gateway: Any, name: str, *joiners: SimulatedUser) -> tuple[str, str]:
    """A conversation the gateway created on purpose (``invite create``) that ``joiners`` joined."""
    created = await create_owned_conversation(world.load(), name=name, gateway=gateway)
    for user in joiners:
        joined = await user.join(created.url)
        assert joined.conversation_id == created.conversation_id, joined.message
    return created.conversation_id, gateway.hosts[created.identity.id].client.inbox_id


async def strangers_group(owner: SimulatedUser, agent_inbox: str, *others: SimulatedUser) -> str:
    """A group someone else made and added one of our identities to (not configured on purpose)."""
    group = await owner.client.create_group([agent_inbox, *(u.inbox_id for u in others)], name="Bob's group")
    for user in others:
        for _ in range(50):
            await user.client.sync_welcomes()
            if user.client.conversation(group.id) is not None:
                break
            await asyncio.sleep(0.1)
    return group.id


# -- group policy ----------------------------------------------------------------------------------


async def test_group_policy_disabled_keeps_the_agent_quiet_outside_the_owner_conversation(
    world: World,
) -> None:
    alice, owner_room = await setup_owner(world)
    bob = await world.user("Bob")
    world.write_config(dmPolicy="open", allowFrom=["*"], groupPolicy="disabled")
    async with open_gateway(world.load(), RecordingAgent(reply="=")) as gateway:
        room, ours = await shared_room(world, gateway, "Team", bob)
        await silent(gateway, bob, room, "anyone there?", ours)
        await said(alice, owner_room, "still there for me?", agent_of(gateway, owner_room))


async def test_group_allowlist_serves_listed_and_configured_conversations_only(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    bob = await world.user("Bob")
    world.write_config(dmPolicy="open", allowFrom=["*"], groupPolicy="allowlist")
    async with open_gateway(world.load(), RecordingAgent(reply="=")) as gateway:
        room, ours = await shared_room(world, gateway, "Made on purpose", bob)
        await said(bob, room, "configured on purpose", ours)  # invite create counts as configured
        foreign = await strangers_group(bob, ours)
        await silent(gateway, bob, foreign, "answer me here", ours)
    world.write_config(groups={foreign: {}})
    async with open_gateway(world.load(), RecordingAgent(reply="=")) as gateway:
        await said(bob, foreign, "now listed", ours)
        await said(alice, owner_room, "owner conversation", agent_of(gateway, owner_room))


async def test_require_mention_answers_a_mention_or_a_reply_and_keeps_the_rest_as_context(
    world: World,
) -> None:
    await setup_owner(world)
    bob = await world.user("Bob")
    world.write_config(dmPolicy="open", allowFrom=["*"], name="Clawd", groups={"*": {"requireMention": True}})
    agent = RecordingAgent(reply="at your service")
    async with open_gateway(world.load(), agent) as gateway:
        room, ours = await shared_room(world, gateway, "Busy room", bob)
        await silent(gateway, bob, room, "just chatting among ourselves", ours)
        await said(bob, room, "@clawd what did I just say?", ours)
        assert agent.turns[-1].text == "@clawd what did I just say?"
        assert "just chatting among ourselves" in [h.text for h in agent.turns[-1].history]
        answer = next(
            s for s in reversed(bob.seen) if s.sender_inbox_id == ours and s.kind in ("text", "reply")
        )
        after = len(bob.seen)
        await bob.conversation(room).send(xc.encode_reply(answer.message_id, "thanks, and?", ours))
        await bob.wait_for(lambda s: s.sender_inbox_id == ours and s.kind in ("text", "reply"), after=after)
        assert agent.turns[-1].text == "thanks, and?"
        await silent(gateway, bob, room, "@Clawdette is someone else", ours)
        assert len(agent.turns) == 2


async def test_group_allow_from_lets_only_listed_senders_talk_in_groups(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    bob, carol = await world.user("Bob"), await world.user("Carol")
    world.write_config(
        dmPolicy="open", allowFrom=["*"], groupPolicy="allowlist", groupAllowFrom=[carol.inbox_id]
    )
    async with open_gateway(world.load(), RecordingAgent(reply="=")) as gateway:
        room, ours = await shared_room(world, gateway, "Carol only", bob, carol)
        await silent(gateway, bob, room, "me too?", ours)
        await said(carol, room, "just me", ours)
        await said(alice, owner_room, "and the owner conversation", agent_of(gateway, owner_room))


# -- history, chunking, reactions -------------------------------------------------------------------


async def test_history_limits_bound_what_the_agent_receives(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    bob = await world.user("Bob")
    world.write_config(dmPolicy="open", allowFrom=["*"], historyLimit=2, dmHistoryLimit=0)
    agent = RecordingAgent(reply="noted")
    async with open_gateway(world.load(), agent) as gateway:
        ours = agent_of(gateway, owner_room)
        for i in range(3):
            await said(alice, owner_room, f"message {i}", ours)
        assert len(agent.turns[-1].history) == 2
        assert [h.text for h in agent.turns[-1].history] == ["message 1", "noted"]
        dm = await bob.client.find_or_create_dm(ours)
        for text in ("first", "second"):
            await bob.say(dm.id, text)
            for _ in range(200):
                if agent.turns[-1].text == text:
                    break
                await asyncio.sleep(0.1)
        assert agent.turns[-1].text == "second" and agent.turns[-1].is_group is False
        assert agent.turns[-1].history == ()


async def test_chunk_mode_newline_sends_each_paragraph(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    world.write_config(chunkMode="newline")
    async with open_gateway(
        world.load(), RecordingAgent(reply="First point.\n\nSecond point.\nSame one.")
    ) as gateway:
        ours = agent_of(gateway, owner_room)
        await alice.say(owner_room, "two points please")
        await alice.wait_for(lambda s: s.sender_inbox_id == ours and s.text == "Second point.\nSame one.")
        assert alice.texts_from(ours, owner_room)[-2:] == ["First point.", "Second point.\nSame one."]


class ReactingAgent(RecordingAgent):
    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        return AgentReply(text=f"turn {len(self.turns)}", react="❤️")


async def test_each_reaction_level(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    for level in ("off", "ack", "minimal", "extensive"):
        world.write_config(reactionLevel=level)
        agent = ReactingAgent()
        async with open_gateway(world.load(), agent) as gateway:
            ours = agent_of(gateway, owner_room)
            after = len(alice.seen)
            mine = await alice.say(owner_room, f"level {level}")
            answer = await alice.wait_for(
                lambda s, ours=ours: s.sender_inbox_id == ours and s.text == "turn 1", after=after
            )
            await asyncio.sleep(0.3)
            await gateway.idle()
            reactions = [
                s.text for s in alice.seen[after:] if s.sender_inbox_id == ours and s.kind == "reaction"
            ]
            expected = {
                "off": [],
                "ack": ["reacted 👀"],
                "minimal": ["reacted ❤️"],
                "extensive": ["reacted ❤️"],
            }
            assert reactions == expected[level], (level, reactions)
            assert all(s.reference_id == mine for s in alice.seen[after:] if s.kind == "reaction")
            assert agent.turns[0].reaction_guidance == {"minimal": "minimal", "extensive": "extensive"}.get(
                level
            )
            # a reaction to the agent's answer, and one to her own message
            await alice.react(owner_room, answer.message_id, ours, "👍")
            await alice.react(owner_room, mine, alice.inbox_id, "🎉")
            await asyncio.sleep(0.5)
            await gateway.idle()
            turned = [t.reaction for t in agent.turns[1:]]
            expected_turns = {"off": [], "ack": [], "minimal": ["👍"], "extensive": ["👍", "🎉"]}
            assert sorted(turned) == sorted(expected_turns[level]), (level, turned)  # type: ignore[type-var]


# -- presence ---------------------------------------------------------------------------------------


async def test_read_receipt_thinking_indicator_and_time_zone(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    await alice.conversation(owner_room).send(
        cp.profile_update_content(cp.ProfileUpdate(name="Alice", metadata={cp.TIMEZONE_KEY: "Europe/Paris"})),
        push=False,
    )
    agent = RecordingAgent(reply="slow answer", delay=1.5)
    async with open_gateway(world.load(), agent, typing_delay=0.3, read_receipt_interval=1.0) as gateway:
        ours = agent_of(gateway, owner_room)
        after = len(alice.seen)
        mine = await alice.say(owner_room, "think hard")
        await alice.wait_for(lambda s: s.sender_inbox_id == ours and s.text == "slow answer", after=after)
        await alice.wait_for(
            lambda s: s.sender_inbox_id == ours and s.kind == "xmtp.org/readReceipt:1.0", after=after
        )
        kinds = [s.kind for s in alice.seen[after:] if s.sender_inbox_id == ours]
        thinking = [
            s for s in alice.seen[after:] if s.sender_inbox_id == ours and s.kind == "convos.org/thinking:1.0"
        ]
        assert [t.text for t in thinking] == ["thinking start", "thinking stop"], kinds
        assert all(t.reference_id == mine for t in thinking)
        assert agent.turns[0].sender_timezone == "Europe/Paris"
        # a fast answer: no thinking indicator, still a read receipt
        agent.delay = 0.0
        after = len(alice.seen)
        await said(alice, owner_room, "quick one", ours)
        await alice.wait_for(
            lambda s: s.sender_inbox_id == ours and s.kind == "xmtp.org/readReceipt:1.0", after=after
        )
        assert not [s for s in alice.seen[after:] if s.kind == "convos.org/thinking:1.0"]


async def test_explode_settings_make_the_agent_leave_and_tell_the_owner(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    bob = await world.user("Bob")
    world.write_config(dmPolicy="open", allowFrom=["*"])
    async with open_gateway(world.load(), RecordingAgent(reply="=")) as gateway:
        # a member who did not create the conversation cannot end it for us
        ours_room, ours = await shared_room(world, gateway, "Ours", bob)
        soon = datetime.now(UTC) + timedelta(seconds=1)
        await bob.conversation(ours_room).send(cc.encode_explode_settings(cc.ExplodeSettings(soon)))
        await asyncio.sleep(1.5)
        await gateway.idle()
        assert ours_room in gateway.served_conversations()
        await said(bob, ours_room, "still served?", ours)

        # Bob's own group, with one of our identities in it: his explode notice ends it for us
        room = await strangers_group(bob, ours)
        await said(bob, room, "hello before the end", ours)
        when = datetime.now(UTC) + timedelta(seconds=2)
        await bob.conversation(room).send(cc.encode_explode_settings(cc.ExplodeSettings(when)), push=True)
        notice = await alice.wait_for(lambda s: "exploded" in s.text and room[:8] in s.text, timeout=20)
        assert notice.conversation_id == owner_room
        assert datetime.now(UTC) >= when.replace(microsecond=0)
        for _ in range(100):  # the creator's client applies our leave request when it syncs
            await bob.conversation(room).sync()
            if ours not in {m.inbox_id for m in await bob.conversation(room).members()}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the agent is still a member of the exploded conversation")
        await silent(gateway, bob, room, "anyone left?", ours)
        await said(alice, owner_room, "the owner conversation still works", agent_of(gateway, owner_room))


async def test_the_agent_shows_as_an_agent_in_its_join_request_and_profiles(world: World) -> None:
    alice, owner_room = await setup_owner(world)
    async with open_gateway(world.load(), RecordingAgent(reply="=")) as gateway:
        ours = agent_of(gateway, owner_room)
        await said(alice, owner_room, "who are you?", ours)
    await alice.client.sync_all()
    dm = next(c for c in await alice.client.list_conversations() if c.dm_peer_inbox_id == ours)
    join_requests = [
        decoded
        for m in await dm.messages()
        if m.sender_inbox_id == ours and isinstance(decoded := cc.decode_content(m.content), cc.JoinRequest)
    ]
    assert join_requests and all(
        r.profile is not None and r.profile.member_kind == "agent" for r in join_requests
    )
    profiles = [
        decoded
        for m in await alice.conversation(owner_room).messages()
        if m.sender_inbox_id == ours and isinstance(decoded := cc.decode_content(m.content), cp.ProfileUpdate)
    ]
    assert profiles and all(p.is_agent for p in profiles)
