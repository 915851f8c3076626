"""Transient backend errors are tried again within the turn's time; the rest fail at once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from openclaw_convos.agents import (
    AgentConfig,
    AgentHTTPError,
    AgentReply,
    AgentTurn,
    AgentUnavailable,
    OpenAICompatibleAgent,
    RetryingAgent,
    build_agent,
)
from openclaw_convos.retry import Backoff

from .chat_server import ChatServer, Reply, completion, unused_port

TURN = AgentTurn(conversation_id="c" * 32, sender_inbox_id="a" * 64, text="hi", message_id="m1")
NO_WAIT = Backoff(initial=0.01, factor=1.0, maximum=0.01, jitter=0)


@pytest.fixture
async def server() -> AsyncIterator[ChatServer]:
    async with ChatServer() as srv:
        yield srv


def config(server: ChatServer) -> AgentConfig:
    return AgentConfig(kind="openai", base_url=server.base_url, model="m", timeout_seconds=5.0)


async def test_429_with_retry_after_then_200_gives_the_answer(server: ChatServer) -> None:
    server.replies = [
        Reply(status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "1"}),
        Reply(body=completion("the answer")),
    ]
    agent = build_agent(config(server))
    started = time.monotonic()
    try:
        reply = await agent.respond(TURN)
    finally:
        await agent.aclose()
    assert reply == AgentReply(text="the answer")
    assert len(server.requests) == 2
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured


async def test_5xx_and_unreachable_are_retried_until_the_tries_run_out(server: ChatServer) -> None:
    server.replies = [Reply(status=503, body={"error": "busy"}) for _ in range(5)]
    inner = OpenAICompatibleAgent(base_url=server.base_url, model="m", timeout_seconds=5.0)
    async with RetryingAgent(inner, attempts=3, backoff=NO_WAIT) as agent:
        with pytest.raises(AgentHTTPError) as raised:
            await agent.respond(TURN)
    assert raised.value.status == 503 and len(server.requests) == 3

    down = OpenAICompatibleAgent(base_url=f"http://127.0.0.1:{unused_port()}/v1", model="m")
    calls = 0
    real = down.respond

    async def counted(turn: AgentTurn) -> AgentReply:
        nonlocal calls
        calls += 1
        return await real(turn)

    down.respond = counted  # type: ignore[method-assign]
    async with RetryingAgent(down, attempts=2, backoff=NO_WAIT) as agent:
        with pytest.raises(AgentUnavailable):
            await agent.respond(TURN)
    assert calls == 2


async def test_fatal_errors_and_waits_past_the_turn_time_are_not_retried(server: ChatServer) -> None:
    server.replies = [Reply(status=401, body={"error": "bad key"}), Reply(body=completion("never"))]
    agent = build_agent(config(server))
    with pytest.raises(AgentHTTPError) as raised:
        await agent.respond(TURN)
    assert raised.value.status == 401 and len(server.requests) == 1

    # the backend asks for 10 minutes, the turn has 2: the error comes back at once
    server.replies = [
        Reply(status=429, body={}, headers={"Retry-After": "600"}),
        Reply(body=completion("late")),
    ]
    started = time.monotonic()
    with pytest.raises(AgentHTTPError) as raised:
        await agent.respond(TURN)
    await agent.aclose()
    assert raised.value.status == 429 and raised.value.retry_after == 600.0
    assert len(server.requests) == 2 and time.monotonic() - started < 1.0


async def test_the_turn_time_bounds_the_retries() -> None:
    now = 0.0
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        nonlocal now
        sleeps.append(seconds)
        now += seconds

    class Flaky:
        name = "flaky"

        async def respond(self, turn: AgentTurn) -> AgentReply:
            nonlocal now
            now += 10.0  # each try takes 10 s
            raise AgentHTTPError("busy", status=503)

        async def aclose(self) -> None:
            return None

    agent = RetryingAgent(
        Flaky(),
        turn_timeout=45.0,
        attempts=10,
        backoff=Backoff(initial=4, factor=2, maximum=100, jitter=0),
        sleep=sleep,
        clock=lambda: now,
    )
    with pytest.raises(AgentHTTPError):
        await agent.respond(TURN)
    # 10 s try, 4 s wait, 10 s try, 8 s wait, 10 s try (at 42 s): a 16 s wait would pass 45 s
    assert sleeps == [4, 8] and now == 42.0


def test_retry_after_as_seconds_or_an_http_date() -> None:
    from datetime import UTC, datetime

    from openclaw_convos.agents.openai_compat import _parse_retry_after

    now = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    assert _parse_retry_after("1", now) == 1.0
    assert _parse_retry_after("Thu, 03 Dec 2026 10:00:07 GMT", now) == 7.0
    assert _parse_retry_after("Thu, 03 Dec 2026 09:00:00 GMT", now) == 0.0
    assert _parse_retry_after("-3", now) is None
    assert _parse_retry_after("soon", now) is None
    assert _parse_retry_after(None, now) is None
