"""Convos ``ExplodeSettings``: a conversation ends at a set time, and the agent goes with it.

The creator of a conversation sends ``convos.org/explode_settings`` (``expiresAt``: now or later),
then removes everyone. At that time the gateway leaves the conversation (if it is still a
member), stops serving it (its identity is not opened again), keeps no live state for it, and
tells the owner unless it was the owner conversation. The time is stored, so a restart before it
still honours it; a second notice for the same conversation keeps the earliest time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..errors import ConvosError
from ..xmtp import outbound as out

if TYPE_CHECKING:
    from .runtime import Gateway

log = logging.getLogger("openclaw_convos.gateway.explosions")

_PENDING = "explode:"
_DONE = "exploded:"


class Explosions:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.exploded: set[str] = set()
        self._scheduled: dict[str, float] = {}

    async def load(self) -> None:
        """Read what was exploded or scheduled before (call before the identities open)."""
        state = self.gw.state
        self.exploded = {key.removeprefix(_DONE) for key in await state.activity_values(_DONE)}
        for key, value in (await state.activity_values(_PENDING)).items():
            conversation_id = key.removeprefix(_PENDING)
            if conversation_id not in self.exploded:
                self._start(conversation_id, float(value))

    async def schedule(self, conversation_id: str, at: float) -> None:
        """A notice arrived: the conversation ends at ``at`` (Unix seconds)."""
        if conversation_id in self.exploded:
            return
        known = self._scheduled.get(conversation_id)
        if known is not None and known <= at:
            return
        await self.gw.state.set_activity(_PENDING + conversation_id, f"{at:.3f}")
        self._start(conversation_id, at)

    def _start(self, conversation_id: str, at: float) -> None:
        self._scheduled[conversation_id] = at
        self.gw.tasks.spawn(self._at(conversation_id, at), f"convos:explode:{conversation_id}")

    async def _at(self, conversation_id: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self.gw.clock()))
        if self._scheduled.get(conversation_id) != at or conversation_id in self.exploded:
            return  # an earlier time replaced this one, or it already happened
        await self.explode(conversation_id)

    async def explode(self, conversation_id: str) -> None:
        gw = self.gw
        host = gw.host_for_conversation(conversation_id)
        conversation = host.client.conversation(conversation_id) if host is not None else None
        name = getattr(conversation, "name", "") if conversation is not None else ""
        if conversation is not None:
            try:
                await conversation.leave()
            except ConvosError as exc:  # already removed by the creator: nothing to leave
                log.info("leaving exploded conversation %s: %s", conversation_id, exc)
        self.exploded.add(conversation_id)
        await gw.state.set_activity(_DONE + conversation_id, gw.now_iso())
        await gw.retire_conversation(conversation_id)
        log.info("conversation %s exploded: left it, no longer served", conversation_id)
        owner_conversation = gw.ownership.conversation_id
        if owner_conversation is None or owner_conversation == conversation_id:
            return
        route = gw.route(owner_conversation)
        if route is None:
            return
        label = f"“{name}” ({conversation_id[:8]}…)" if name else conversation_id
        text = f"The conversation {label} was exploded by its creator: I left it and no longer serve it."
        try:
            await route.conversation.publish(out.Text(text))
        except ConvosError as exc:
            log.warning("could not tell the owner that %s exploded: %s", conversation_id, exc)
