"""A simulated Convos user: a real XMTP client that behaves like the Convos app.

It creates conversations with an invite tag and its profile, makes signed invites, approves join
requests with the iOS creator's checks, joins other people's invites, and talks. The offline demo
and the scenario tests use it as "the person on the phone".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .convos import content as cc
from .convos import profiles as cp
from .convos.invites import parse_invite
from .errors import ConvosError
from .joinflow import creator as cr
from .joinflow.joiner import JoinResult, request_join, wait_for_join
from .xmtp import (
    BackendPool,
    Identity,
    IdentityKeys,
    MessageStream,
    XmtpClient,
    XmtpConversation,
    XmtpMessage,
)
from .xmtp import attachments as xa
from .xmtp import content as xc

log = logging.getLogger("openclaw_convos.simuser")


@dataclass(frozen=True, slots=True)
class Seen:
    """A message the user saw, decoded to something printable."""

    conversation_id: str
    sender_inbox_id: str
    message_id: str
    sent_at_ns: int
    kind: str  # text | reply | reaction | convos type id | other
    text: str
    reference_id: str | None = None
    received_at: float = field(default_factory=time.monotonic)
    attachment: xc.Attachment | None = field(default=None, repr=False)


def describe(message: XmtpMessage) -> Seen:
    """What a person would see for ``message``."""
    base = (message.conversation_id, message.sender_inbox_id, message.id, message.sent_at_ns)
    try:
        standard = xc.decode_standard(message.content)
    except ConvosError:
        standard = None
    if isinstance(standard, xc.Text):
        return Seen(*base, "text", standard.text)
    if isinstance(standard, xc.Reply):
        return Seen(*base, "reply", standard.text or "", standard.reference_id)
    if isinstance(standard, xc.Reaction):
        verb = "reacted" if standard.added else "removed"
        return Seen(*base, "reaction", f"{verb} {standard.emoji}", standard.reference_id)
    if isinstance(standard, xc.Attachment):
        size = f", {standard.size} bytes" if standard.size is not None else ""
        label = f"{standard.filename or 'a file'}{size}"
        return Seen(*base, "attachment", f"[attachment {label}]", attachment=standard)
    try:
        decoded = cc.decode_content(message.content)
    except ConvosError:
        return Seen(*base, "other", "(undecodable)")
    ctype = str(message.content_type) if message.content_type else "unknown"
    if isinstance(decoded, cp.ProfileUpdate):
        return Seen(*base, ctype, f"profile: {decoded.name or '(no name)'}")
    if isinstance(decoded, cc.TypingIndicator):
        return Seen(*base, ctype, "typing…" if decoded.is_typing else "stopped typing")
    if isinstance(decoded, cc.Thinking):
        return Seen(*base, ctype, f"thinking {decoded.state.value}", decoded.target_message_id)
    if isinstance(decoded, cc.ExplodeSettings):
        return Seen(*base, ctype, f"explodes at {decoded.expires_at.isoformat()}")
    if isinstance(decoded, cc.InviteJoinError):
        return Seen(*base, ctype, f"join refused: {decoded.user_message}")
    return Seen(*base, ctype, type(decoded).__name__)


class SimulatedUser:
    """One person with the Convos app, as a real XMTP client on the given node."""

    def __init__(self, name: str, client: XmtpClient, *, clock: Callable[[], datetime] | None = None) -> None:
        self.name = name
        self.client = client
        self.ledger = cr.MemoryLedger()
        self.creator = (
            cr.Creator(client, self.ledger, clock=clock)
            if clock is not None
            else cr.Creator(client, self.ledger)
        )
        self.seen: list[Seen] = []
        self._stream: MessageStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.join_outcomes: list[cr.JoinOutcome] = []

    @property
    def inbox_id(self) -> str:
        return self.client.inbox_id

    @classmethod
    async def create(cls, name: str, pool: BackendPool, folder: Path) -> SimulatedUser:
        identity = Identity(IdentityKeys.generate(), folder / f"{name.lower()}.db3")
        return cls(name, await XmtpClient.open(identity, pool))

    async def start(self) -> None:
        """Start reading messages (and approving join requests, like the app does)."""
        self._stream = MessageStream(self.client, name=f"sim-{self.name}")
        await self._stream.start()
        self._task = asyncio.create_task(self._read(), name=f"convos:simuser:{self.name}")

    async def stop(self) -> None:
        if self._stream is not None:
            await self._stream.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.client.close()

    async def _read(self) -> None:
        assert self._stream is not None
        async for message in self._stream:
            try:
                await self._on_message(message)
            except ConvosError as exc:
                log.warning("%s could not handle %s: %s", self.name, message.id, exc)

    async def _on_message(self, message: XmtpMessage) -> None:
        conversation = self.client.conversation(message.conversation_id)
        if conversation is not None and conversation.dm_peer_inbox_id is not None:
            request = cr.join_request_of(message)
            if request is not None:
                self.join_outcomes.append(await self.creator.process(conversation, request))
                self._changed.set()
                return
        self.seen.append(describe(message))
        self._changed.set()

    # -- conversations --
    async def create_conversation(self, title: str, *, emoji: str | None = None) -> XmtpConversation:
        return await cr.create_conversation(
            self.client, name=title, emoji=emoji, profile_name=self.name, agent=False, creator_owned=False
        )

    def invite(self, conversation: XmtpConversation, **options: object) -> str:
        slug, _url = cr.invite_for(self.client, conversation, env="dev", **options)  # type: ignore[arg-type]
        return slug

    async def join(self, invite_text: str, *, timeout: float = 30.0) -> JoinResult:
        invite = parse_invite(invite_text)
        sent = time.time_ns() - 1_000_000_000
        await request_join(self.client, invite, profile_name=self.name, agent=False)
        return await wait_for_join(
            self.client, invite, timeout=timeout, poll=0.2, since_ns=sent, profile_name=self.name, agent=False
        )

    def conversation(self, conversation_id: str) -> XmtpConversation:
        conversation = self.client.conversation(conversation_id)
        if conversation is None:
            raise LookupError(f"{self.name} is not in {conversation_id}")
        return conversation

    async def say(self, conversation_id: str, text: str) -> str:
        return await self.conversation(conversation_id).send(xc.encode_text(text))

    async def send_file(
        self, conversation_id: str, file: xa.InlineAttachment, upload: Callable[[bytes], Awaitable[str]]
    ) -> str:
        """Like the app: encrypt with fresh keys, upload, send a remote attachment message."""
        encrypted = xa.encrypt_attachment(file)
        url = await upload(encrypted.payload)
        return await self.conversation(conversation_id).send(xa.encode_remote_attachment(encrypted.at(url)))

    async def react(self, conversation_id: str, message_id: str, reference_inbox_id: str, emoji: str) -> str:
        return await self.conversation(conversation_id).send(
            xc.encode_reaction(message_id, reference_inbox_id, emoji)
        )

    # -- waiting --
    async def wait_for(
        self, predicate: Callable[[Seen], bool], *, timeout: float = 20.0, after: int = 0
    ) -> Seen:
        """The first seen message (from index ``after`` on) that matches, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.seen[after:]:
                if predicate(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                texts = [f"{s.kind}: {s.text[:60]!r}" for s in self.seen[-10:]]
                raise TimeoutError(f"{self.name} did not see the expected message; last seen: {texts}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def texts_from(self, sender_inbox_id: str, conversation_id: str | None = None) -> list[str]:
        return [
            s.text
            for s in self.seen
            if s.sender_inbox_id == sender_inbox_id
            and s.kind in ("text", "reply")
            and (conversation_id is None or s.conversation_id == conversation_id)
        ]
