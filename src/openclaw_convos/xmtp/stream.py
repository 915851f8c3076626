"""One stream of all messages of a client, delivered into asyncio, that survives node outages.

libxmtp calls stream callbacks on its own threads, does not reopen a broken stream (v1.10.0),
and does not replay what was sent while it was down. :class:`MessageStream` hands every callback
to the event loop, reopens the stream with backoff, and after each (re)open catches up by syncing
all conversations and reading what arrived since the last message it delivered. Messages are
de-duplicated by id, so the consumer sees each message once per stream object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ..errors import ConvosError
from ..retry import Backoff
from .binding import ffi
from .client import XmtpClient, call, to_message
from .types import XmtpMessage

log = logging.getLogger("openclaw_convos.xmtp.stream")
_SAY_DOWN_FIRST = 60.0
_SAY_DOWN_GROWTH = 3.0

_CATCH_UP_SLACK_NS = 2_000_000_000
"""Catch-up reads from this long before the newest delivered message (clock skew between senders)."""


@dataclass(frozen=True, slots=True)
class _Event:
    kind: str  # "message" | "error" | "close"
    message: ffi.FfiMessage | None = None
    error: str | None = None


class _Callback(ffi.FfiMessageCallback):
    """Runs on a Rust thread: does nothing but hand the event to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[_Event]) -> None:
        self._loop = loop
        self._queue = queue

    def _put(self, event: _Event) -> None:
        # RuntimeError: the loop is closed, we are shutting down.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def on_message(self, message: ffi.FfiMessage) -> None:
        self._put(_Event("message", message=message))

    def on_error(self, error: BaseException) -> None:
        self._put(_Event("error", error=str(error)))

    def on_close(self) -> None:
        self._put(_Event("close"))


class MessageStream:
    """All messages of ``client`` (welcomes included), as an async iterator.

    ``since_ns``: also deliver stored messages sent after this time when the stream first opens
    (the consumer's persisted cursor). ``include_own``: deliver the client's own messages too.
    ``on_state`` is told ``"connected"`` / ``"reconnecting"`` as the stream's health changes.
    """

    def __init__(
        self,
        client: XmtpClient,
        *,
        name: str | None = None,
        since_ns: int | None = None,
        include_own: bool = False,
        backoff: Backoff = Backoff(initial=0.25, factor=2.0, maximum=8.0),
        on_state: Callable[[str], None] | None = None,
        dedupe_window: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.client = client
        self.name = name or client.inbox_id[:12]
        self._since_ns = since_ns
        self._include_own = include_own
        self._backoff = backoff
        self._on_state = on_state
        self._out: asyncio.Queue[XmtpMessage | BaseException] = asyncio.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dedupe_window = dedupe_window
        self._newest_ns = since_ns or 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closed = False
        self.state = "starting"
        self.reconnects = 0
        self._down_since: float | None = None
        self._say_down_after = _SAY_DOWN_FIRST

    # -- lifecycle --
    async def start(self) -> None:
        """Open the stream and wait until the first catch-up is done."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"convos:stream:{self.name}")
        ready = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._task.done() and not self._ready.is_set():
            self._task.result()  # re-raise the fatal error

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> MessageStream:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[XmtpMessage]:
        return self

    async def __anext__(self) -> XmtpMessage:
        if self._closed and self._out.empty():
            raise StopAsyncIteration
        item = await self._out.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def get(self, timeout: float | None = None) -> XmtpMessage:
        """The next message, waiting at most ``timeout`` seconds (TimeoutError)."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    # -- internals --
    def _failed(self, error: str) -> None:
        """Say that the stream is down once, then again after 1 min, 3 min, 9 min, ... (not at
        every reconnect attempt, which comes every few seconds while the node is away)."""
        now = self._clock()
        if self._down_since is None:
            self._down_since, self._say_down_after = now, _SAY_DOWN_FIRST
            log.warning("message stream of %s failed; reconnecting: %s", self.name, error)
            return
        down = now - self._down_since
        if down >= self._say_down_after:
            self._say_down_after *= _SAY_DOWN_GROWTH
            log.warning("message stream of %s still down after %.0f s: %s", self.name, down, error)
        else:
            log.debug("message stream of %s: %s", self.name, error)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self._on_state is not None:
                self._on_state(state)

    def _deliver(self, message: XmtpMessage) -> None:
        if message.id in self._seen:
            return
        self._seen[message.id] = None
        if len(self._seen) > self._dedupe_window:
            self._seen.popitem(last=False)
        self._newest_ns = max(self._newest_ns, message.sent_at_ns)
        if not self._include_own and message.sender_inbox_id == self.client.inbox_id:
            return
        self._out.put_nowait(message)

    async def _catch_up(self, after_ns: int | None) -> None:
        await self.client.sync_all()
        if after_ns is None:
            return
        for conversation in await self.client.list_conversations():
            for message in await conversation.messages(after_ns=after_ns):
                self._deliver(message)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        first = True
        while not self._closed:
            events: asyncio.Queue[_Event] = asyncio.Queue()
            callback = _Callback(loop, events)
            closer: ffi.FfiStreamCloser | None = None
            try:
                closer = await call(
                    f"open the message stream of {self.name}",
                    self.client.raw_conversations.stream_all_messages(callback, None),
                )
                await call(f"wait for the message stream of {self.name}", closer.wait_for_ready())
                if first:
                    after = self._since_ns
                else:
                    after = max(0, self._newest_ns - _CATCH_UP_SLACK_NS) if self._newest_ns else 0
                await self._catch_up(after)
                first = False
                attempt = 0
                if self._down_since is not None:
                    log.info(
                        "message stream of %s is back after %.0f s",
                        self.name,
                        self._clock() - self._down_since,
                    )
                    self._down_since = None
                self._set_state("connected")
                self._ready.set()
                while True:
                    event = await events.get()
                    if event.kind == "message" and event.message is not None:
                        self._deliver(to_message(event.message))
                    elif event.kind == "error":
                        self._failed(str(event.error))
                        break
                    else:
                        log.info("message stream of %s closed by libxmtp", self.name)
                        break
            except asyncio.CancelledError:
                raise
            except ConvosError as exc:
                self._failed(str(exc))
            finally:
                if closer is not None:
                    with contextlib.suppress(Exception):
                        closer.end()
            if self._closed:
                break
            self._set_state("reconnecting")
            self.reconnects += 1
            delay = self._backoff.delay(attempt)
            attempt += 1
            await asyncio.sleep(delay)
