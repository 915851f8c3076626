"""Retry with exponential backoff: the one retry utility of the package.

Errors are split explicitly: a *transient* error is retried after a growing delay, anything else
is fatal and propagates at once. An error may name its own delay (an HTTP ``Retry-After``), which
is then waited at least; a deadline ends the retries early when the next wait would pass it.
Sleeping, the clock and randomness are injected so tests run instantly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("openclaw_convos.retry")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays ``initial * factor**n`` capped at ``maximum``, each spread by +-``jitter`` (a fraction)."""

    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 10.0
    jitter: float = 0.1

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The delay before retry number ``attempt`` (0-based)."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        spread = base * self.jitter * (2.0 * rand() - 1.0)
        return max(0.0, base + spread)


async def retry(
    operation: Callable[[], Awaitable[T]],
    *,
    is_transient: Callable[[BaseException], bool],
    backoff: Backoff = Backoff(),
    max_attempts: int | None = None,
    what: str = "operation",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    retry_after: Callable[[BaseException], float | None] | None = None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``operation`` until it succeeds, a fatal error is raised, or ``max_attempts`` is used up.

    ``max_attempts=None`` retries transient errors forever (until cancelled). ``retry_after(exc)``
    may name the least delay the error asks for (``None``: the backoff's). With ``deadline`` (a
    ``clock()`` value) a retry whose wait would end at or after it is not made. The last
    transient error is re-raised when the attempts or the time run out.
    """
    attempt = 0
    while True:
        try:
            return await operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            attempt += 1
            if max_attempts is not None and attempt >= max_attempts:
                raise
            delay = backoff.delay(attempt - 1)
            asked = retry_after(exc) if retry_after is not None else None
            if asked is not None:
                delay = max(delay, asked)
            if deadline is not None and clock() + delay >= deadline:
                log.info("%s failed (%s); no time left to retry in %.2fs", what, exc, delay)
                raise
            log.info("%s failed (%s); retry %d in %.2fs", what, exc, attempt, delay)
            await sleep(delay)
