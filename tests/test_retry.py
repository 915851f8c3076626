from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_convos.retry import Backoff, retry


class Transient(Exception):
    pass


class Fatal(Exception):
    pass


async def test_retries_transient_then_succeeds() -> None:
    sleeps: list[float] = []
    calls = 0

    async def op() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise Transient
        return "ok"

    async def sleep(d: float) -> None:
        sleeps.append(d)

    backoff = Backoff(initial=1, factor=2, maximum=3, jitter=0)
    result = await retry(op, is_transient=lambda e: isinstance(e, Transient), backoff=backoff, sleep=sleep)
    assert result == "ok"
    assert sleeps == [1, 2, 3]


async def test_fatal_is_raised_at_once_and_attempts_run_out() -> None:
    async def fatal() -> None:
        raise Fatal

    async def transient() -> None:
        raise Transient

    async def sleep(d: float) -> None:
        pass

    with pytest.raises(Fatal):
        await retry(fatal, is_transient=lambda e: isinstance(e, Transient), sleep=sleep)
    with pytest.raises(Transient):
        await retry(transient, is_transient=lambda e: True, max_attempts=3, sleep=sleep)


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=1))
def test_delay_is_bounded(attempt: int, r: float) -> None:
    b = Backoff(initial=0.1, factor=3, maximum=5, jitter=0.2)
    assert 0 <= b.delay(attempt, lambda: r) <= 5 * 1.2


class Asked(Exception):
    def __init__(self, seconds: float | None) -> None:
        super().__init__(f"retry after {seconds}")
        self.seconds = seconds


async def test_a_delay_the_error_asks_for_is_waited_at_least_and_a_deadline_ends_retries() -> None:
    now = 100.0
    sleeps: list[float] = []

    async def sleep(d: float) -> None:
        nonlocal now
        sleeps.append(d)
        now += d

    asked = iter([Asked(5.0), Asked(None), Asked(0.1), Asked(30.0)])

    async def op() -> str:
        raise next(asked)

    with pytest.raises(Asked) as raised:
        await retry(
            op,
            is_transient=lambda e: isinstance(e, Asked),
            backoff=Backoff(initial=1, factor=2, maximum=8, jitter=0),
            sleep=sleep,
            retry_after=lambda e: e.seconds if isinstance(e, Asked) else None,
            deadline=130.0,
            clock=lambda: now,
        )
    # 5 s asked (more than the 1 s backoff), then the backoff's 2 s, then its 4 s (more than the
    # 0.1 s asked); the 30 s asked last would end after the deadline: raised without waiting
    assert sleeps == [5.0, 2.0, 4.0]
    assert raised.value.seconds == 30.0
    assert now == 111.0
