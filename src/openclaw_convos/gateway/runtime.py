"""The channel runtime: the lifecycle that holds the identities and hands their messages on.

:class:`Gateway` owns the lifecycle (``async with gateway:`` then
``await gateway.run_until_stopped(stop)``) and every task, in one registry. Each identity (one
per conversation) is a :class:`Host`: a client and a stream from the injected
:class:`~.ports.ClientFactory`. Its messages are normalised once into
:class:`~.events.Inbound` events and go through the :class:`~.pipeline.Pipeline`; every send
goes through the :class:`~.outbox.Outbox`. :class:`~.ownership.Ownership` knows the owners,
:class:`~.joindesk.JoinDesk` the joins.

Exactly once: a message's answer is decided, then written with all its sends in one transaction,
then sent; after a crash the stream catches up from the stored cursor, finished messages are
skipped, and a half-sent answer is completed from the outbox after checking which sends are
already in the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..agents import Agent
from ..errors import ConvosError, StateError
from ..media.service import MediaService
from ..retry import Backoff, retry
from ..xmtp import ConversationKind, Endpoint, MessageKind, XmtpMessage
from ..xmtp import outbound as out
from ..xmtp.factory import LibxmtpFactory
from . import wire
from .access import DmPolicy
from .chunking import ChunkMode
from .config import DEFAULT_INBOUND_TEXT_LIMIT
from .events import EventKind, Inbound
from .explosions import Explosions
from .groups import GroupRules
from .identities import IdentityStore, StoredIdentity
from .joindesk import SWEEP_SECONDS, JoinDesk
from .lock import GatewayLock
from .outbox import Outbox, Route
from .ownership import Ownership
from .pairing import PairingStore, build_approval_notice
from .paths import StatePaths
from .pipeline import APOLOGY, Pipeline
from .ports import ClientFactory, ClientPort, ConversationPort, StreamPort
from .reactions import ReactionLevel
from .state import GatewayState

__all__ = ["APOLOGY", "Gateway", "GatewaySettings", "Host"]

log = logging.getLogger("openclaw_convos.gateway")

HEARTBEAT_SECONDS = 5.0
"""How often a running gateway records that it is alive (``status`` reads it)."""

KEEP_MESSAGES = 1000
"""Default of :attr:`GatewaySettings.keep_messages`: far more than any agent history or quoted reply
needs (the agent's history is the gateway's own, in its state database)."""
FORGET_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """What the runtime needs from the configuration."""

    endpoint: Endpoint
    dm_policy: DmPolicy = "pairing"
    allow_from: tuple[str, ...] = ()
    owner_conversation_id: str | None = None
    """None: the conversation of the identity whose role is "owner"."""
    text_chunk_limit: int = 4000
    inbound_text_limit: int = DEFAULT_INBOUND_TEXT_LIMIT
    """Longer inbound texts are cut, and the agent is told (config ``inboundTextLimit``)."""
    display_name: str = "OpenClaw"
    turn_timeout: float = 120.0
    max_concurrent_turns: int = 8
    history_limit: int | None = None
    """``historyLimit`` (None: 20); ``dm_history_limit`` for XMTP DMs (None: ``history_limit``)."""
    dm_history_limit: int | None = None
    group_rules: GroupRules = field(default_factory=GroupRules)
    """``groupPolicy``, ``groups``, ``groupAllowFrom`` (:mod:`.groups`)."""
    chunk_mode: ChunkMode = "length"
    reaction_level: ReactionLevel = "minimal"
    read_receipts: bool = True
    """Send a read receipt for the messages the agent answered."""
    read_receipt_delay: float = 1.0
    """A read receipt goes out this long after an answer; one receipt marks everything before it
    read, so a pending receipt covers every later answer too."""
    read_receipt_interval: float = 15.0
    """At most one read receipt per conversation in this many seconds (each is an MLS message,
    as costly to send and to read as the answer itself)."""
    thinking_indicator: bool = True
    """With the typing indicator, Convos' ``thinking`` indicator for turns slower than ``typing_delay``."""
    typing_indicator: bool = True
    typing_delay: float = 0.4
    """The typing indicator goes out only when the agent takes longer than this (seconds): a fast
    answer then costs one message instead of three (indicator on, answer, indicator off)."""
    owner_notice_interval: float = 10.0
    """At most one pairing notice to the owner per this many seconds (the rest are summarised)."""
    caption_window: float = 1.0
    """How long an attachment waits for its caption (the next message from the same sender)."""
    media_dirs: tuple[Path, ...] = ()
    """Folders whose files the agent may send by path (``MEDIA:/path``)."""
    serve_joins: bool = True
    """Sweep for join requests and finish pending joins (needs real libxmtp clients)."""
    sweep_interval: float = SWEEP_SECONDS
    keep_messages: int | None = KEEP_MESSAGES
    """Each identity's local XMTP store keeps this many messages per conversation (plus any not
    handled yet); older ones are deleted from it. None keeps everything. libxmtp lists
    conversations with every stored message in memory, so an unbounded store makes every restart
    and join sweep cost memory and time in proportion to the whole history."""
    forget_interval: float = FORGET_SECONDS
    """How often old messages are forgotten (the first time shortly after start)."""


