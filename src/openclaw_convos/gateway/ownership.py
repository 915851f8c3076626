"""Who owns the gateway: the owner conversation and the owners' inbox ids.

The owner set is kept in the state database (table ``owners``); changes are announced to
listeners (``on_change``), so the CLI learns of a new owner conversation without polling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .state import GatewayState

log = logging.getLogger("openclaw_convos.gateway.ownership")

Listener = Callable[["Ownership"], None]


class Ownership:
    def __init__(self, state: GatewayState, conversation_id: str | None = None) -> None:
        self._state = state
        self._owners: set[str] = set()
        self._conversation_id = conversation_id
        self._listeners: list[Listener] = []

    async def load(self) -> None:
        self._owners = await self._state.owners()

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                log.exception("an ownership listener failed")

    @property
    def conversation_id(self) -> str | None:
        return self._conversation_id

    def set_conversation(self, conversation_id: str) -> None:
        if conversation_id != self._conversation_id:
            self._conversation_id = conversation_id
            self._changed()

    @property
    def owners(self) -> frozenset[str]:
        return frozenset(self._owners)

    def is_owner(self, inbox_id: str) -> bool:
        return inbox_id in self._owners

    async def add(self, inbox_id: str) -> None:
        if inbox_id not in self._owners:
            await self._state.add_owner(inbox_id)
            self._owners.add(inbox_id)
            self._changed()
