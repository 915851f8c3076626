"""The gateway's pipeline on in-memory fakes of its ports: no node, milliseconds per test.

Covers every access outcome, the outbox (each kind of send failing once), resume after a crash
between steps, per-conversation ordering, and the sender fields every agent backend receives.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from openclaw_convos.agents import AgentReply, AgentTurn
from openclaw_convos.agents.base import render_history_text
from openclaw_convos.agents.command import CommandAgent
from openclaw_convos.agents.openai_compat import OpenAICompatibleAgent
from openclaw_convos.errors import StateError
from openclaw_convos.gateway.access import DmPolicy
from openclaw_convos.gateway.identities import IdentityStore, StoredIdentity
from openclaw_convos.gateway.pairing import PairingStore
from openclaw_convos.gateway.runtime import APOLOGY, Gateway, GatewaySettings
from openclaw_convos.gateway.state import GatewayState, Plan, RecordState
from openclaw_convos.gateway.wire import normalize
from openclaw_convos.xmtp import Endpoint
from openclaw_convos.xmtp import outbound as out

from ..agents.chat_server import ChatServer, Reply, completion
from .fakes import FakeConversation, FakeNetwork

ALICE = "a1" * 32
BOB = "b0" * 32
OWNER = "0e" * 32


@dataclass
class RecordingAgent:
    name: str = "recording"
    turns: list[AgentTurn] = field(default_factory=list)
    answer: Callable[[AgentTurn], AgentReply] = lambda turn: AgentReply(text=f"echo: {turn.text}")
    delay: float = 0.0

    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer(turn)

    async def aclose(self) -> None:
        pass


@dataclass
class Rig:
    root: Path
    net: FakeNetwork
    store: IdentityStore
    pairing: PairingStore
    owner_identity: StoredIdentity
    me: str  # the gateway's inbox in the owner conversation
    owner_room: FakeConversation
    agent: RecordingAgent = field(default_factory=RecordingAgent)
    gateway: Gateway | None = None

    def identity(self, *members: str, dm: bool = False) -> tuple[str, FakeConversation]:
        """A new identity of the gateway in a new conversation with ``members``."""
        stored = self.store.create(role="member")
        inbox = self.net.inbox_of(self.store.xmtp_identity(stored))
        room = self.net.group(inbox, *members, dm=dm)
        self.store.update(stored, conversation_id=room.id)
        return inbox, room

    async def start(self, *, agent: object | None = None, **settings: object) -> Gateway:
        options: dict[str, object] = {
            "endpoint": Endpoint("http://127.0.0.1:1"),
            "owner_conversation_id": self.owner_room.id,
            "serve_joins": False,
            "owner_notice_interval": 0.0,
            "typing_delay": 5.0,
        }
        options.update(settings)
        gateway = Gateway(
            GatewaySettings(**options),  # type: ignore[arg-type]
            agent or self.agent,  # type: ignore[arg-type]
            self.store,
            GatewayState.open(self.root / "state.sqlite"),
            self.pairing,
            factory=self.net,
        )
        await gateway.start()
        self.gateway = gateway
        return gateway

    async def restart(self, **settings: object) -> Gateway:
        assert self.gateway is not None
        await self.gateway.stop()
        return await self.start(**settings)

    async def say(self, room: FakeConversation, sender: str, item: out.Outbound | str) -> str:
        message_id = await room.publish_as(sender, out.Text(item) if isinstance(item, str) else item)
        await self.settle()
        return message_id

    async def settle(self) -> None:
        """Until every stream is read and every queued message handled."""
        assert self.gateway is not None
        for _ in range(3):
            for _tick in range(1000):
                if all(s.queue.empty() for c in self.net.clients.values() for s in c.streams):
                    break
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.001)
            await self.gateway.idle(timeout=5)

    def texts(self, room: FakeConversation, sender: str | None = None) -> list[str]:
        return [_text(item) for item in self.net.sent_to(room.id, sender or None) if _text(item) is not None]  # type: ignore[misc]


def _text(item: out.Outbound) -> str | None:
    if isinstance(item, out.Text | out.Reply):
        return item.text
    return None


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    net = FakeNetwork()
    store = IdentityStore(tmp_path / "identities", tmp_path / "xmtp")
    owner_identity = store.create(role="owner")
    me = net.inbox_of(store.xmtp_identity(owner_identity))
    owner_room = net.group(me, OWNER)
    owner_identity = store.update(owner_identity, conversation_id=owner_room.id)
    state = GatewayState.open(tmp_path / "state.sqlite")
    await state.add_owner(OWNER)
    state.close()
    r = Rig(tmp_path, net, store, PairingStore(tmp_path / "credentials"), owner_identity, me, owner_room)
    try:
        yield r
    finally:
        if r.gateway is not None:
            await r.gateway.stop()


# ---------------------------------------------------------------------------- the agent's view


async def test_the_agent_gets_the_senders_inbox_id_and_name(rig: Rig) -> None:
    me, room = rig.identity(ALICE, BOB)
    await rig.start(dm_policy="open")
    await rig.say(room, ALICE, out.ProfileUpdate("Alexandra Wonderland", agent=False))
    await rig.say(room, ALICE, "hello")
    await rig.say(room, BOB, "hi all")
    first, second = rig.agent.turns
    assert (first.sender_inbox_id, first.sender_name) == (ALICE, "Alexandra Wonderland")
    assert (second.sender_inbox_id, second.sender_name) == (BOB, None)
    user_items = [h for h in second.history if h.role == "user"]
    assert [(h.sender_inbox_id, h.sender_name) for h in user_items] == [(ALICE, "Alexandra Wonderland")]
    assert render_history_text(user_items[0], is_group=True) == "Alexandra Wonderland: hello"
    assert [h.text for h in second.history if h.role == "assistant"] == ["echo: hello"]
    assert me  # the identity answered in its own conversation
    assert rig.texts(room, me) == ["echo: hello", "echo: hi all"]


async def test_the_command_backend_gets_inbox_id_and_name_in_its_json(rig: Rig, tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        "import json, sys\n"
        "turn = json.load(sys.stdin)\n"
        "h = [[i['role'], i.get('senderInboxId'), i.get('senderName')] for i in turn['history']]\n"
        "print(json.dumps({'text': json.dumps([turn['senderInboxId'], turn['senderName'], h])}))\n"
    )
    me, room = rig.identity(ALICE, BOB)
    await rig.start(agent=CommandAgent([sys.executable, str(script)]), dm_policy="open")
    await rig.say(room, ALICE, out.ProfileUpdate("Alexandra Wonderland", agent=False))
    await rig.say(room, ALICE, "one")
    await rig.say(room, ALICE, "two")
    answers = [json.loads(t) for t in rig.texts(room, me)]
    assert answers[0] == [ALICE, "Alexandra Wonderland", []]
    assert answers[1][:2] == [ALICE, "Alexandra Wonderland"]
    assert answers[1][2][0] == ["user", ALICE, "Alexandra Wonderland"]


async def test_the_openai_backend_labels_history_with_display_names(rig: Rig) -> None:
    async with ChatServer() as server:
        server.replies = [Reply(body=completion("first")), Reply(body=completion("second"))]
        agent = OpenAICompatibleAgent(base_url=server.base_url, model="m", api_key="k")
        _me, room = rig.identity(ALICE, BOB)
        await rig.start(agent=agent, dm_policy="open")
        await rig.say(room, ALICE, out.ProfileUpdate("Alexandra Wonderland", agent=False))
        await rig.say(room, ALICE, "hello")
        await rig.say(room, BOB, "and me")
        messages = server.requests[-1].json()["messages"]
        contents = [m["content"] for m in messages if m["role"] == "user"]
        assert "Alexandra Wonderland: hello" in contents
        assert not any("Alexandra Wo:" in c and "Wonderland" not in c for c in contents)
        assert any(c.startswith(BOB[:12]) for c in contents)  # no name: the inbox id's start


# ---------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("policy", "allow_from", "answered"),
    [
        ("open", (), True),
        ("open", (BOB,), False),
        ("allowlist", (), False),
        ("allowlist", (ALICE,), True),
        ("disabled", (ALICE,), False),
        ("pairing", (ALICE,), True),
        ("pairing", ("*",), True),
    ],
)
async def test_access_outcomes(
    rig: Rig, policy: DmPolicy, allow_from: tuple[str, ...], answered: bool
) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy=policy, allow_from=allow_from)
    await rig.say(room, ALICE, "hello")
    assert (rig.texts(room, me) == ["echo: hello"]) is answered
    if not answered:
        assert rig.texts(room, me) == [] and rig.agent.turns == []
        assert (await rig.gateway.state.counts()) == {"ignored": 1}  # type: ignore[union-attr]


async def test_the_owner_is_admitted_everywhere_without_reading_the_pairing_store(rig: Rig) -> None:
    me, room = rig.identity(OWNER)
    (rig.root / "credentials").mkdir(mode=0o700)
    store = rig.root / "credentials" / "convos-allowFrom.json"
    await rig.start(dm_policy="disabled")
    store.write_text("not json")  # unreadable: the owner never needs it
    await rig.say(room, OWNER, "hello")
    await rig.say(rig.owner_room, OWNER, "and here")
    assert rig.texts(room, me) == ["echo: hello"]
    assert rig.texts(rig.owner_room, rig.me) == ["echo: and here"]


async def test_a_stranger_gets_one_code_and_the_owner_one_notice(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="pairing")
    await rig.say(room, ALICE, "hello")
    await rig.say(room, ALICE, "hello again")
    [code_text] = rig.texts(room, me)
    code = code_text.split("Pairing code: ")[1].split()[0]
    [notice] = rig.texts(rig.owner_room, rig.me)
    assert code in notice and "approve" in notice
    assert rig.agent.turns == []
    await rig.say(rig.owner_room, OWNER, f"approve {code}")
    assert rig.texts(rig.owner_room, rig.me)[-1].startswith("Approved")
    assert "paired successfully" in rig.texts(room, me)[-1]
    await rig.say(room, ALICE, "now?")
    assert rig.texts(room, me)[-1] == "echo: now?"


async def test_reactions_reach_the_agent_only_on_our_messages(rig: Rig) -> None:
    me, room = rig.identity(ALICE, BOB)
    await rig.start(dm_policy="open")
    mine = await rig.say(room, ALICE, "hello")
    ours = next(m.id for m in room.messages_ if m.sender_inbox_id == me)
    await rig.say(room, BOB, out.Reaction(mine, ALICE, "👍"))  # on Alice's message: not for us
    await rig.say(room, ALICE, out.Reaction(ours, me, "❤️"))
    assert [t.reaction for t in rig.agent.turns] == [None, "❤️"]


async def test_reaction_level_extensive_hands_every_reaction_to_the_agent(rig: Rig) -> None:
    me, room = rig.identity(ALICE, BOB)
    await rig.start(dm_policy="open", reaction_level="extensive")
    mine = await rig.say(room, ALICE, "hello")
    ours = next(m.id for m in room.messages_ if m.sender_inbox_id == me)
    await rig.say(room, BOB, out.Reaction(mine, ALICE, "👍"))  # on Alice's message: a turn too
    await rig.say(room, ALICE, out.Reaction(ours, me, "❤️", added=False))  # a removal: said in words
    turns = [(t.reaction, t.text) for t in rig.agent.turns[1:]]
    assert turns == [("👍", ""), (None, "[removed the reaction ❤️]")]
    assert rig.agent.turns[1].reaction_guidance == "extensive"


# ---------------------------------------------------------------------------- the outbox


def _fail_once(room: FakeConversation, when: Callable[[out.Outbound], bool]) -> None:
    room.fail_sends, room.fail_when = 1, when


def _is_text(part: str) -> Callable[[out.Outbound], bool]:
    return lambda item: part in (_text(item) or "")


async def test_a_pairing_code_survives_a_failed_send(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="pairing")
    _fail_once(room, _is_text("Pairing code"))
    await rig.say(room, ALICE, "hello")
    assert room.fail_sends == 0  # it did fail once
    assert [t for t in rig.texts(room, me) if "Pairing code" in t].__len__() == 1
    assert len(rig.texts(rig.owner_room, rig.me)) == 1


async def test_an_owner_notice_survives_a_failed_send(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="pairing")
    _fail_once(rig.owner_room, _is_text("Pairing request"))
    await rig.say(room, ALICE, "hello")
    assert rig.owner_room.fail_sends == 0
    assert len(rig.texts(room, me)) == 1  # the code went out once, before the failed notice
    assert len(rig.texts(rig.owner_room, rig.me)) == 1


async def test_an_approval_announcement_survives_a_failed_send(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="pairing")
    await rig.say(room, ALICE, "hello")
    code = rig.texts(room, me)[0].split("Pairing code: ")[1].split()[0]
    _fail_once(room, _is_text("paired successfully"))
    await rig.say(rig.owner_room, OWNER, f"approve {code}")
    assert room.fail_sends == 0
    assert [t for t in rig.texts(room, me) if "paired successfully" in t].__len__() == 1
    assert [t for t in rig.texts(rig.owner_room, rig.me) if t.startswith("Approved")].__len__() == 1


async def test_an_answer_survives_a_failed_send_and_the_agent_is_asked_once(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="open", text_chunk_limit=10)
    _fail_once(room, _is_text("two"))
    await rig.say(room, ALICE, "one two")
    assert room.fail_sends == 0
    assert "".join(rig.texts(room, me)).replace(" ", "") == "echo:onetwo"
    assert len(rig.agent.turns) == 1


async def test_every_send_is_recorded_before_it_goes_out(rig: Rig) -> None:
    """A crash between the decision and the sends: the restart sends, without a second turn."""
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open")
    room.fail_sends = 10**6  # the node is gone for this conversation until the restart
    await room.publish_as(ALICE, out.Text("hello"))
    for _ in range(100):
        record = await gateway.state.get(room.messages_[-1].id)
        if record is not None:
            break
        await asyncio.sleep(0.01)
    assert record is not None and record.state is RecordState.REPLYING
    room.fail_sends = 0
    await rig.restart(dm_policy="open")
    await rig.settle()
    assert rig.texts(room, me) == ["echo: hello"]
    assert len(rig.agent.turns) == 1


async def test_resume_sends_only_what_is_missing(rig: Rig) -> None:
    """Crash after the first of two chunks: the restart sends the second only."""
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="open", text_chunk_limit=12)
    room.fail_sends = 10**6  # every send after the first fails until the restart
    sends = 0

    def second_chunk_fails(item: out.Outbound) -> bool:
        nonlocal sends
        sends += 1
        return sends > 1

    room.fail_when = second_chunk_fails
    await room.publish_as(ALICE, out.Text("alpha bravo"))
    for _ in range(200):
        if rig.texts(room, me):
            break
        await asyncio.sleep(0.01)
    assert rig.texts(room, me) == ["echo: alpha"]
    room.fail_sends, room.fail_when = 0, None
    await rig.restart(dm_policy="open", text_chunk_limit=12)
    await rig.settle()
    assert rig.texts(room, me) == ["echo: alpha", "bravo"]
    assert len(rig.agent.turns) == 1


async def test_a_finished_message_is_never_answered_again(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="open")
    await rig.say(room, ALICE, "hello")
    await rig.restart(dm_policy="open")
    await rig.settle()
    gateway = rig.gateway
    assert gateway is not None
    host = gateway.host_for_conversation(room.id)
    assert host is not None
    event = normalize(room.messages_[0], host.stored.id, False)  # as a catch-up would deliver it again
    assert event is not None
    await gateway.handle(event)
    assert rig.texts(room, me) == ["echo: hello"]
    assert len(rig.agent.turns) == 1


# ---------------------------------------------------------------------------- the local store


async def test_handled_messages_beyond_keep_messages_leave_the_local_store(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open", keep_messages=4, read_receipts=False)
    for i in range(6):
        await rig.say(room, ALICE, f"m{i}")
    stored = [m.id for m in room.messages_]
    assert len(stored) == 13  # the profile, six messages and six answers
    assert await gateway.forget_old_messages() == 9
    assert rig.net.forgotten[me] == set(stored[:9])
    assert rig.net.forgotten.keys() == {me}  # the members' copies stay
    assert await gateway.forget_old_messages() == 0
    # The agent's history is the gateway's own: it still starts at the first message.
    await rig.say(room, ALICE, "m6")
    assert [h.text for h in rig.agent.turns[-1].history][:2] == ["m0", "echo: m0"]
    # A reply quoting a forgotten message is answered, without the quoted text.
    await rig.say(room, ALICE, out.Reply(stored[12], me, "and this?"))
    await rig.say(room, ALICE, out.Reply(stored[1], ALICE, "and that?"))
    quoting_kept, quoting_forgotten = rig.agent.turns[-2:]
    assert quoting_kept.reply_to_text == "echo: m5"
    assert (quoting_forgotten.text, quoting_forgotten.reply_to_text) == ("and that?", None)
    await rig.restart(dm_policy="open", keep_messages=4, read_receipts=False)
    await rig.settle()
    assert len(rig.agent.turns) == 9  # nothing answered twice


def test_by_default_the_newest_1000_messages_stay_and_forgetting_runs_every_ten_minutes() -> None:
    settings = GatewaySettings(endpoint=Endpoint("http://127.0.0.1:1"))
    assert (settings.keep_messages, settings.forget_interval) == (1000, 600.0)


async def test_a_message_being_answered_is_never_forgotten(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open", keep_messages=0, read_receipts=False)
    await rig.say(room, ALICE, "first")
    room.fail_sends = 10**6  # its answer cannot go out until the restart
    hello = await room.publish_as(ALICE, out.Text("hello"))
    for _ in range(200):
        record = await gateway.state.get(hello)
        if record is not None and record.state is RecordState.REPLYING:
            break
        await asyncio.sleep(0.01)
    await room.publish_as(ALICE, out.Text("later"))
    await asyncio.sleep(0.05)
    assert await gateway.forget_old_messages() == 3  # the profile, "first" and its answer
    assert hello not in rig.net.forgotten[me]
    room.fail_sends = 0
    await rig.restart(dm_policy="open", keep_messages=0, read_receipts=False)
    await rig.settle()
    assert rig.texts(room, me) == ["echo: first", "echo: hello", "echo: later"]


async def test_the_gateway_forgets_in_the_background(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="open", keep_messages=1, forget_interval=0.01, read_receipts=False)
    for i in range(3):
        await rig.say(room, ALICE, f"m{i}")
    for _ in range(500):
        if len(rig.net.forgotten.get(me, ())) == 5:
            break
        await asyncio.sleep(0.01)
    assert rig.net.forgotten[me] == {m.id for m in room.messages_[:5]}


async def test_keep_messages_none_keeps_everything(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open", keep_messages=None, forget_interval=0.01)
    for i in range(3):
        await rig.say(room, ALICE, f"m{i}")
    await asyncio.sleep(0.05)
    assert await gateway.forget_old_messages() == 0
    assert me not in rig.net.forgotten
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "convos:forget"]


# ---------------------------------------------------------------------------- order and cost


async def test_a_conversation_is_answered_in_order_and_conversations_side_by_side(rig: Rig) -> None:
    me_a, room_a = rig.identity(ALICE)
    me_b, room_b = rig.identity(BOB)
    rig.agent.delay = 0.05
    await rig.start(dm_policy="open")
    started = asyncio.get_running_loop().time()
    for i in range(5):
        await room_a.publish_as(ALICE, out.Text(f"a{i}"))
        await room_b.publish_as(BOB, out.Text(f"b{i}"))
    await rig.settle()
    elapsed = asyncio.get_running_loop().time() - started
    assert rig.texts(room_a, me_a) == [f"echo: a{i}" for i in range(5)]
    assert rig.texts(room_b, me_b) == [f"echo: b{i}" for i in range(5)]
    assert elapsed < 10 * 0.05  # the two conversations overlapped


async def test_quoting_is_decided_without_reading_the_conversation_each_time(rig: Rig) -> None:
    me, room = rig.identity(ALICE, BOB)
    await rig.start(dm_policy="open")
    for i in range(5):
        await rig.say(room, ALICE, f"m{i}")
    sent = rig.net.sent_to(room.id, me)
    assert all(isinstance(item, out.Reply) for item in sent)  # a group of three: answers quote
    assert rig.net.reads <= 1  # the member count, once


async def test_a_dm_answer_does_not_quote(rig: Rig) -> None:
    me, room = rig.identity(ALICE, dm=True)
    await rig.start(dm_policy="open")
    await rig.say(room, ALICE, "hi")
    assert rig.net.sent_to(room.id, me) == [out.Text("echo: hi")]


async def test_an_agent_failure_is_an_apology_not_a_crash(rig: Rig) -> None:
    def boom(turn: AgentTurn) -> AgentReply:
        raise RuntimeError("model down")

    rig.agent.answer = boom
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open")
    await rig.say(room, ALICE, "hi")
    assert rig.texts(room, me) == [APOLOGY]
    assert gateway.turns_failed == 1


async def test_a_failed_start_closes_what_it_opened(rig: Rig) -> None:
    rig.identity(ALICE)

    class Broken(Exception):
        pass

    original = rig.net.stream

    def stream(client: object, **kw: object) -> object:
        if len(rig.net.clients) > 1:
            raise Broken("stream refused")
        return original(client, **kw)  # type: ignore[arg-type]

    rig.net.stream = stream  # type: ignore[method-assign]
    with pytest.raises(Broken):
        await rig.start()
    assert all(client.closed for client in rig.net.clients.values())
    rig.gateway = None


async def test_a_crash_between_the_pairing_request_and_its_record_still_sends_the_code(rig: Rig) -> None:
    """The pairing store and the state database are two stores: the request is written first.
    If the decision is not recorded (a crash, a failed write), the next attempt finds the
    request made for this very message and sends its code, once."""
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="pairing")
    original = gateway.state.commit
    calls = 0

    async def commit_fails_once(plan: Plan) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StateError("disk I/O error (simulated)")
        await original(plan)

    gateway.state.commit = commit_fails_once  # type: ignore[method-assign]
    await rig.say(room, ALICE, "hello")
    assert rig.texts(room, me) == [] and len(await rig.pairing.list_pending()) == 1
    gateway.state.commit = original  # type: ignore[method-assign]
    await rig.restart(dm_policy="pairing")  # the catch-up reads the message again
    await rig.settle()
    codes = [t for t in rig.texts(room, me) if "Pairing code" in t]
    assert len(codes) == 1
    assert len(rig.texts(rig.owner_room, rig.me)) == 1
    [pending] = await rig.pairing.list_pending()
    assert pending.code in codes[0]


async def test_a_restart_catches_up_from_the_cursor_not_from_the_owner_history(rig: Rig) -> None:
    # the owner identity's DM with the invite's creator holds only our own join request
    dm = rig.net.group(rig.me, OWNER, dm=True)
    await dm.publish_as(rig.me, out.Text("join request"))
    await rig.start()
    for n in range(20):
        await rig.say(rig.owner_room, OWNER, f"message {n}")
    assert len(rig.agent.turns) == 20
    newest = rig.owner_room.messages_[-1].sent_at_ns
    await rig.restart()
    (stream,) = [s for s in rig.net.clients[rig.me].streams if s.state == "connected"]
    # the catch-up starts at the owner conversation's cursor: nothing of the history is re-read
    last_from_owner = [m for m in rig.owner_room.messages_ if m.sender_inbox_id == OWNER][-1]
    assert stream._since >= last_from_owner.sent_at_ns and stream.queue.empty()
    assert stream._since <= newest
    assert len(rig.agent.turns) == 20

    # a message from someone else in a conversation without a cursor still counts
    await dm.publish_as(OWNER, out.Text("hello in the DM"))
    await rig.restart()
    await rig.settle()
    assert "hello in the DM" in [t.text for t in rig.agent.turns]


async def test_resume_sends_again_what_it_cannot_recognise(rig: Rig) -> None:
    """A send with nothing to recognise it by (a read receipt) is never taken for an earlier message."""
    from openclaw_convos.gateway.outbox import Outbox, Route, planned

    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open")
    await rig.say(room, ALICE, "hello")  # leaves our answer (and any receipt) in the conversation
    before = len(rig.net.sent)
    host = gateway.host_for_conversation(room.id)
    assert host is not None
    conversation = host.client.conversation(room.id)
    assert conversation is not None
    outbox = Outbox(gateway.state, lambda _cid: Route(conversation, me))
    sends = [planned(room.id, out.ReadReceipt()), planned(room.id, out.Text("echo: hello"))]
    present = await outbox._present(sends, 0)
    assert present == {1}  # the text is there; the receipt cannot be told apart: it goes again
    assert len(rig.net.sent) == before


async def test_one_read_receipt_covers_a_burst_of_answers(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="open", read_receipt_delay=0.2, read_receipt_interval=0.6)
    receipts = lambda: [s for s in rig.net.sent if s.sender == me and isinstance(s.item, out.ReadReceipt)]  # noqa: E731
    for i in range(3):
        await rig.say(room, ALICE, f"m{i}")
    assert rig.texts(room, me) == ["echo: m0", "echo: m1", "echo: m2"]
    assert receipts() == []  # not yet: it follows the first answer by read_receipt_delay
    await asyncio.sleep(0.3)
    assert len(receipts()) == 1  # one receipt marks all three read
    await rig.say(room, ALICE, "later")
    await asyncio.sleep(0.2)
    assert len(receipts()) == 1  # at most one per read_receipt_interval...
    await asyncio.sleep(0.5)
    assert len(receipts()) == 2  # ...then the next one covers "later"
    assert rig.net.sent[-1].item == out.ReadReceipt()  # after the answer it covers


async def test_no_read_receipt_when_they_are_off_or_nothing_was_answered(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="allowlist", read_receipt_delay=0.05)
    await rig.say(room, ALICE, "ignored")  # not admitted: not answered, no receipt
    await asyncio.sleep(0.2)
    assert not [s for s in rig.net.sent if s.sender == me and isinstance(s.item, out.ReadReceipt)]
    await rig.restart(dm_policy="open", read_receipts=False, read_receipt_delay=0.05)
    await rig.say(room, ALICE, "answered")
    await asyncio.sleep(0.2)
    assert rig.texts(room, me) == ["echo: answered"]
    assert not [s for s in rig.net.sent if s.sender == me and isinstance(s.item, out.ReadReceipt)]
