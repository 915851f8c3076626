"""The agent seen by the runtime in bridge mode: each turn goes to OpenClaw and back.

:class:`BridgeAgent` implements :class:`~openclaw_convos.agents.Agent`. ``respond`` writes a
``turn`` event and waits until the plugin reports ``turn.done`` for it (with the reply text, a
reaction, or nothing). The runtime keeps doing everything around the turn: exactly-once records,
typing indicators while OpenClaw's agent works, chunking, replies, history.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from ..agents import AgentBase, AgentReply, AgentTurn
from .protocol import TurnDoneCommand, turn_event

__all__ = ["BridgeAgent"]


class BridgeAgent(AgentBase):
    """Forwards turns over the bridge; ``complete`` resolves them."""

    name = "openclaw"

    def __init__(
        self,
        emit: Callable[[str], None],
        *,
        is_own: Callable[[str], bool] = lambda _inbox: False,
        is_owner: Callable[[str], bool] = lambda _inbox: False,
    ) -> None:
        self._emit = emit
        self.is_own = is_own
        """True for an inbox id of ours (another of our identities): never a turn."""
        self.is_owner = is_owner
        self._pending: dict[str, asyncio.Future[AgentReply]] = {}
        self._ids = itertools.count(1)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def respond(self, turn: AgentTurn) -> AgentReply:
        if self.is_own(turn.sender_inbox_id):
            return AgentReply()
        turn_id = f"{turn.message_id[:16]}-{next(self._ids)}"
        future: asyncio.Future[AgentReply] = asyncio.get_running_loop().create_future()
        self._pending[turn_id] = future
        try:
            self._emit(turn_event(turn_id, turn, is_owner=self.is_owner(turn.sender_inbox_id)))
            return await future
        finally:
            self._pending.pop(turn_id, None)

    def complete(self, command: TurnDoneCommand) -> bool:
        """Resolve the turn ``command`` names; False when no such turn is waiting."""
        future = self._pending.get(command.turn_id)
        if future is None or future.done():
            return False
        future.set_result(AgentReply(text=command.text, react=command.react))
        return True

    def __repr__(self) -> str:
        return f"BridgeAgent(pending={len(self._pending)})"
