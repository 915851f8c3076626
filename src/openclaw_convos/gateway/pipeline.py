"""The inbound pipeline: each message goes through ordered steps with one signature.

``claim -> route -> command -> gate -> admit -> media -> turn``, each ``async def step(ctx) -> None``: a step
adds to the message's plan (sends, history, activity) or ends the message (``ctx.stop``). Then
the plan is written in one transaction and its sends go out through the :class:`Outbox`. Steps
can be replaced (a bridge that hands turns to another agent runtime swaps ``admit`` and
``turn``). Messages of one conversation are handled in order, conversations side by side.

Attachments: ``media`` opens them only after ``admit`` (a stranger's files are never
downloaded). An attachment waits up to ``caption_window`` seconds for its caption (the Convos
app sends it as the next message), and both become one turn. The agent's files are encrypted
and uploaded when its answer is decided, and go out before the text, one message each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..agents import AgentReply, AgentTurn
from ..agents import HistoryItem as AgentHistoryItem
from ..errors import ConvosError, StorageFull, TransportError
from ..media.types import MediaFile
from ..retry import Backoff, retry
from ..xmtp import content as xc
from ..xmtp import outbound as out
from .access import Action, decide
from .chunking import chunk_text
from .events import EventKind, Inbound
from .groups import ConversationKind, GroupAction, decide_group, mentions
from .history import history_limit_for
from .media import files_text, merge_caption, open_files, reply_files
from .outbox import planned
from .pairing import build_approval_notice, build_pairing_reply
from .ports import ConversationPort
from .reactions import ACK_EMOJI, reaction_rules
from .state import HistoryItem, Plan, PlannedSend, Prefetched, RecordState, Role

if TYPE_CHECKING:
    from .runtime import Gateway, Host

log = logging.getLogger("openclaw_convos.gateway")

APOLOGY = "Sorry, I could not answer that just now. Please try again in a moment."
THINKING_LABEL = "Thinking…"
THOUGHT_LABEL = "Thought about it"
_APPROVE = re.compile(r"^\s*/?approve\s+([A-Za-z0-9]{6,12})\s*$", re.IGNORECASE)
_ADMIT = re.compile(r"^\s*/?admit\s+([A-Za-z0-9]{6,12})\s*$", re.IGNORECASE)


@dataclass
class Context:
    """One inbound message on its way through the steps, and what was decided for it."""

    event: Inbound
    host: Host
    conversation: ConversationPort
    sends: list[PlannedSend] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)
    activity: list[tuple[str, str]] = field(default_factory=list)
    read: bool = False
    """The agent answered: a read receipt follows (see ``read_receipt_delay``)."""
    known: Prefetched | None = None
    """The record, sender name and history, read once by :meth:`Pipeline.claim`."""
    ignored: bool = False
    stop: bool = False
    """Nothing more to do for this message (steps after this one are skipped)."""
    decided: bool = False
    """The plan is complete and is written when the steps end."""
    files: tuple[MediaFile, ...] = ()
    """The opened files of an attachment message (set by the ``media`` step)."""

    def send(self, conversation_id: str, item: out.Outbound) -> None:
        self.sends.append(planned(conversation_id, item))

    def decide(self, *, ignored: bool = False) -> None:
        self.ignored = ignored
        self.decided = True
        self.stop = True

    def plan(self) -> Plan:
        e = self.event
        return Plan(
            e.message_id,
            e.conversation_id,
            e.sender_inbox_id,
            e.sent_at_ns,
            sends=tuple(self.sends),
            history=tuple(self.history),
            activity=tuple(self.activity),
            ignored=self.ignored,
        )


Step = Callable[[Context], Awaitable[None]]


@dataclass
class _Lane:
    queue: asyncio.Queue[Inbound] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


class Pipeline:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.steps: list[Step] = [
            self.claim,
            self.route,
            self.command,
            self.gate,
            self.admit,
            self.media,
            self.turn,
        ]
        self.reactions = reaction_rules(gateway.settings.reaction_level)
        self._lanes: dict[str, _Lane] = {}
        self._turns = asyncio.Semaphore(gateway.settings.max_concurrent_turns)
        self._latest_other_ns: dict[str, int] = {}
        self._member_counts: dict[str, int] = {}
        self._last_owner_notice = 0.0
        self._suppressed_notices = 0
        self._receipts: dict[str, asyncio.Task[None]] = {}
        self._receipt_sent_at: dict[str, float] = {}
        self.turns_started = 0
        self.turns_failed = 0

    # ------------------------------------------------------------------ lanes

    def observe(self, message_conversation_id: str, sent_at_ns: int, *, membership: bool) -> None:
        """Every message from someone else passes here first (quoting needs no node reads)."""
        if membership:
            self._member_counts.pop(message_conversation_id, None)
        elif sent_at_ns > self._latest_other_ns.get(message_conversation_id, 0):
            self._latest_other_ns[message_conversation_id] = sent_at_ns

    def enqueue(self, event: Inbound) -> None:
        lane = self._lanes.get(event.conversation_id)
        if lane is None:
            lane = self._lanes[event.conversation_id] = _Lane()
        lane.queue.put_nowait(event)
        if lane.worker is None or lane.worker.done():
            lane.worker = self.gw.tasks.spawn(
                self._work(lane), f"convos:conversation:{event.conversation_id}"
            )

    def load(self) -> tuple[int, int]:
        """(conversations with a queue, messages queued)."""
        return len(self._lanes), sum(lane.queue.qsize() for lane in self._lanes.values())

    def busy(self) -> bool:
        return any(
            not lane.queue.empty() or (lane.worker and not lane.worker.done())
            for lane in self._lanes.values()
        )

    async def drain(self, timeout: float) -> None:
        """Let queued messages finish (up to ``timeout``), then cancel what is left."""
        workers = [lane.worker for lane in self._lanes.values() if lane.worker and not lane.worker.done()]
        if not workers:
            return
        _done, pending = await asyncio.wait(workers, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _work(self, lane: _Lane) -> None:
        """Handle a conversation's queue in order; the worker ends when the queue is empty."""
        carried: Inbound | None = None
        while (carried is not None or not lane.queue.empty()) and not self.gw.stopping:
            event, carried = (carried, None) if carried is not None else (lane.queue.get_nowait(), None)
            if event.kind is EventKind.ATTACHMENT:
                following = await self._next(lane, self.gw.settings.caption_window)
                if following is not None:
                    # an owner's command right after a photo is a command, not a caption
                    command = any(r.match(following.text or "") for r in (_APPROVE, _ADMIT))
                    merged = None if command else merge_caption(event, following)
                    event, carried = (merged, None) if merged is not None else (event, following)
            try:
                # Node outages are waited out (sends fail while it is down); anything else is
                # logged and the record stays unfinished, to be retried on the next start.
                await retry(
                    lambda event=event: self.handle(event),  # type: ignore[misc]
                    # a full disk is waited out like a node outage: the work resumes when space returns
                    is_transient=lambda exc: (
                        isinstance(exc, TransportError | StorageFull) and not self.gw.stopping
                    ),
                    backoff=Backoff(initial=0.5, factor=2.0, maximum=10.0),
                    what=f"handling message {event.message_id}",
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                # A peer's message never crashes the gateway.
                log.exception("failed to handle message %s in %s", event.message_id, event.conversation_id)

    @staticmethod
    async def _next(lane: _Lane, timeout: float) -> Inbound | None:
        """The lane's next event if one is there or comes within ``timeout`` seconds."""
        if not lane.queue.empty():
            return lane.queue.get_nowait()
        if timeout <= 0:
            return None
        try:
            async with asyncio.timeout(timeout):
                return await lane.queue.get()
        except TimeoutError:
            return None

    # ------------------------------------------------------------------ one message

    async def handle(self, event: Inbound) -> None:
        """Process one inbound event exactly once."""
        host = self.gw.hosts.get(event.identity_id)
        if host is None:
            return
        conversation = host.client.conversation(event.conversation_id)
        if conversation is None:
            return
        ctx = Context(event, host, conversation)
        log.debug("message %s (%s) in %s", event.message_id, event.kind.value, event.conversation_id)
        for step in self.steps:
            await step(ctx)
            if ctx.stop:
                break
        if ctx.decided:
            plan = ctx.plan()
            await self.gw.state.commit(plan)
            for caption_id, caption_sent_at in event.captions:  # handled with this message
                await self.gw.state.commit(
                    Plan(
                        caption_id,
                        event.conversation_id,
                        event.sender_inbox_id,
                        caption_sent_at,
                        ignored=True,
                    )
                )
            if plan.sends:
                await self.gw.outbox.deliver(event.message_id, plan.sends)
            if ctx.read and self.gw.settings.read_receipts:
                self._receipt_soon(ctx.conversation)

    def _receipt_soon(self, conversation: ConversationPort) -> None:
        """A read receipt for what the agent answered: one receipt marks everything before it
        read, so one pending receipt covers every answer until it goes out. It goes out
        ``read_receipt_delay`` after the answer, and at most once per ``read_receipt_interval``
        per conversation (each receipt is an MLS message, as costly as an answer)."""
        pending = self._receipts.get(conversation.id)
        if pending is not None and not pending.done():
            return
        settings, now = self.gw.settings, time.monotonic()
        last = self._receipt_sent_at.get(conversation.id)
        at = now + settings.read_receipt_delay
        if last is not None:
            at = max(at, last + settings.read_receipt_interval)
        self._receipts[conversation.id] = self.gw.tasks.spawn(
            self._receipt_at(conversation, at - now), f"convos:receipt:{conversation.id}"
        )

    async def _receipt_at(self, conversation: ConversationPort, delay: float) -> None:
        await asyncio.sleep(delay)
        self._receipt_sent_at[conversation.id] = time.monotonic()
        try:
            await conversation.publish(out.ReadReceipt())  # everything before it is read
        except ConvosError as exc:
            log.debug("read receipt not sent in %s: %s", conversation.id, exc)
        finally:
            self._receipts.pop(conversation.id, None)

    async def claim(self, ctx: Context) -> None:
        """Skip what is finished; finish what was decided but not fully sent."""
        e = ctx.event
        ctx.known = await self.gw.state.prefetch(
            e.message_id, e.conversation_id, e.sender_inbox_id, self.history_limit(ctx)
        )
        record = ctx.known.record
        if record is None or record.state is RecordState.RECEIVED:
            return
        ctx.stop = True
        if record.state is RecordState.REPLYING:
            await self.gw.outbox.resume(record.message_id, record.planned_at)

    async def route(self, ctx: Context) -> None:
        """Profiles and join requests are not for the agent; reactions only to our messages."""
        event, state = ctx.event, self.gw.state
        if event.conversation_id in self.gw.explosions.exploded:
            ctx.decide(ignored=True)  # it ended; we left
            return
        if event.kind is EventKind.PROFILE:
            for inbox_id, zone in event.timezones:
                await state.set_activity(timezone_key(event.conversation_id, inbox_id), zone)
            for inbox_id, name, image in event.profiles:
                await state.set_member_name(
                    event.conversation_id,
                    inbox_id,
                    name,
                    image,
                    event.sent_at_ns,
                    own=inbox_id == event.sender_inbox_id,
                )
            await state.advance_cursor(event.conversation_id, event.sent_at_ns)
            ctx.stop = True
            return
        if event.kind is EventKind.JOIN_REQUEST:
            await self.gw.joins.on_join_request(ctx.host, ctx.conversation, event)
            await state.advance_cursor(event.conversation_id, event.sent_at_ns)
            ctx.stop = True
            return
        if event.kind is EventKind.EXPLODE:
            # only the conversation's creator (its super admin) can end it, as in the Convos app
            if not event.is_dm and event.explode_at is not None:
                members = await ctx.conversation.members()
                if any(m.inbox_id == event.sender_inbox_id and m.role == "super_admin" for m in members):
                    await self.gw.explosions.schedule(event.conversation_id, event.explode_at)
                else:
                    log.info(
                        "explode notice in %s from %s ignored: not the conversation's creator",
                        event.conversation_id,
                        event.sender_inbox_id[:12],
                    )
            await state.advance_cursor(event.conversation_id, event.sent_at_ns)
            ctx.stop = True
            return
        ctx.activity.append(("last_inbound_at", self.gw.now_iso()))
        if event.kind is EventKind.REACTION:
            # reactionLevel: which reactions are turns (minimal: added to our messages)
            target = ctx.host.client.message(event.reaction_target_id or "")
            on_ours = target is not None and target.sender_inbox_id == ctx.host.client.inbox_id
            if not self.reactions.reaction_is_turn(added=event.reaction_added, on_agent_message=on_ours):
                ctx.decide(ignored=True)

    async def command(self, ctx: Context) -> None:
        """``approve CODE`` from the owner in the owner conversation."""
        event = ctx.event
        ownership = self.gw.ownership
        if (
            event.kind is not EventKind.TEXT
            or event.conversation_id != ownership.conversation_id
            or not ownership.is_owner(event.sender_inbox_id)
        ):
            return
        admit = _ADMIT.match(event.text or "")
        if admit is not None:
            joiner = await self.gw.joins.admit(admit.group(1))
            answer = (
                f"Admitted {joiner} to this conversation."
                if joiner is not None
                else f"No join request is waiting with the code {admit.group(1).upper()}."
            )
            ctx.sends[:0] = [planned(event.conversation_id, item) for item in await self._answer(ctx, answer)]
            ctx.decide()
            return
        match = _APPROVE.match(event.text or "")
        if match is None:
            return
        code = match.group(1).upper()
        approved = await self.gw.pairing.approve(code)
        if approved is None:
            answer = f"No pending pairing request has the code {code} (codes expire after 1 hour)."
        else:
            answer = f"Approved {approved.id}. They can talk to me now."
            conversation_id = approved.request.meta.get("conversationId")
            if conversation_id and self.gw.route(conversation_id) is not None:
                ctx.send(conversation_id, out.Text(build_approval_notice(approved.id)))
        ctx.sends[:0] = [planned(event.conversation_id, item) for item in await self._answer(ctx, answer)]
        ctx.decide()

    def history_limit(self, ctx: Context) -> int:
        """``historyLimit``, or ``dmHistoryLimit`` in an XMTP DM."""
        settings = self.gw.settings
        return history_limit_for(
            self.kind_of(ctx),
            history_limit=settings.history_limit,
            dm_history_limit=settings.dm_history_limit,
        )

    def kind_of(self, ctx: Context) -> ConversationKind:
        event = ctx.event
        if event.is_dm:
            return ConversationKind.DM
        if event.conversation_id == self.gw.ownership.conversation_id:
            return ConversationKind.OWNER
        return ConversationKind.GROUP

    async def gate(self, ctx: Context) -> None:
        """Group policy (groupPolicy, groups, groupAllowFrom, requireMention) before dmPolicy."""
        event, host = ctx.event, ctx.host
        reply_to = host.client.message(event.reply_to_id) if event.reply_to_id else None
        decision = decide_group(
            self.gw.settings.group_rules,
            kind=self.kind_of(ctx),
            conversation_id=event.conversation_id,
            sender_inbox_id=event.sender_inbox_id,
            is_owner=self.gw.ownership.is_owner(event.sender_inbox_id),
            configured=host.stored.conversation_id == event.conversation_id,
            mentioned=event.kind is EventKind.REACTION
            or mentions(
                event.text,
                self.gw.settings.display_name,
                reply_to_sender=reply_to.sender_inbox_id if reply_to is not None else None,
                agent_inbox_id=host.client.inbox_id,
            ),
        )
        if decision.passes:
            return
        if decision.action is GroupAction.CONTEXT_ONLY and event.text:
            # not for the agent now, but what it will see with the next mention (OpenClaw's
            # "pending-only" history, bounded by historyLimit)
            name = ctx.known.sender_name if ctx.known is not None else None
            ctx.history.append(HistoryItem(Role.USER, event.sender_inbox_id, name, turn_text(event)))
        log.info(
            "message %s in %s not for the agent: %s",
            event.message_id,
            event.conversation_id,
            decision.reason.value,
        )
        ctx.decide(ignored=True)

    async def admit(self, ctx: Context) -> None:
        """The access decision; a stranger under ``pairing`` gets a code and the owner is told."""
        event, settings = ctx.event, self.gw.settings
        sender = event.sender_inbox_id
        now = datetime.fromtimestamp(self.gw.clock(), UTC)
        is_owner = self.gw.ownership.is_owner(sender)
        # Without the stores first: the owner, config allowFrom, open and disabled need no read.
        decision = decide(
            settings.dm_policy,
            sender,
            is_owner=is_owner,
            allow_from=settings.allow_from,
            paired=(),
            pending=(),
            now=now,
        )
        if not (
            decision.action is Action.ADMIT
            or (decision.action is Action.IGNORE and settings.dm_policy == "disabled")
        ):
            pairing = self.gw.pairing
            decision = decide(
                settings.dm_policy,
                sender,
                is_owner=is_owner,
                allow_from=settings.allow_from,
                paired=await pairing.read_allow_from(),
                # this identity's requests only: the limit of 3 and "already pending" are per
                # identity, so pairing never shows that two identities share a gateway
                pending=await pairing.read_pending(ctx.host.stored.id)
                if settings.dm_policy == "pairing"
                else (),
                now=now,
            )
        if decision.action is Action.ADMIT:
            return
        code: str | None = None
        if decision.action is Action.REQUEST_PAIRING:
            result = await self.gw.pairing.upsert(
                sender,
                {
                    "conversationId": event.conversation_id,
                    "identityId": ctx.host.stored.id,
                    "messageId": event.message_id,
                },
                account=ctx.host.stored.id,
            )
            code = result.code if result.created else None
        elif decision.action is Action.PAIRING_PENDING:
            # Decided before a crash or a failed write: the request is this message's own.
            pending = await self.gw.pairing.list_pending(ctx.host.stored.id)
            mine = [r for r in pending if r.meta.get("messageId") == event.message_id]
            code = mine[0].code if mine else None
        if code:
            ctx.send(event.conversation_id, out.Text(build_pairing_reply(sender, code)))
            notice = await self._owner_notice(event, code)
            if notice is not None:
                ctx.send(*notice)
        log.info("message %s from %s not admitted: %s", event.message_id, sender[:12], decision.reason.value)
        ctx.decide(ignored=True)

    async def _owner_notice(self, event: Inbound, code: str) -> tuple[str, out.Outbound] | None:
        owner_conversation = self.gw.ownership.conversation_id
        if owner_conversation is None or self.gw.route(owner_conversation) is None:
            return None
        now = self.gw.clock()
        if now - self._last_owner_notice < self.gw.settings.owner_notice_interval:
            self._suppressed_notices += 1
            return None
        self._last_owner_notice = now
        name = await self.gw.state.member_name(event.conversation_id, event.sender_inbox_id)
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
        return owner_conversation, out.Text(text)

    async def media(self, ctx: Context) -> None:
        """Open an admitted sender's attachments (download, digest check, decryption)."""
        ctx.files = await open_files(self.gw.media, ctx.event)

    async def turn(self, ctx: Context) -> None:
        """Ask the agent; its answer becomes the plan's sends and history (files first)."""
        event = ctx.event
        if ctx.known is None:
            ctx.known = await self.gw.state.prefetch(
                event.message_id, event.conversation_id, event.sender_inbox_id, self.history_limit(ctx)
            )
        sender_name = ctx.known.sender_name
        reply = await self.run_agent(ctx, sender_name)
        user_text = " ".join(t for t in (files_text(ctx.files), turn_text(event)) if t)
        if user_text:
            ctx.history.append(HistoryItem(Role.USER, event.sender_inbox_id, sender_name, user_text))
        files, failed = await reply_files(self.gw.media, reply, self.gw.settings.media_dirs)
        text = reply.text
        if failed:
            note = f"(I could not send {', '.join(failed)}.)"
            text = f"{text}\n\n{note}" if text else note
        sends: list[out.Outbound] = [*files, *await self._answer(ctx, text)]
        if text:
            ctx.history.append(HistoryItem(Role.ASSISTANT, None, None, text))
        if sends:
            ctx.activity.append(("last_reply_at", self.gw.now_iso()))
        for item in sends:
            ctx.send(event.conversation_id, item)
        if reply.react and self.reactions.agent_reactions:
            ctx.send(
                event.conversation_id, out.Reaction(event.message_id, event.sender_inbox_id, reply.react)
            )
        ctx.read = bool(ctx.sends)
        ctx.decide()

    async def run_agent(self, ctx: Context, sender_name: str | None) -> AgentReply:
        event, gw = ctx.event, self.gw
        history = ctx.known.history if ctx.known is not None else ()
        items = tuple(
            AgentHistoryItem(
                role="assistant" if h.role is Role.ASSISTANT else "user",
                text=h.text,
                sender_inbox_id=h.sender_inbox_id,
                sender_name=h.sender_name,
            )
            for h in history
        )
        reply_to_text = None
        target_id = event.reply_to_id or event.reaction_target_id
        if target_id:
            target = ctx.host.client.message(target_id)
            decoded = _decode(target.content) if target is not None else None
            if isinstance(decoded, xc.Text | xc.Reply):
                reply_to_text = decoded.text
        turn = AgentTurn(
            conversation_id=event.conversation_id,
            sender_inbox_id=event.sender_inbox_id,
            sender_name=sender_name,
            # an added reaction is AgentTurn.reaction; a removed one (reactionLevel extensive) is said
            text="" if event.kind is EventKind.REACTION and event.reaction_added else turn_text(event),
            message_id=event.message_id,
            is_group=not event.is_dm,
            reply_to_text=reply_to_text,
            reaction=event.reaction if event.reaction_added else None,
            history=items,
            attachments=ctx.files,
            sender_timezone=await gw.state.activity_value(
                timezone_key(event.conversation_id, event.sender_inbox_id)
            ),
            reaction_guidance=self.reactions.guidance,
        )
        if self.reactions.ack:
            try:
                await ctx.conversation.publish(
                    out.Reaction(event.message_id, event.sender_inbox_id, ACK_EMOJI)
                )
            except ConvosError as exc:
                log.debug("ack reaction not sent: %s", exc)
        self.turns_started += 1
        async with self._turns:
            typing_sent = asyncio.Event()
            typing_task = (
                asyncio.create_task(self._typing_soon(ctx.conversation, typing_sent, event.message_id))
                if gw.settings.typing_indicator
                else None
            )
            try:
                async with asyncio.timeout(gw.settings.turn_timeout):
                    return await gw.agent.respond(turn)
            except TimeoutError:
                self.turns_failed += 1
                log.warning(
                    "agent %s timed out after %ss on %s",
                    gw.agent.name,
                    gw.settings.turn_timeout,
                    event.message_id,
                )
                return AgentReply(text=APOLOGY)
            except Exception as exc:
                self.turns_failed += 1
                log.warning("agent %s failed on %s: %s", gw.agent.name, event.message_id, exc)
                return AgentReply(text=APOLOGY)
            finally:
                if typing_task is not None:
                    if not typing_sent.is_set():
                        typing_task.cancel()  # still waiting: nothing went out
                    with contextlib.suppress(asyncio.CancelledError):
                        await typing_task
                    if typing_sent.is_set():
                        await self._typing(ctx.conversation, False, event.message_id)

    async def _typing_soon(
        self, conversation: ConversationPort, sending: asyncio.Event, message_id: str
    ) -> None:
        """After ``typing_delay``, show the typing indicator (``sending`` is set before it goes out)."""
        await asyncio.sleep(self.gw.settings.typing_delay)
        sending.set()
        await self._typing(conversation, True, message_id)

    async def _typing(self, conversation: ConversationPort, active: bool, message_id: str) -> None:
        """Typing on/off, and (as the Convos app shows agents) thinking start/stop about the message."""
        items: list[out.Outbound] = [out.Typing(active)]
        if self.gw.settings.thinking_indicator:
            items.append(out.Thinking(active, message_id, THINKING_LABEL if active else THOUGHT_LABEL))
        for item in items:
            try:
                await conversation.publish(item)
            except ConvosError as exc:
                log.debug("%s indicator not sent: %s", type(item).__name__.lower(), exc)

    async def _answer(self, ctx: Context, text: str | None) -> list[out.Outbound]:
        """``text`` as chunks; the first quotes the message when that helps."""
        settings = self.gw.settings
        chunks = chunk_text(text, settings.text_chunk_limit, mode=settings.chunk_mode) if text else []
        if not chunks:
            return []
        event = ctx.event
        items: list[out.Outbound] = [out.Text(chunk) for chunk in chunks]
        if await self._reply_wanted(ctx):
            items[0] = out.Reply(event.message_id, event.sender_inbox_id, chunks[0])
        return items

    async def _reply_wanted(self, ctx: Context) -> bool:
        """Quote the triggering message in groups of more than two, or when someone spoke since."""
        event = ctx.event
        if event.is_dm:
            return False
        own_latest = max([event.sent_at_ns, *(sent for _id, sent in event.captions)])
        if self._latest_other_ns.get(event.conversation_id, 0) > own_latest:
            return True
        count = self._member_counts.get(event.conversation_id)
        if count is None:
            count = self._member_counts[event.conversation_id] = len(await ctx.conversation.members())
        return count > 2


def _decode(content: bytes) -> xc.StandardContent | None:
    try:
        return xc.decode_standard(content)
    except ConvosError:
        return None


def timezone_key(conversation_id: str, inbox_id: str) -> str:
    """Where a member's profile time zone is kept (the state's activity table)."""
    return f"tz:{conversation_id}:{inbox_id.lower()}"


def turn_text(event: Inbound) -> str:
    if event.kind is EventKind.REACTION:
        if not event.reaction_added:
            return f"[removed the reaction {event.reaction}]"
        return f"[reacted {event.reaction} to your message]"
    return event.text or ""  # an attachment's files go to the agent as AgentTurn.attachments
