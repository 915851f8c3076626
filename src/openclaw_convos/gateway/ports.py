"""What the runtime uses of XMTP, as small protocols: the seam between the gateway and ``xmtp/``.

:class:`~openclaw_convos.xmtp.factory.LibxmtpFactory` implements :class:`ClientFactory` with real
libxmtp clients; the test suite has an in-memory fake that records every send as a value. The
runtime only ever sends :data:`~openclaw_convos.xmtp.outbound.Outbound` values through
:meth:`ConversationPort.publish`, never wire bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from ..xmtp import ConversationKind, Identity, Member, XmtpMessage
from ..xmtp.outbound import Outbound


class ConversationPort(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> ConversationKind: ...

    async def publish(self, item: Outbound) -> str:
        """Send ``item``; returns the message id once the node has it (raises otherwise)."""
        ...

    async def sync(self) -> None: ...

    async def messages(
        self, *, after_ns: int | None = None, limit: int | None = None, application_only: bool = False
    ) -> list[XmtpMessage]: ...

    async def members(self) -> list[Member]: ...

    @property
    def app_data(self) -> str:
        """The group's Convos metadata as stored locally (no request)."""
        ...

    def is_active(self) -> bool:
        """False once we were removed from the conversation."""
        ...

    async def leave(self) -> None: ...


class ClientPort(Protocol):
    @property
    def inbox_id(self) -> str: ...

    def conversation(self, conversation_id: str) -> ConversationPort | None: ...

    def message(self, message_id: str) -> XmtpMessage | None: ...

    async def list_conversations(self) -> Sequence[ConversationPort]: ...

    async def forget_messages(self, conversation_id: str, *, keep: int, before_ns: int) -> int:
        """Delete local copies of the conversation's oldest messages: all but the newest ``keep``,
        and only those sent before ``before_ns``. Returns how many."""
        ...

    def close(self) -> None: ...


class StreamPort(Protocol):
    state: str
    reconnects: int

    async def start(self) -> None:
        """Open the stream and return once the first catch-up is done."""
        ...

    async def close(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[XmtpMessage]: ...


class ClientFactory(Protocol):
    async def open(
        self, identity: Identity, *, allow_offline: bool = True, allow_new_installation: bool = False
    ) -> ClientPort: ...

    def stream(
        self,
        client: Any,
        *,
        name: str,
        since_ns: int | None,
        on_state: Callable[[str], None] | None = None,
    ) -> StreamPort: ...
