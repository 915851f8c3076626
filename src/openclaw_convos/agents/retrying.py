"""Transient backend errors are tried again, within the turn's time.

:class:`RetryingAgent` wraps a backend: an error whose ``transient`` is true (HTTP 429 and 5xx,
a timeout, a backend that cannot be reached) is retried with exponential backoff, waiting at least
what the backend asked for (``Retry-After``), as long as the wait ends inside the turn's time
(``turn_timeout``, the gateway's own per-turn deadline). Only when no try is left does the error
reach the gateway, which then sends its apology. Fatal errors (a bad request, a wrong API key, an
unreadable answer) are raised at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from ..errors import AgentError
from ..retry import Backoff, retry
from .base import Agent, AgentBase, AgentReply, AgentTurn

__all__ = ["DEFAULT_ATTEMPTS", "DEFAULT_TURN_TIMEOUT", "RETRY_BACKOFF", "RetryingAgent", "is_transient"]

log = logging.getLogger(__name__)

#: The gateway's per-turn deadline unless told otherwise (``GatewaySettings.turn_timeout``).
DEFAULT_TURN_TIMEOUT = 120.0
#: Tries per turn, the first included.
DEFAULT_ATTEMPTS = 4
RETRY_BACKOFF = Backoff(initial=1.0, factor=2.0, maximum=20.0, jitter=0.2)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, AgentError) and bool(getattr(error, "transient", False))


def _retry_after(error: BaseException) -> float | None:
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


class RetryingAgent(AgentBase):
    """``inner`` with retries of its transient errors; ``name`` and closing are the inner's."""

    def __init__(
        self,
        inner: Agent,
        *,
        turn_timeout: float = DEFAULT_TURN_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: Backoff = RETRY_BACKOFF,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if turn_timeout <= 0 or attempts < 1:
            raise ValueError("turn_timeout must be positive and attempts at least 1")
        self.inner = inner
        self.name = inner.name
        self._turn_timeout = turn_timeout
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"RetryingAgent({self.inner!r}, attempts={self._attempts}, turn_timeout={self._turn_timeout:g})"
        )

    async def respond(self, turn: AgentTurn) -> AgentReply:
        return await retry(
            lambda: self.inner.respond(turn),
            is_transient=is_transient,
            backoff=self._backoff,
            max_attempts=self._attempts,
            what=f"agent {self.name} on {turn.message_id}",
            sleep=self._sleep,
            retry_after=_retry_after,
            deadline=self._clock() + self._turn_timeout,
            clock=self._clock,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
