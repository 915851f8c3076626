"""The join flow on the devnode with real libxmtp clients: a creator service, joiners, helpers.

A :class:`CreatorService` is what a creator runs: a :class:`MessageStream` whose messages go to
:meth:`Creator.handle`. It can be stopped (stream and client closed, like a process exiting) and
reopened from the same database, with the same ledger, to test what happens across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from openclaw_convos.convos import content as cc
from openclaw_convos.convos import profiles as cp
from openclaw_convos.convos.invites import SignedInvite, parse_invite
from openclaw_convos.convos.join import JoinAction
from openclaw_convos.errors import ConvosError
from openclaw_convos.joinflow.creator import Creator, JoinLedger, JoinOutcome, MemoryLedger
from openclaw_convos.joinflow.joiner import JoinResult, request_join, wait_for_join
from openclaw_convos.xmtp import BackendPool, MessageStream, XmtpClient, XmtpConversation

from ..conftest import ClientFactory

T = TypeVar("T")

WAIT = 10.0
"""Upper bound for anything that should happen (it normally takes well under a second)."""
PENDING_WAIT = 1.0
"""How long a joiner waits when we expect no answer at all."""


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CreatorService:
    """A creator's process: its client, a stream of its messages, and a :class:`Creator` on it."""

    client: XmtpClient
    pool: BackendPool
    ledger: JoinLedger
    outcomes: list[JoinOutcome] = field(default_factory=list)
    stream: MessageStream | None = None
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    stopped_at_ns: int = 0

    _creator: Creator | None = None

    @property
    def creator(self) -> Creator:
        """One Creator per party and client (it serialises the party's join requests)."""
        if self._creator is None or self._creator.client is not self.client:
            self._creator = Creator(self.client, self.ledger)
        return self._creator

    @property
    def inbox_id(self) -> str:
        return self.client.inbox_id

    async def start(self, since_ns: int | None = None) -> None:
        self.stream = MessageStream(self.client, name="creator", since_ns=since_ns)
        await self.stream.start()
        self.task = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        assert self.stream is not None
        creator = self.creator
        async for message in self.stream:
            outcome = await creator.handle(message)
            if outcome is not None:
                self.outcomes.append(outcome)
                self.changed.set()

    async def stop(self) -> None:
        """Like the process exiting: the stream ends and the database is released."""
        if self.stream is not None:
            await self.stream.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.client.close()
        self.stream = self.task = None
        self.stopped_at_ns = time.time_ns()

    async def reopen(self) -> None:
        """A new process on the same database (same inbox and installation)."""
        self.client = await XmtpClient.open(self.client.identity, self.pool)

    async def wait_outcomes(self, count: int, timeout: float = WAIT) -> list[JoinOutcome]:
        """Wait until ``count`` join requests have been processed in total."""
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                actions = [o.decision.action for o in self.outcomes]
                raise TimeoutError(f"only {len(self.outcomes)} join requests processed: {actions}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.outcomes[:count]

    async def dm_of(self, joiner: XmtpClient) -> XmtpConversation:
        """The creator's side of its DM with ``joiner`` (also when its consent is denied)."""
        dm = await joiner.find_or_create_dm(self.inbox_id)
        conversation = self.client.conversation(dm.id)
        if conversation is None:
            await self.client.sync_welcomes()
            conversation = self.client.conversation(dm.id)
        if conversation is None:
            raise LookupError(f"the creator has no DM with {joiner.inbox_id[:12]}")
        return conversation

    async def sent_in_dm(self, joiner: XmtpClient) -> list[cc.DecodedContent]:
        """What the creator itself sent in its DM with ``joiner``, oldest first."""
        dm = await self.dm_of(joiner)
        await dm.sync()
        return [
            cc.decode_content(m.content)
            for m in await dm.messages(application_only=True)
            if m.sender_inbox_id == self.inbox_id
        ]


CreatorFactory = Callable[..., Awaitable[CreatorService]]


@pytest.fixture
async def make_creator(make_client: ClientFactory, pool: BackendPool) -> AsyncIterator[CreatorFactory]:
    """``await make_creator("alice", ledger=...)``: a started creator service (stopped at the end)."""
    services: list[CreatorService] = []

    async def factory(name: str = "creator", *, ledger: JoinLedger | None = None) -> CreatorService:
        service = CreatorService(
            await make_client(name), pool, ledger if ledger is not None else MemoryLedger()
        )
        await service.start()
        services.append(service)
        return service

    yield factory
    for service in services:
        if service.stream is not None:
            await service.stop()


def actions(outcomes: list[JoinOutcome]) -> list[JoinAction]:
    return [o.decision.action for o in outcomes]


def of_type(items: list[cc.DecodedContent], kind: type[T]) -> list[T]:
    return [item for item in items if isinstance(item, kind)]


async def send_raw_request(
    joiner: XmtpClient, slug: str, *, profile_name: str | None = None
) -> XmtpConversation:
    """A typed join request plus the plain-text slug, as the CLI sends them, without the joiner's checks."""
    invite = parse_invite(slug)
    dm = await joiner.find_or_create_dm(invite.payload.creator_inbox_id)
    profile = cc.JoinRequestProfile(name=profile_name, member_kind="agent") if profile_name else None
    await dm.send(cc.encode_content(cc.JoinRequest(invite_slug=invite.slug, profile=profile)))
    await dm.send(cc.encode_text(invite.slug))
    return dm


async def join(
    joiner: XmtpClient,
    invite: SignedInvite,
    *,
    timeout: float = WAIT,
    profile_name: str | None = None,
) -> JoinResult:
    """The joiner's whole flow: request, then wait (short polls)."""
    since = time.time_ns() - 1_000_000_000
    await request_join(joiner, invite, profile_name=profile_name)
    return await wait_for_join(
        joiner, invite, timeout=timeout, poll=0.2, since_ns=since, profile_name=profile_name
    )


async def group_names(client: XmtpClient, conversation_id: str) -> dict[str, str]:
    """The display names ``client`` resolves in a group from the profile messages it can read."""
    await client.sync_all()
    conversation = client.conversation(conversation_id)
    assert conversation is not None
    items = []
    for message in await conversation.messages(application_only=True):
        try:
            items.append((message.sender_inbox_id, cc.decode_content(message.content), message.sent_at_ns))
        except ConvosError:
            continue
    return cp.resolve_display_names(items)


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = WAIT) -> T:
    """``probe()`` once it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)
