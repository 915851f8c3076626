"""Live fan-out of newly stored messages to open subscriptions.

A :class:`Subscription` has a bounded buffer (:data:`BUFFER_LIMIT` envelopes, as the reference
node). A push that finds it full closes the subscription with :attr:`CloseReason.OVERFLOW`; the
stream handler then ends the call. All methods run on the node's event-loop thread.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

BUFFER_LIMIT = 1024


class TopicKind(enum.Enum):
    """What a topic key identifies."""

    GROUP = "group"
    WELCOME = "welcome"


@dataclass(frozen=True)
class Topic:
    """A stream topic: a group id or an installation key."""

    kind: TopicKind
    key: bytes


@dataclass(frozen=True)
class Envelope:
    """One stored message as it is sent on a stream: its id and serialised protobuf."""

    topic: Topic
    id: int
    payload: bytes


class CloseReason(enum.Enum):
    """Why the dispatcher closed a subscription."""

    OVERFLOW = "overflow"
    SHUTDOWN = "shutdown"


class Subscription:
    """The live side of one stream: its topics and a bounded buffer of envelopes."""

    def __init__(self, topics: frozenset[Topic], limit: int = BUFFER_LIMIT) -> None:
        self.topics = topics
        self.limit = limit
        self.closed: CloseReason | None = None
        self._buffer: deque[Envelope] = deque()
        self._wake = asyncio.Event()

    def push(self, envelope: Envelope) -> None:
        """Buffer an envelope; close with OVERFLOW when the buffer is already full."""
        if self.closed is not None:
            return
        if len(self._buffer) >= self.limit:
            self.close(CloseReason.OVERFLOW)
            return
        self._buffer.append(envelope)
        self._wake.set()

    def close(self, reason: CloseReason) -> None:
        """Close the subscription (first reason wins) and drop what is buffered."""
        if self.closed is None:
            self.closed = reason
            self._buffer.clear()
            self._wake.set()

    def pop(self) -> Envelope | None:
        """The oldest buffered envelope, or None."""
        return self._buffer.popleft() if self._buffer else None

    def __len__(self) -> int:
        return len(self._buffer)

    async def wait(self, timeout: float | None) -> None:
        """Return when an envelope is buffered, the subscription closes, or ``timeout`` passes."""
        if self._buffer or self.closed is not None:
            return
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return


class Dispatcher:
    """Routes published envelopes to the subscriptions of their topic."""

    def __init__(self, limit: int = BUFFER_LIMIT) -> None:
        self.limit = limit
        self._by_topic: dict[Topic, set[Subscription]] = {}
        self._all: set[Subscription] = set()

    def subscribe(self, topics: Iterable[Topic]) -> Subscription:
        """Register a subscription for ``topics`` (possibly none)."""
        sub = Subscription(frozenset(topics), self.limit)
        self._all.add(sub)
        for topic in sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a subscription; safe to call twice."""
        self._all.discard(sub)
        for topic in sub.topics:
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_topic[topic]

    def publish(self, envelope: Envelope) -> None:
        """Push an envelope to every subscription of its topic; overflowing ones are dropped."""
        for sub in list(self._by_topic.get(envelope.topic, ())):
            sub.push(envelope)
            if sub.closed is not None:
                self.unsubscribe(sub)

    def close_all(self, reason: CloseReason) -> None:
        """Close every subscription, e.g. on shutdown."""
        for sub in list(self._all):
            sub.close(reason)
            self.unsubscribe(sub)

    @property
    def count(self) -> int:
        """Number of open subscriptions."""
        return len(self._all)
