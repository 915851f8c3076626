"""In-memory fakes of the gateway's ports (``gateway/ports.py``): a network of conversations.

Messages carry real ``EncodedContent`` bytes (encoded by ``xmtp/outbound.py`` through libxmtp's
pure codecs), so the runtime decodes them exactly as it decodes the node's. Every send is also
recorded as a value (``network.sent``). A conversation can be told to fail its next sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openclaw_convos.errors import NodeUnreachable
from openclaw_convos.xmtp import ConversationKind, Identity, Member, MessageKind, XmtpMessage
from openclaw_convos.xmtp import outbound as out
from openclaw_convos.xmtp.content import content_type_of

_ids = itertools.count(1)
_last_ns = 0


def _now_ns() -> int:
    """Wall-clock nanoseconds, strictly increasing (as a node's sent times compare with ours)."""
    global _last_ns
    _last_ns = max(time.time_ns(), _last_ns + 1)
    return _last_ns


@dataclass(frozen=True)
class Sent:
    conversation_id: str
    sender: str
    item: out.Outbound


@dataclass
class FakeConversation:
    network: FakeNetwork
    id: str
    kind: ConversationKind
    member_ids: list[str]
    messages_: list[XmtpMessage] = field(default_factory=list)
    fail_sends: int = 0
    """The gateway's next this many publishes raise NodeUnreachable (nothing is stored)."""
    fail_when: Callable[[out.Outbound], bool] | None = None

    def check_outage(self, item: out.Outbound) -> None:
        if self.fail_sends and (self.fail_when is None or self.fail_when(item)):
            self.fail_sends -= 1
            raise NodeUnreachable(f"send to {self.id} failed (fake outage)")

    async def publish_as(self, sender: str, item: out.Outbound) -> str:
        payload, _push = out.encode(item)
        message = XmtpMessage(
            id=f"msg{next(_ids):06d}",
            conversation_id=self.id,
            sender_inbox_id=sender,
            sent_at_ns=_now_ns(),
            kind=MessageKind.APPLICATION,
            content_type=content_type_of(payload),
            content=payload,
        )
        self.messages_.append(message)
        self.network.sent.append(Sent(self.id, sender, item))
        self.network.deliver(message, self.member_ids)
        return message.id


class ConversationView:
    """A conversation as one member's client sees it (what the runtime gets)."""

    def __init__(self, conversation: FakeConversation, inbox_id: str) -> None:
        self._c = conversation
        self._inbox_id = inbox_id

    @property
    def id(self) -> str:
        return self._c.id

    @property
    def kind(self) -> ConversationKind:
        return self._c.kind

    async def publish(self, item: out.Outbound) -> str:
        await asyncio.sleep(0)
        self._c.check_outage(item)
        return await self._c.publish_as(self._inbox_id, item)

    async def sync(self) -> None:
        await asyncio.sleep(0)

    async def messages(
        self, *, after_ns: int | None = None, limit: int | None = None, application_only: bool = False
    ) -> list[XmtpMessage]:
        self._c.network.reads += 1
        forgotten = self._c.network.forgotten.get(self._inbox_id, set())
        found = [
            m
            for m in self._c.messages_
            if (after_ns is None or m.sent_at_ns > after_ns) and m.id not in forgotten
        ]
        return found[:limit] if limit else found

    async def members(self) -> list[Member]:
        self._c.network.reads += 1
        return [Member(i, (), 1, "member") for i in self._c.member_ids]

    @property
    def app_data(self) -> str:
        return ""

    def is_active(self) -> bool:
        return self._inbox_id in self._c.member_ids

    async def leave(self) -> None:
        await asyncio.sleep(0)
        if self._inbox_id in self._c.member_ids:
            self._c.member_ids.remove(self._inbox_id)


class FakeStream:
    def __init__(self, client: FakeClient, since_ns: int | None) -> None:
        self.client = client
        self.state = "starting"
        self.reconnects = 0
        self.queue: asyncio.Queue[XmtpMessage | None] = asyncio.Queue()
        self._since = since_ns or 0

    async def start(self) -> None:
        self.client.streams.append(self)
        for conversation in self.client.network.conversations.values():
            if self.client.inbox_id in conversation.member_ids:
                for message in conversation.messages_:
                    if message.sent_at_ns > self._since and message.sender_inbox_id != self.client.inbox_id:
                        self.queue.put_nowait(message)
        self.state = "connected"

    async def close(self) -> None:
        self.state = "closed"
        self.queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[XmtpMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[XmtpMessage]:
        while True:
            message = await self.queue.get()
            if message is None:
                return
            yield message


class FakeClient:
    def __init__(self, network: FakeNetwork, inbox_id: str) -> None:
        self.network = network
        self._inbox_id = inbox_id
        self.streams: list[FakeStream] = []
        self.closed = False

    @property
    def inbox_id(self) -> str:
        return self._inbox_id

    def conversation(self, conversation_id: str) -> ConversationView | None:
        c = self.network.conversations.get(conversation_id)
        if c is None or self._inbox_id not in c.member_ids:
            return None
        return ConversationView(c, self._inbox_id)

    def message(self, message_id: str) -> XmtpMessage | None:
        if message_id in self.network.forgotten.get(self._inbox_id, set()):
            return None
        for c in self.network.conversations.values():
            if self._inbox_id in c.member_ids:
                for m in c.messages_:
                    if m.id == message_id:
                        return m
        return None

    async def list_conversations(self) -> Sequence[ConversationView]:
        return [
            ConversationView(c, self._inbox_id)
            for c in self.network.conversations.values()
            if self._inbox_id in c.member_ids
        ]

    async def forget_messages(self, conversation_id: str, *, keep: int, before_ns: int) -> int:
        await asyncio.sleep(0)
        forgotten = self.network.forgotten.setdefault(self._inbox_id, set())
        stored = [m for m in self.network.conversations[conversation_id].messages_ if m.id not in forgotten]
        gone = [m.id for m in stored[: max(0, len(stored) - keep)] if m.sent_at_ns < before_ns]
        forgotten.update(gone)
        return len(gone)

    def close(self) -> None:
        self.closed = True


class FakeNetwork:
    """The fake XMTP network, and the client factory of the gateway under test."""

    def __init__(self) -> None:
        self.conversations: dict[str, FakeConversation] = {}
        self.clients: dict[str, FakeClient] = {}
        self.sent: list[Sent] = []
        self.reads = 0
        self.forgotten: dict[str, set[str]] = {}
        """inbox id -> ids of messages that client deleted from its local store."""

    @staticmethod
    def inbox_of(identity: Identity) -> str:
        return hashlib.sha256(identity.keys.wallet_key).hexdigest()

    # -- ClientFactory --
    async def open(
        self, identity: Identity, *, allow_offline: bool = True, allow_new_installation: bool = False
    ) -> FakeClient:
        inbox = self.inbox_of(identity)
        client = self.clients[inbox] = FakeClient(self, inbox)
        return client

    def stream(
        self, client: Any, *, name: str, since_ns: int | None, on_state: Callable[[str], None] | None = None
    ) -> FakeStream:
        return FakeStream(client, since_ns)

    # -- the world --
    def group(self, *members: str, dm: bool = False) -> FakeConversation:
        cid = f"conv{next(_ids):06d}"
        kind = ConversationKind.DM if dm else ConversationKind.GROUP
        c = self.conversations[cid] = FakeConversation(self, cid, kind, list(members))
        return c

    def deliver(self, message: XmtpMessage, member_ids: list[str]) -> None:
        for inbox in member_ids:
            if inbox == message.sender_inbox_id:
                continue
            client = self.clients.get(inbox)
            if client is not None:
                for stream in client.streams:
                    if stream.state == "connected":
                        stream.queue.put_nowait(message)

    def sent_to(self, conversation_id: str, sender: str | None = None) -> list[out.Outbound]:
        """What was sent in a conversation, without profile updates and presence (typing, thinking,
        read receipts)."""
        return [
            s.item
            for s in self.sent
            if s.conversation_id == conversation_id
            and (sender is None or s.sender == sender)
            and not isinstance(s.item, out.ProfileUpdate | out.Typing | out.Thinking | out.ReadReceipt)
        ]