@dataclass
class Host:
    """One identity at run time."""

    stored: StoredIdentity
    client: ClientPort
    stream: StreamPort


class Tasks:
    """Every background task of the gateway: named, strongly held, errors logged with context."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def cancel_all(self) -> None:
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    def __len__(self) -> int:
        return len(self._tasks)


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
        factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.time,
        lock_paths: StatePaths | None = None,
        media: MediaService | None = None,
    ) -> None:
        """``lock_paths``: hold the state folder's run lock while running (one gateway per folder,
        whoever starts it: the CLI or the Python API)."""
        self.settings = settings
        self.agent = agent
        self.identities = identities
        self.state = state
        self.pairing = pairing
        self.factory: ClientFactory = factory if factory is not None else LibxmtpFactory(settings.endpoint)
        self.clock = clock
        self.media = media
        """Opens inbound attachments and uploads the agent's files; None: described, not opened."""
        self.hosts: dict[str, Host] = {}
        self._conversation_hosts: dict[str, Host] = {}
        """Which identity a conversation's messages came to (the outbox routes by it)."""
        self.own_inbox_ids: set[str] = set()
        """Every inbox of the gateway (opened or not): never a sender to answer or to pair."""
        self._serving: dict[str, str] = {}
        """conversation id -> the identity that serves it, when several of ours are members."""
        self.problems: dict[str, str] = {}
        self.tasks = Tasks()
        self.ownership = Ownership(state, settings.owner_conversation_id)
        self.outbox = Outbox(state, self.route)
        self.pipeline = Pipeline(self)
        self.explosions = Explosions(self)
        self.retired: set[str] = set()
        self._retired_hosts: list[Host] = []
        """Identities whose conversation exploded: their stream is closed, their sweeps end."""
        self.joins = JoinDesk(
            state,
            pairing,
            self.ownership,
            display_name=settings.display_name,
            update_identity=self._update_identity,
            report=self.problems.__setitem__,
            clock=self.now_iso,
            sweep_interval=settings.sweep_interval,
            notify_owner=self._notify_owner,
        )
        self._health_changed = asyncio.Event()
        self.allow_new_installation: set[str] = set()
        """Identities whose first open may add an installation (a ``privateKey`` from the config)."""
        self._started = False
        self.stopping = False
        self._lock_paths = lock_paths
        self._lock: GatewayLock | None = None
        self._profiles: dict[str, str] | None = None
        """During start-up: the profile names already announced, read once for every identity."""
        self._activity_batch: list[tuple[str, str]] | None = None
        """During start-up: activity entries to write in one go when every identity is open."""

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open every identity, start their streams, and finish work a crash left behind.

        When start fails halfway, what it opened is closed again before the error propagates.
        """
        if self._started:
            return
        self._started = True
        if self._lock_paths is not None:
            try:
                self._lock = GatewayLock.acquire(self._lock_paths)
            except BaseException:
                self.state.close()
                raise
        try:
            await self._start()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, BaseExceptionGroup):
                raise exc.exceptions[0] from None  # the first identity's error says enough
            raise

    async def _start(self) -> None:
        await self.ownership.load()
        await self.explosions.load()
        stored, broken = self.identities.load_all()
        self.own_inbox_ids.update(item.inbox_id for item in stored if item.inbox_id)  # exploded ones too
        stored = [s for s in stored if s.conversation_id not in self.explosions.exploded]
        for identity_id, error in broken.items():
            # The file cannot tell its conversation; the last run recorded it (see add_identity).
            conversation_id = await self.state.activity_value(f"identity:{identity_id}") or "unknown"
            log.error("identity %s (conversation %s) did not open: %s", identity_id, conversation_id, error)
            self.problems[identity_id] = f"conversation {conversation_id}: {error}"
        # Start-up reads and writes the bookkeeping of all identities at once, not one by one.
        self._profiles = await self.state.activity_values("profile:")
        self._activity_batch = []
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

        async with asyncio.TaskGroup() as group:  # one failure cancels the others and waits for them
            for item in stored:
                group.create_task(open_one(item), name=f"convos:open:{item.id}")
        batch, self._activity_batch, self._profiles = self._activity_batch, None, None
        await self.state.set_activities(batch or [])
        for record in await self.state.unfinished():
            host = self.host_for_conversation(record.conversation_id)
            if host is None:
                continue
            message = host.client.message(record.message_id)
            if message is not None:
                event = wire.normalize(
                    message,
                    host.stored.id,
                    self._is_dm(host, message.conversation_id),
                    text_limit=self.settings.inbound_text_limit,
                )
                if event is not None:
                    self.pipeline.enqueue(event)
        await self.state.set_activity("started_at", self.now_iso())
        self.tasks.spawn(self._heartbeat(), "convos:heartbeat")
        if self.settings.keep_messages is not None:
            self.tasks.spawn(self._forget_forever(), "convos:forget")

    async def add_identity(self, stored: StoredIdentity, *, allow_new_installation: bool = False) -> Host:
        """Open an identity's client and start streaming it (used at start and after a join)."""
        client = await self.factory.open(
            self.identities.xmtp_identity(stored),
            allow_offline=True,
            allow_new_installation=allow_new_installation,
        )
        self.own_inbox_ids.add(client.inbox_id)  # before its stream (or any other) can deliver
        try:
            if stored.inbox_id != client.inbox_id:
                stored = self.identities.update(stored, inbox_id=client.inbox_id)
            since = await self._cursor_for(stored, client)
            stream = self.factory.stream(
                client, name=stored.id, since_ns=since, on_state=lambda _state: self._health_changed.set()
            )
            host = Host(stored, client, stream)
            await stream.start()
        except BaseException:
            client.close()
            raise
        self.hosts[stored.id] = host
        self.tasks.spawn(self._consume(host), f"convos:consume:{stored.id}")
        if self.settings.serve_joins and stored.role in ("owner", "creator"):
            self.tasks.spawn(
                self.joins.sweep_forever(host, lambda: self.stopping or stored.id in self.retired),
                f"convos:sweep:{stored.id}",
            )
        self.problems.pop(stored.id, None)
        if stored.conversation_id:
            await self._record_activity(f"identity:{stored.id}", stored.conversation_id)
            await self._ensure_profile(host, stored.conversation_id)
        elif stored.invite_slug and self.settings.serve_joins:
            self.tasks.spawn(self.joins.finish_join(host, lambda: self.stopping), f"convos:join:{stored.id}")
        return host

    async def _record_activity(self, key: str, value: str) -> None:
        if self._activity_batch is not None:
            self._activity_batch.append((key, value))
        else:
            await self.state.set_activity(key, value)

    def _update_identity(self, host: Host, changes: dict[str, Any]) -> None:
        host.stored = self.identities.update(host.stored, **changes)

    async def _cursor_for(self, stored: StoredIdentity, client: ClientPort) -> int:
        """Where catch-up starts: the oldest per-conversation cursor of this identity.

        A conversation without a cursor has had nothing handled yet, so everything since the
        identity was made counts; except a DM with only our own messages in it (the owner
        identity's DM with the invite's creator: our join request), which sets no bound. Before,
        that DM made every restart re-read the whole owner history. A DM without a cursor counts
        from just before its first message from someone else. Re-read messages that were handled
        are skipped by their record.
        """
        created = int(stored.created_at * 1e9)
        ids = {c.id for c in await client.list_conversations()}
        if stored.conversation_id:
            ids.add(stored.conversation_id)
        cursors = await self.state.cursors(sorted(ids))
        bounds = list(cursors.values())
        for conversation_id in sorted(ids - cursors.keys()):
            conversation = client.conversation(conversation_id)
            if conversation is None or conversation.kind is not ConversationKind.DM:
                return created  # a group, or not in the local database yet
            first = await _first_from_others(conversation, client.inbox_id, created)
            if first is not None:
                bounds.append(max(created, first - 1))
        return min(bounds) if bounds else created

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop streams, let running turns finish (up to ``drain_timeout``), close everything."""
        if self.stopping:
            return
        self.stopping = True
        for host in self.hosts.values():
            await host.stream.close()
        await self.pipeline.drain(drain_timeout)
        await self.tasks.cancel_all()
        with contextlib.suppress(ConvosError):
            await self.state.flush()
        with contextlib.suppress(Exception):
            await self.agent.aclose()
        if self.media is not None:
            with contextlib.suppress(Exception):
                await self.media.aclose()
        for host in [*self.hosts.values(), *self._retired_hosts]:
            host.client.close()
        self.state.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def retire_conversation(self, conversation_id: str) -> None:
        """Stop serving an exploded conversation: its identity's stream closes and the identity is
        not opened again (it served only that conversation)."""
        for host in list(self.hosts.values()):
            if host.stored.conversation_id != conversation_id:
                continue
            self.retired.add(host.stored.id)
            self._retired_hosts.append(host)
            del self.hosts[host.stored.id]
            with contextlib.suppress(ConvosError):
                await host.stream.close()

    def served_conversations(self) -> set[str]:
        """The conversations of the identities being served (exploded ones are gone)."""
        return {
            h.stored.conversation_id
            for h in self.hosts.values()
            if h.stored.conversation_id and h.stored.conversation_id not in self.explosions.exploded
        }

    # ------------------------------------------------------------------ owners

    @property
    def owner_conversation_id(self) -> str | None:
        return self.ownership.conversation_id

    @owner_conversation_id.setter
    def owner_conversation_id(self, conversation_id: str) -> None:
        self.ownership.set_conversation(conversation_id)

    def is_owner(self, inbox_id: str) -> bool:
        return self.ownership.is_owner(inbox_id)

    async def add_owner(self, inbox_id: str) -> None:
        await self.ownership.add(inbox_id)

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
        return conversation is not None and conversation.kind.value == "dm"

    def _serves(self, host: Host, conversation_id: str) -> bool:
        """Whether ``host`` serves ``conversation_id``: a conversation holding several of our
        identities (a stranger can make one) is served by one of them only, the one the outbox
        sends with (:meth:`host_for_conversation`)."""
        if host.stored.conversation_id == conversation_id:
            return True
        serving = self._serving.get(conversation_id)
        if serving is None or serving not in self.hosts:
            chosen = self.host_for_conversation(conversation_id)
            if chosen is None:
                return False
            serving = self._serving[conversation_id] = chosen.stored.id
        return serving == host.stored.id

    def _dispatch(self, host: Host, message: XmtpMessage) -> None:
        if message.sender_inbox_id in self.own_inbox_ids or message.sender_inbox_id == host.client.inbox_id:
            return  # ourselves, through this identity or another one: never answered, never paired
        if not self._serves(host, message.conversation_id):
            return
        membership = message.kind is MessageKind.MEMBERSHIP_CHANGE
        ctype = message.content_type
        if membership or (ctype is not None and ctype.authority_id == "xmtp.org"):
            self.pipeline.observe(message.conversation_id, message.sent_at_ns, membership=membership)
        if membership:
            return
        event = wire.normalize(
            message,
            host.stored.id,
            self._is_dm(host, message.conversation_id),
            text_limit=self.settings.inbound_text_limit,
        )
        if event is None or event.kind is EventKind.IGNORED:
            return
        self._conversation_hosts.setdefault(message.conversation_id, host)
        self.pipeline.enqueue(event)

    async def handle(self, event: Inbound) -> None:
        """Process one inbound event exactly once (the pipeline's entry, for tests)."""
        await self.pipeline.handle(event)

    async def announce_approval(self, sender_inbox_id: str, meta: Any) -> bool:
        """Tell an approved sender, in the conversation they asked from; False when it is unknown."""
        conversation_id = meta.get("conversationId") if meta else None
        route = self.route(conversation_id) if conversation_id else None
        if route is None:
            return False
        notice = out.Text(build_approval_notice(sender_inbox_id))
        await retry(
            lambda: route.conversation.publish(notice),
            is_transient=lambda exc: isinstance(exc, ConvosError) and not self.stopping,
            backoff=Backoff(initial=0.5, factor=2.0, maximum=5.0),
            max_attempts=5,
            what=f"announcing the approval of {sender_inbox_id[:12]}",
        )
        return True

    # ------------------------------------------------------------------ profiles

    async def _ensure_profile(self, host: Host, conversation_id: str) -> None:
        """Announce our display name once per conversation (so Convos does not show "Somebody")."""
        key = f"profile:{conversation_id}"
        name = self.settings.display_name
        known = (
            self._profiles.get(key) if self._profiles is not None else await self.state.activity_value(key)
        )
        if known == name:
            return
        conversation = host.client.conversation(conversation_id)
        if conversation is None:
            return
        try:
            await conversation.publish(out.ProfileUpdate(name))
        except ConvosError as exc:
            log.warning("could not set our name in %s: %s", conversation_id, exc)
            return
        await self._record_activity(key, name)

    # ------------------------------------------------------------------ lookups and status

    async def _notify_owner(self, text: str) -> None:
        """A notice into the owner conversation (best effort: a failure is logged)."""
        owner = self.ownership.conversation_id
        route = self.route(owner) if owner else None
        if route is None:
            return
        try:
            await route.conversation.publish(out.Text(text))
        except ConvosError as exc:
            log.warning("could not tell the owner: %s", exc)

    def host_for_conversation(self, conversation_id: str) -> Host | None:
        known = self._conversation_hosts.get(conversation_id)
        if known is not None and self.hosts.get(known.stored.id) is known:
            return known
        for host in self.hosts.values():
            if host.stored.conversation_id == conversation_id:
                return host
        for host in self.hosts.values():
            if host.client.conversation(conversation_id) is not None:
                return host
        return None

    def route(self, conversation_id: str) -> Route | None:
        """Where the outbox sends for ``conversation_id``; None when no identity serves it."""
        host = self.host_for_conversation(conversation_id)
        if host is None:
            return None
        conversation = host.client.conversation(conversation_id)
        return None if conversation is None else Route(conversation, host.client.inbox_id)

    @property
    def turns_started(self) -> int:
        return self.pipeline.turns_started

    @property
    def turns_failed(self) -> int:
        return self.pipeline.turns_failed

    def now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def pool(self) -> Any:
        """The backend pool of the libxmtp factory (for commands that open clients beside us)."""
        return getattr(self.factory, "pool", None)

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
                await self.state.flush()
                await self.state.set_activity("health", self.health)
                await self.state.set_activity("heartbeat_at", self.now_iso())
                await self.state.set_activity("heartbeat_unix", f"{self.clock():.3f}")
            except ConvosError as exc:
                log.warning("heartbeat not recorded: %s", exc)
            self._health_changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._health_changed.wait()

    async def forget_old_messages(self) -> int:
        """Delete the local copies of old, handled messages beyond ``keep_messages`` per conversation.

        Only what the gateway has handled for good goes (see :meth:`GatewayState.handled_before`);
        nothing is sent and the members' copies stay. Returns how many messages were deleted.
        """
        keep = self.settings.keep_messages
        if keep is None:
            return 0
        served = {h.stored.conversation_id: h for h in self.hosts.values() if h.stored.conversation_id}
        served.update(self._conversation_hosts)
        total = 0
        for conversation_id, before_ns in (await self.state.handled_before()).items():
            host = served.get(conversation_id)
            if host is None or self.hosts.get(host.stored.id) is not host or self.stopping:
                continue
            try:
                count = await host.client.forget_messages(conversation_id, keep=keep, before_ns=before_ns)
            except ConvosError as exc:
                log.debug("old messages of %s not forgotten: %s", conversation_id, exc)
                continue
            if count:
                log.info("forgot %d old messages of %s (the newest %d stay)", count, conversation_id, keep)
            total += count
        return total

    async def _forget_forever(self) -> None:
        interval = self.settings.forget_interval
        await asyncio.sleep(min(60.0, interval) * random.uniform(0.5, 1.0))
        while True:
            await self.forget_old_messages()
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def status(self) -> dict[str, Any]:
        problems = dict(self.problems)
        try:
            await self.state.flush()
        except StateError as exc:  # a full disk: say so, keep serving
            problems["state"] = str(exc)
        return {
            "health": self.health,
            "identities": len(self.hosts),
            "problems": problems,
            "streams": {h.stored.id: h.stream.state for h in self.hosts.values()},
            "reconnects": sum(h.stream.reconnects for h in self.hosts.values()),
            "messages": await self.state.counts(),
            "turns": {"started": self.turns_started, "failed": self.turns_failed},
            "agent": self.agent.name,
        }

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every queued event has been handled (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        while self.pipeline.busy() or await self.state.unfinished():
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway did not become idle")
            await asyncio.sleep(0.05)
        await self.state.flush()


_FIRST_PAGE = 50
_FIRST_PAGES = 20


async def _first_from_others(conversation: ConversationPort, own_inbox_id: str, after_ns: int) -> int | None:
    """When someone else first wrote in ``conversation`` after ``after_ns`` (None: nobody did).

    Reads pages of the local database; past ``_FIRST_PAGES`` pages of our own messages it gives
    up and answers ``after_ns`` (read everything, as before)."""
    since = after_ns
    for _page in range(_FIRST_PAGES):
        page = await conversation.messages(after_ns=since, limit=_FIRST_PAGE)
        for message in page:
            if message.sender_inbox_id != own_inbox_id:
                return message.sent_at_ns
        if len(page) < _FIRST_PAGE:
            return None
        since = page[-1].sent_at_ns
    return after_ns
