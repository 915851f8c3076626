"""The metrics' own parts: the listen address, the metered agent, the health endpoints' answers."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from openclaw_convos.agents import AgentReply, AgentTurn, AgentUnavailable
from openclaw_convos.errors import ConfigError
from openclaw_convos.gateway.metrics import GatewayMetrics, Snapshot, parse_listen_address

TURN = AgentTurn(conversation_id="c", sender_inbox_id="s", text="t", message_id="m")


def test_listen_addresses() -> None:
    assert parse_listen_address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen_address("[::1]:0") == ("::1", 0)
    for bad in ("9464", "localhost", ":80", "host:port", "h:70000"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_listen_address(bad)


async def test_turns_are_counted_by_outcome_and_errors_by_class() -> None:
    replies: list[AgentReply | Exception] = [AgentReply(text="hi"), AgentReply(react="👍"), AgentReply()]
    replies.append(AgentUnavailable("down"))

    class Scripted:
        name = "scripted"

        async def respond(self, turn: AgentTurn) -> AgentReply:
            item = replies.pop(0)
            if isinstance(item, Exception):
                raise item
            return item

        async def aclose(self) -> None:
            return None

    metrics = GatewayMetrics()
    agent = metrics.wrap(Scripted())
    for _ in range(3):
        await agent.respond(TURN)
    with pytest.raises(AgentUnavailable):
        await agent.respond(TURN)
    text = generate_latest(metrics.registry).decode()
    for line in (
        'convos_agent_turns_total{outcome="answered"} 1.0',
        'convos_agent_turns_total{outcome="reacted"} 1.0',
        'convos_agent_turns_total{outcome="silent"} 1.0',
        'convos_agent_turns_total{outcome="failed"} 1.0',
        'convos_agent_errors_total{kind="AgentUnavailable"} 1.0',
        "convos_agent_latency_seconds_count 4.0",
        "convos_messages_sent_total 1.0",
    ):
        assert line in text, line


def test_snapshot_values_are_exported() -> None:
    now = 100.0
    metrics = GatewayMetrics(clock=lambda: now)
    metrics.update(
        Snapshot(
            taken_at=95.0,
            health="degraded",
            messages={"done": 3, "ignored": 1},
            pairing_requests=2,
            reconnects=4,
        )
    )
    text = generate_latest(metrics.registry).decode()
    for line in (
        'convos_messages_received_total{state="done"} 3.0',
        'convos_messages_received_total{state="ignored"} 1.0',
        "convos_pairing_requests 2.0",
        "convos_stream_reconnects_total 4.0",
        'convos_health{state="degraded"} 1.0',
        "convos_snapshot_age_seconds 5.0",
    ):
        assert line in text, line
