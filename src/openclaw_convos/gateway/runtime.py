"""The channel runtime: every identity streams, every message goes inbound -> policy -> agent -> outbound.

One :class:`Gateway` owns the whole lifecycle (``async with gateway:`` then
``await gateway.run_until_stopped(stop)``). Each identity (one per conversation) has a
:class:`~openclaw_convos.xmtp.MessageStream`; messages are normalised into
:class:`~.events.Inbound` events and queued per conversation, so a conversation's messages are
handled in order while different conversations run side by side, at most
``max_concurrent_turns`` agent turns at a time, each with a time limit.

Exactly once: an event is recorded (``received``) before anything else; the agent's answer is
stored (``replying``) before it is sent; chunks are counted as they go; ``done`` ends it. After a
crash the stream catches up from the stored cursor, finished messages are skipped, and a
half-sent answer is completed from the stored text after checking which chunks are already in
the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..agents import Agent, AgentReply, AgentTurn, HistoryItem
from ..convos.invites import parse_invite
from ..errors import ConvosError, TransportError
from ..joinflow.creator import Creator, JoinRequestMessage
from ..joinflow.joiner import JoinStatus, wait_for_join
from ..retry import Backoff, retry
from ..xmtp import (
    BackendPool,
    Endpoint,
    MessageKind,
    MessageStream,
    XmtpClient,
    XmtpConversation,
    XmtpMessage,
)
from ..xmtp import content as xc
from . import wire
from .access import Action, DmPolicy, decide
from .chunking import chunk_text
from .events import EventKind, Inbound
from .identities import IdentityStore, StoredIdentity
from .pairing import PairingStore, build_approval_notice, build_pairing_reply
from .state import GatewayState

log = logging.getLogger("openclaw_convos.gateway")

SWEEP_SECONDS = 300.0
"""How often each creator identity sweeps its DMs for join requests (the live stream does the rest)."""
HEARTBEAT_SECONDS = 5.0
"""How often a running gateway records that it is alive (``status`` reads it)."""
APOLOGY = "Sorry, I could not answer that just now. Please try again in a moment."
_APPROVE = re.compile(r"^\s*/?approve\s+([A-Za-z0-9]{6,12})\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """What the runtime needs from the configuration."""

    endpoint: Endpoint
    dm_policy: DmPolicy = "pairing"
    allow_from: tuple[str, ...] = ()
    owner_conversation_id: str | None = None
    """None: the conversation of the identity whose role is "owner"."""
    text_chunk_limit: int = 4000
    display_name: str = "OpenClaw"
    turn_timeout: float = 120.0
    max_concurrent_turns: int = 8
    history_limit: int = 20
    typing_indicator: bool = True
    typing_delay: float = 0.4
    """The typing indicator goes out only when the agent takes longer than this (seconds): a fast
    answer then costs one message instead of three (indicator on, answer, indicator off)."""
    owner_notice_interval: float = 10.0
    """At most one pairing notice to the owner per this many seconds (the rest are summarised)."""


@dataclass
class Host:
    """One identity at run time."""

    stored: StoredIdentity
    client: XmtpClient
    stream: MessageStream
    consumer: asyncio.Task[None] | None = None
    sweeper: asyncio.Task[None] | None = None
    creator: Creator | None = None


@dataclass
class _ConversationLane:
    queue: asyncio.Queue[Inbound | None] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


class Gateway:
    """The Convos channel runtime for one state folder."""

    def __init__(
        self,
        settings: GatewaySettings,
        agent: Agent,
        identities: IdentityStore,
        state: GatewayState,
        pairing: PairingStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.agent = agent
        self.identities = identities
        self.state = state
        self.pairing = pairing
        self.pool = BackendPool(settings.endpoint)
        self._clock = clock
        self.hosts: dict[str, Host] = {}
        self.problems: dict[str, str] = {}
        self._lanes: dict[str, _ConversationLane] = {}
        self._turns = asyncio.Semaphore(settings.max_concurrent_turns)
        self._owners: set[str] = set()
        self.owner_conversation_id: str | None = settings.owner_conversation_id
        self._join_tasks: dict[str, asyncio.Task[None]] = {}
        self._health_changed = asyncio.Event()
        self._heartbeat_task: asyncio.Task[None] | None = None
        self.allow_new_installation: set[str] = set()
        """Identities whose first open may add an installation (a ``privateKey`` from the config)."""
        self._admitted_joiners: list[tuple[str, str, str]] = []
        self._last_owner_notice = 0.0
        self._suppressed_notices = 0
        self._started = False
        self._stopping = False
        self.turns_started = 0
        self.turns_failed = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open every identity, start their streams, and finish work a crash left behind."""
        if self._started:
            return
        self._started = True
        activity = await self.state.activity()
        owners = activity.get("owners")
        if owners:
            self._owners = set(json.loads(owners))
        stored, broken = self.identities.load_all()
        for identity_id, error in broken.items():
            # The file cannot tell its conversation; the last run recorded it (see add_identity).
            conversation_id = activity.get(f"identity:{identity_id}", "unknown")
            log.error("identity %s (conversation %s) did not open: %s", identity_id, conversation_id, error)
            self.problems[identity_id] = f"conversation {conversation_id}: {error}"
        limit = asyncio.Semaphore(16)

        async def open_one(item: StoredIdentity) -> None:
            async with limit:
                try:
                    await self.add_identity(
                        item, allow_new_installation=item.id in self.allow_new_installation
                    )
                except ConvosError as exc:
                    log.error(
                        "identity %s (conversation %s) did not open: %s", item.id, item.conversation_id, exc
                    )
                    self.problems[item.id] = f"conversation {item.conversation_id or '(pending)'}: {exc}"

        await asyncio.gather(*(open_one(item) for item in stored))
        for record in await self.state.unfinished():
            host = self._host_for_conversation(record.conversation_id)
            if host is None:
                continue
            message = host.client.message(record.message_id)
            if message is not None:
                event = wire.normalize(message, host.stored.id, self._is_dm(host, message.conversation_id))
                if event is not None:
                    self._enqueue(event)
        await self.state.set_activity("started_at", _iso(self._clock()))
        self._heartbeat_task = asyncio.create_task(self._heartbeat(), name="convos:heartbeat")

    async def add_identity(self, stored: StoredIdentity, *, allow_new_installation: bool = False) -> Host:
        """Open an identity's client and start streaming it (used at start and after a join)."""
        client = await XmtpClient.open(
            self.identities.xmtp_identity(stored),
            self.pool,
            allow_offline=True,
            allow_new_installation=allow_new_installation,
        )
        if stored.inbox_id != client.inbox_id:
            stored = self.identities.update(stored, inbox_id=client.inbox_id)
        since = await self._cursor_for(stored, client)
        stream = MessageStream(
            client, name=stored.id, since_ns=since, on_state=lambda _state: self._health_changed.set()
        )
        host = Host(stored, client, stream)
        await stream.start()
        host.consumer = asyncio.create_task(self._consume(host), name=f"convos:consume:{stored.id}")
        if stored.role in ("owner", "creator"):
            host.sweeper = asyncio.create_task(
                self._sweep_join_requests(host), name=f"convos:sweep:{stored.id}"
            )
        self.hosts[stored.id] = host
        self.problems.pop(stored.id, None)
        if stored.conversation_id:
            await self.state.set_activity(f"identity:{stored.id}", stored.conversation_id)
            await self._ensure_profile(host, stored.conversation_id)
        elif stored.invite_slug:
            self._join_tasks[stored.id] = asyncio.create_task(
                self._finish_join(host), name=f"convos:join:{stored.id}"
            )
        return host

    async def _finish_join(self, host: Host) -> None:
        """Wait for a join that was still pending when ``configure`` returned."""
        assert host.stored.invite_slug is not None
        try:
            invite = parse_invite(host.stored.invite_slug)
            while not self._stopping:
                result = await wait_for_join(
                    host.client, invite, timeout=600.0, poll=2.0, profile_name=self.settings.display_name
                )
                if result.status is JoinStatus.PENDING:
                    continue
                if result.status is JoinStatus.REFUSED:
                    self.problems[host.stored.id] = result.message
                    log.error("join of identity %s refused: %s", host.stored.id, result.message)
                    return
                assert result.conversation_id is not None
                host.stored = self.identities.update(
                    host.stored, conversation_id=result.conversation_id, invite_slug=None
                )
                if host.stored.role == "owner" and self.owner_conversation_id is None:
                    self.owner_conversation_id = result.conversation_id
                await self.state.set_activity(f"identity:{host.stored.id}", result.conversation_id)
                await self.state.set_activity(f"profile:{result.conversation_id}", self.settings.display_name)
                log.info("joined conversation %s (identity %s)", result.conversation_id, host.stored.id)
                return
        except asyncio.CancelledError:
            raise
        except ConvosError as exc:
            self.problems[host.stored.id] = f"pending join: {exc}"
            log.error("pending join of identity %s failed: %s", host.stored.id, exc)

    async def _cursor_for(self, stored: StoredIdentity, client: XmtpClient) -> int:
        """Where catch-up starts: the oldest per-conversation cursor of this identity.

        A conversation without a cursor has had nothing handled yet, so everything since the
        identity was made counts. Re-read messages that were handled are skipped by their record.
        """
        created = int(stored.created_at * 1e9)
        ids = {c.id for c in await client.list_conversations()}
        if stored.conversation_id:
            ids.add(stored.conversation_id)
        cursors = [await self.state.cursor(conversation_id) for conversation_id in ids]
        if not cursors or any(cursor is None for cursor in cursors):
            return created
        return min(cursor for cursor in cursors if cursor is not None)

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop streams, let running turns finish (up to ``drain_timeout``), close everything."""
        if self._stopping:
            return
        self._stopping = True
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
        for task in self._join_tasks.values():
            task.cancel()
        for host in self.hosts.values():
            if host.sweeper is not None:
                host.sweeper.cancel()
            await host.stream.close()
            if host.consumer is not None:
                host.consumer.cancel()
        for lane in self._lanes.values():
            lane.queue.put_nowait(None)
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        if workers:
            _done, pending = await asyncio.wait(workers, timeout=drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        consumers = [t for h in self.hosts.values() for t in (h.consumer, h.sweeper) if t is not None]
        consumers += list(self._join_tasks.values())
        if consumers:
            await asyncio.wait(consumers)
        with contextlib.suppress(Exception):
            await self.agent.aclose()
        for host in self.hosts.values():
            host.client.close()
        self.state.close()

    # ------------------------------------------------------------------ owners

    def is_owner(self, inbox_id: str) -> bool:
        return inbox_id in self._owners

    async def add_owner(self, inbox_id: str) -> None:
        if inbox_id not in self._owners:
            self._owners.add(inbox_id)
            await self.state.set_activity("owners", json.dumps(sorted(self._owners)))

    # ------------------------------------------------------------------ inbound

    async def _consume(self, host: Host) -> None:
        try:
            async for message in host.stream:
                try:
                    self._dispatch(host, message)
                except Exception:
                    log.exception("could not dispatch message %s in %s", message.id, message.conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the message stream of %s ended", host.stored.id)

    def _is_dm(self, host: Host, conversation_id: str) -> bool:
        conversation = host.client.conversation(conversation_id)
        return conversation is not None and conversation.dm_peer_inbox_id is not None

    def _dispatch(self, host: Host, message: XmtpMessage) -> None:
        if message.kind is MessageKind.MEMBERSHIP_CHANGE or message.sender_inbox_id == host.client.inbox_id:
            return
        event = wire.normalize(message, host.stored.id, self._is_dm(host, message.conversation_id))
        if event is None or event.kind is EventKind.IGNORED:
            return
        self._enqueue(event)

    def _enqueue(self, event: Inbound) -> None:
        lane = self._lanes.get(event.conversation_id)
        if lane is None:
            lane = self._lanes[event.conversation_id] = _ConversationLane()
        if lane.worker is None or lane.worker.done():
            lane.worker = asyncio.create_task(
                self._work(event.conversation_id, lane), name=f"convos:conversation:{event.conversation_id}"
            )
        lane.queue.put_nowait(event)

    async def _work(self, conversation_id: str, lane: _ConversationLane) -> None:
        while True:
            event = await lane.queue.get()
            if event is None:
                return
            try:
                # Node outages are waited out (sends fail while it is down); anything else is
                # logged and the record stays unfinished, to be retried on the next start.
                await retry(
                    lambda event=event: self.handle(event),  # type: ignore[misc]
                    is_transient=lambda exc: isinstance(exc, TransportError) and not self._stopping,
                    backoff=Backoff(initial=0.5, factor=2.0, maximum=10.0),
                    what=f"handling message {event.message_id}",
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                # A peer's message never crashes the gateway.
                log.exception("failed to handle message %s in %s", event.message_id, conversation_id)

    async def handle(self, event: Inbound) -> None:
        """Process one inbound event exactly once."""
        host = self.hosts.get(event.identity_id)
        if host is None:
            return
        conversation = host.client.conversation(event.conversation_id)
        if conversation is None:
            return
        if event.kind is EventKind.PROFILE:
            for inbox_id, name, image in event.profiles:
                await self.state.set_member_name(
                    event.conversation_id,
                    inbox_id,
                    name,
                    image,
                    event.sent_at_ns,
                    own=inbox_id == event.sender_inbox_id,
                )
            await self.state.advance_cursor(event.conversation_id, event.sent_at_ns)
            return
        if event.kind is EventKind.JOIN_REQUEST:
            await self._on_join_request(host, conversation, event)
            await self.state.advance_cursor(event.conversation_id, event.sent_at_ns)
            return
        record = await self.state.claim(
            event.message_id, event.conversation_id, event.sender_inbox_id, event.sent_at_ns
        )
        if record.state in ("done", "ignored"):
            return
        if record.state == "replying":
            await self._deliver(host, conversation, event, record.reply_text, record.reply_react, resume=True)
            await self.state.finish(event.message_id)
            return
        await self.state.set_activity("last_inbound_at", _iso(self._clock()))
        if event.kind is EventKind.REACTION:
            target = host.client.message(event.reaction_target_id or "")
            if target is None or target.sender_inbox_id != host.client.inbox_id or not event.reaction_added:
                await self.state.finish(event.message_id, "ignored")
                return
        if await self._owner_command(host, conversation, event):
            return
        if not await self._admitted(host, conversation, event):
            await self.state.finish(event.message_id, "ignored")
            return
        reply = await self._run_turn(host, conversation, event)
        await self.state.set_reply(event.message_id, reply.text, reply.react)
        await self._deliver(host, conversation, event, reply.text, reply.react, resume=False)
        if event.text:
            sender = await self.state.member_name(event.conversation_id, event.sender_inbox_id)
            await self.state.add_history(
                event.conversation_id, "user", sender or event.sender_inbox_id, _turn_text(event)
            )
        if reply.text:
            await self.state.add_history(event.conversation_id, "assistant", None, reply.text)
        await self.state.finish(event.message_id)
        await self.state.set_activity("last_reply_at", _iso(self._clock()))

    # ------------------------------------------------------------------ access and pairing

    async def _admitted(self, host: Host, conversation: XmtpConversation, event: Inbound) -> bool:
        sender = event.sender_inbox_id
        pending = await self.pairing.list_pending()
        decision = decide(
            self.settings.dm_policy,
            sender,
            is_owner=self.is_owner(sender),
            allow_from=self.settings.allow_from,
            paired=await self.pairing.read_allow_from(),
            pending=pending,
            now=datetime.fromtimestamp(self._clock(), UTC),
        )
        if decision.action is Action.ADMIT:
            return True
        if decision.action is Action.REQUEST_PAIRING:
            result = await self.pairing.upsert(
                sender, {"conversationId": event.conversation_id, "identityId": host.stored.id}
            )
            if result.created and result.code:
                await conversation.send(xc.encode_text(build_pairing_reply(sender, result.code)))
                await self._notify_owner(host, event, result.code)
        log.info("message %s from %s not admitted: %s", event.message_id, sender[:12], decision.reason.value)
        return False

    async def _notify_owner(self, host: Host, event: Inbound, code: str) -> None:
        owner_host = self._owner_host()
        if owner_host is None or self.owner_conversation_id is None:
            return
        now = self._clock()
        if now - self._last_owner_notice < self.settings.owner_notice_interval:
            self._suppressed_notices += 1
            return
        self._last_owner_notice = now
        name = await self.state.member_name(event.conversation_id, event.sender_inbox_id)
        who = f"{name} ({event.sender_inbox_id[:10]}…)" if name else event.sender_inbox_id
        extra = (
            f" ({self._suppressed_notices} more request(s) came in meanwhile)"
            if self._suppressed_notices
            else ""
        )
        self._suppressed_notices = 0
        text = (
            f"Pairing request from {who}: code {code}.{extra}\n"
            f"Reply `approve {code}` here to let them talk to me, or ignore it (it expires in 1 hour)."
        )
        conversation = owner_host.client.conversation(self.owner_conversation_id)
        if conversation is not None:
            await conversation.send(xc.encode_text(text))

    def _owner_host(self) -> Host | None:
        if self.owner_conversation_id is None:
            return None
        return self._host_for_conversation(self.owner_conversation_id)

    async def _owner_command(self, host: Host, conversation: XmtpConversation, event: Inbound) -> bool:
        """``approve CODE`` from the owner in the owner conversation; True when handled."""
        if (
            event.kind is not EventKind.TEXT
            or event.conversation_id != self.owner_conversation_id
            or not self.is_owner(event.sender_inbox_id)
        ):
            return False
        match = _APPROVE.match(event.text or "")
        if match is None:
            return False
        code = match.group(1).upper()
        approved = await self.pairing.approve(code)
        if approved is None:
            answer = f"No pending pairing request has the code {code} (codes expire after 1 hour)."
        else:
            answer = f"Approved {approved.id}. They can talk to me now."
            await self.announce_approval(approved.id, approved.request.meta)
        await self.state.set_reply(event.message_id, answer, None)
        await self._deliver(host, conversation, event, answer, None, resume=False)
        await self.state.finish(event.message_id)
        return True

    async def announce_approval(self, sender_inbox_id: str, meta: Any) -> bool:
        """Tell an approved sender, in the conversation they asked from; False when it is unknown."""
        conversation_id = meta.get("conversationId") if meta else None
        host = self._host_for_conversation(conversation_id) if conversation_id else None
        if host is None or conversation_id is None:
            return False
        conversation = host.client.conversation(conversation_id)
        if conversation is None:
            return False
        await conversation.send(xc.encode_text(build_approval_notice(sender_inbox_id)))
        return True

    # ------------------------------------------------------------------ agent and outbound

    async def _run_turn(self, host: Host, conversation: XmtpConversation, event: Inbound) -> AgentReply:
        history = await self.state.history(event.conversation_id, self.settings.history_limit)
        names: dict[str, str | None] = {}  # one lookup per sender, not one per history item
        for sender in {h.sender for h in history if h.sender}:
            names[sender] = await self.state.member_name(event.conversation_id, sender)
        items = [
            HistoryItem(
                role="assistant" if h.role == "assistant" else "user",
                text=h.text,
                sender_inbox_id=h.sender,
                sender_name=names.get(h.sender) if h.sender else None,
            )
            for h in history
        ]
        reply_to_text = None
        target_id = event.reply_to_id or event.reaction_target_id
        if target_id:
            target = host.client.message(target_id)
            decoded = xc.decode_standard(target.content) if target is not None else None
            if isinstance(decoded, xc.Text | xc.Reply):
                reply_to_text = decoded.text
        turn = AgentTurn(
            conversation_id=event.conversation_id,
            sender_inbox_id=event.sender_inbox_id,
            sender_name=await self.state.member_name(event.conversation_id, event.sender_inbox_id),
            text="" if event.kind is EventKind.REACTION else _turn_text(event),
            message_id=event.message_id,
            is_group=not event.is_dm,
            reply_to_text=reply_to_text,
            reaction=event.reaction,
            history=tuple(items),
        )
        self.turns_started += 1
        typing = self.settings.typing_indicator
        async with self._turns:
            typing_sent = asyncio.Event()
            typing_task = (
                asyncio.create_task(self._typing_soon(conversation, typing_sent)) if typing else None
            )
            try:
                return await asyncio.wait_for(self.agent.respond(turn), self.settings.turn_timeout)
            except TimeoutError:
                self.turns_failed += 1
                log.warning(
                    "agent %s timed out after %ss on %s",
                    self.agent.name,
                    self.settings.turn_timeout,
                    event.message_id,
                )
                return AgentReply(text=APOLOGY)
            except Exception as exc:
                self.turns_failed += 1
                log.warning("agent %s failed on %s: %s", self.agent.name, event.message_id, exc)
                return AgentReply(text=APOLOGY)
            finally:
                if typing_task is not None:
                    if not typing_sent.is_set():
                        typing_task.cancel()  # still waiting: nothing went out
                    with contextlib.suppress(asyncio.CancelledError):
                        await typing_task
                    if typing_sent.is_set():
                        await self._typing(conversation, False)

    async def _typing_soon(self, conversation: XmtpConversation, sending: asyncio.Event) -> None:
        """After ``typing_delay``, show the typing indicator (``sending`` is set before it goes out)."""
        await asyncio.sleep(self.settings.typing_delay)
        sending.set()
        await self._typing(conversation, True)

    async def _typing(self, conversation: XmtpConversation, active: bool) -> None:
        try:
            await conversation.send(wire.typing_indicator(active), push=False)
        except ConvosError as exc:
            log.debug("typing indicator not sent: %s", exc)

    async def _deliver(
        self,
        host: Host,
        conversation: XmtpConversation,
        event: Inbound,
        text: str | None,
        react: str | None,
        *,
        resume: bool,
    ) -> None:
        chunks = chunk_text(text, self.settings.text_chunk_limit) if text else []
        already = 0
        if resume and chunks:
            already = await self._chunks_present(host, conversation, event, chunks)
        as_reply = await self._reply_wanted(host, conversation, event)
        for index in range(already, len(chunks)):
            if index == 0 and as_reply:
                payload = xc.encode_reply(event.message_id, chunks[0], event.sender_inbox_id)
            else:
                payload = xc.encode_text(chunks[index])
            await conversation.send(payload)
            await self.state.chunk_sent(event.message_id, index + 1)
        if react and not (resume and await self._reaction_present(host, conversation, event, react)):
            await conversation.send(xc.encode_reaction(event.message_id, event.sender_inbox_id, react))

    async def _reply_wanted(self, host: Host, conversation: XmtpConversation, event: Inbound) -> bool:
        """Quote the triggering message in groups of more than two, or when someone spoke since."""
        if event.is_dm:
            return False
        newer = await conversation.messages(after_ns=event.sent_at_ns, limit=20, application_only=True)
        for message in newer:
            if message.id == event.message_id or message.sender_inbox_id == host.client.inbox_id:
                continue
            if message.content_type is not None and message.content_type.authority_id == "xmtp.org":
                return True
        members = await conversation.members()
        return len(members) > 2

    async def _our_messages_after(
        self, host: Host, conversation: XmtpConversation, event: Inbound
    ) -> list[XmtpMessage]:
        await conversation.sync()
        after = await conversation.messages(after_ns=event.sent_at_ns - 1, application_only=True)
        return [m for m in after if m.sender_inbox_id == host.client.inbox_id]

    async def _chunks_present(
        self, host: Host, conversation: XmtpConversation, event: Inbound, chunks: list[str]
    ) -> int:
        """How many of ``chunks`` (in order) we already sent for ``event``."""
        sent = []
        for message in await self._our_messages_after(host, conversation, event):
            decoded = xc.decode_standard(message.content)
            if isinstance(decoded, xc.Reply) and decoded.reference_id == event.message_id:
                sent.append(decoded.text or "")
            elif isinstance(decoded, xc.Text):
                sent.append(decoded.text)
        count = 0
        for text in sent:
            if count < len(chunks) and text == chunks[count]:
                count += 1
        return count

    async def _reaction_present(
        self, host: Host, conversation: XmtpConversation, event: Inbound, emoji: str
    ) -> bool:
        for message in await self._our_messages_after(host, conversation, event):
            decoded = xc.decode_standard(message.content)
            if (
                isinstance(decoded, xc.Reaction)
                and decoded.reference_id == event.message_id
                and decoded.emoji == emoji
            ):
                return True
        return False

    # ------------------------------------------------------------------ profiles and joins

    async def _ensure_profile(self, host: Host, conversation_id: str) -> None:
        """Announce our display name once per conversation (so Convos does not show "Somebody")."""
        key = f"profile:{conversation_id}"
        name = self.settings.display_name
        if await self.state.activity_value(key) == name:
            return
        conversation = host.client.conversation(conversation_id)
        if conversation is None:
            return
        try:
            await conversation.send(wire.profile_update(name), push=False)
        except ConvosError as exc:
            log.warning("could not set our name in %s: %s", conversation_id, exc)
            return
        await self.state.set_activity(key, name)

    def _creator(self, host: Host) -> Creator:
        if host.creator is None:

            def admitted(conversation_id: str, inbox_id: str) -> None:
                self._admitted_joiners.append((host.stored.id, conversation_id, inbox_id))

            host.creator = Creator(host.client, self.state, on_admit=admitted)
        return host.creator

    async def _after_admits(self) -> None:
        while self._admitted_joiners:
            identity_id, conversation_id, inbox_id = self._admitted_joiners.pop(0)
            host = self.hosts.get(identity_id)
            if host is not None:
                await self._on_member_admitted(host, conversation_id, inbox_id)
        await self.state.set_activity("last_join_at", _iso(self._clock()))

    async def _on_join_request(self, host: Host, conversation: XmtpConversation, event: Inbound) -> None:
        """A join request in a DM to one of our identities: the iOS creator's checks, then add."""
        if not event.is_dm or not event.join_slug:
            return
        creator = self._creator(host)
        message = host.client.message(event.message_id)
        if message is not None:
            outcome = await creator.handle(message)  # keeps a typed request's profile
        else:
            request = JoinRequestMessage(
                event.message_id, event.sender_inbox_id, event.sent_at_ns, event.join_slug
            )
            outcome = await creator.process(conversation, request)
        if outcome is not None and outcome.added:
            await self._after_admits()

    async def _sweep_join_requests(self, host: Host, interval: float = SWEEP_SECONDS) -> None:
        """Now and then, catch up on join requests a live stream can miss (a brand-new DM).

        The first sweep follows the stream's catch-up, which has just synced everything, so it
        does not sync again (that was two of the eight node requests per identity at start-up).
        """
        just_synced = True
        while not self._stopping:
            sync, just_synced = not just_synced, False
            try:
                outcomes = await self._creator(host).sweep(sync=sync)
                if any(o.added for o in outcomes):
                    await self._after_admits()
            except asyncio.CancelledError:
                raise
            except ConvosError as exc:
                log.info("join-request sweep of %s failed: %s", host.stored.id, exc)
            await asyncio.sleep(interval)

    async def _on_member_admitted(self, host: Host, conversation_id: str, inbox_id: str) -> None:
        """The first joiner of the owner conversation becomes the owner (reverse setup)."""
        if conversation_id == self.owner_conversation_id and not self._owners:
            await self.add_owner(inbox_id)
            await self.pairing.add_allow_from(inbox_id)
            log.info("%s joined the owner conversation and is now the owner", inbox_id)

    # ------------------------------------------------------------------ lookups and status

    def _host_for_conversation(self, conversation_id: str) -> Host | None:
        for host in self.hosts.values():
            if host.stored.conversation_id == conversation_id:
                return host
        for host in self.hosts.values():
            if host.client.conversation(conversation_id) is not None:
                return host
        return None

    def host_for_conversation(self, conversation_id: str) -> Host | None:
        return self._host_for_conversation(conversation_id)

    @property
    def health(self) -> str:
        """``healthy`` when every stream is connected, ``degraded`` when one is reconnecting."""
        states = {h.stream.state for h in self.hosts.values()}
        if not states:
            return "idle"
        return "healthy" if states == {"connected"} else "degraded"

    async def _heartbeat(self, interval: float = HEARTBEAT_SECONDS) -> None:
        """Record health and liveness in the state database, for ``status`` in another process."""
        while True:
            try:
                await self.state.set_activity("health", self.health)
                await self.state.set_activity("heartbeat_at", _iso(self._clock()))
                await self.state.set_activity("heartbeat_unix", f"{self._clock():.3f}")
            except ConvosError as exc:
                log.warning("heartbeat not recorded: %s", exc)
            self._health_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._health_changed.wait(), interval)

    async def status(self) -> dict[str, Any]:
        return {
            "health": self.health,
            "identities": len(self.hosts),
            "problems": dict(self.problems),
            "streams": {h.stored.id: h.stream.state for h in self.hosts.values()},
            "reconnects": sum(h.stream.reconnects for h in self.hosts.values()),
            "messages": await self.state.counts(),
            "turns": {"started": self.turns_started, "failed": self.turns_failed},
            "agent": self.agent.name,
        }

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every queued event has been handled (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        while any(not lane.queue.empty() for lane in self._lanes.values()) or await self.state.unfinished():
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway did not become idle")
            await asyncio.sleep(0.05)


def _turn_text(event: Inbound) -> str:
    if event.kind is EventKind.REACTION:
        return f"[reacted {event.reaction} to your message]"
    if event.kind is EventKind.ATTACHMENT and event.attachment is not None:
        att = event.attachment
        return f"[sent an attachment: {att.filename or 'file'} ({att.mime_type or 'unknown type'})]" + (
            f" {event.text}" if event.text else ""
        )
    return event.text or ""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
