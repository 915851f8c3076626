"""The production client factory: real libxmtp clients and streams over a shared backend pool."""

from __future__ import annotations

from collections.abc import Callable

from .client import BackendPool, XmtpClient
from .endpoints import Endpoint
from .stream import MessageStream
from .types import Identity


class LibxmtpFactory:
    """Opens :class:`XmtpClient` s and their :class:`MessageStream` s (the gateway's client port)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.pool = BackendPool(endpoint)

    async def open(
        self, identity: Identity, *, allow_offline: bool = True, allow_new_installation: bool = False
    ) -> XmtpClient:
        return await XmtpClient.open(
            identity, self.pool, allow_offline=allow_offline, allow_new_installation=allow_new_installation
        )

    def stream(
        self,
        client: object,
        *,
        name: str,
        since_ns: int | None,
        on_state: Callable[[str], None] | None = None,
    ) -> MessageStream:
        if not isinstance(client, XmtpClient):
            raise TypeError(f"a libxmtp stream needs an XmtpClient, not {type(client).__name__}")
        return MessageStream(client, name=name, since_ns=since_ns, on_state=on_state)
