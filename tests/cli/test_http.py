"""``run --http``: /healthz, /readyz and Prometheus /metrics of a real gateway process, and
``--log-format json``."""

from __future__ import annotations

import asyncio
import json
import re
import signal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Cli


def samples(text: str) -> dict[str, float]:
    """``name{label="v"}`` -> value, for every sample of the scrape."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_metrics_move_after_one_answered_message(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Alice & agent")
    configured = await cli("configure", "--non-interactive", *cli.net, "--invite", alice.invite(room))
    assert configured.code == 0, configured.text

    gateway = cli.spawn("run", "--http", "127.0.0.1:0", "--log-format", "json")
    banner = gateway.wait_for_line("Convos gateway running")
    url = re.search(r"Health and metrics on (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for _ in range(50):  # the first snapshot comes with the first tick
            ready = await http.get("/readyz")
            if ready.status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert ready.status_code == 200 and ready.json()["health"] == "healthy", ready.text
        assert (await http.get("/healthz")).json()["ok"] is True
        assert (await http.get("/nothing")).status_code == 404
        before = samples((await http.get("/metrics")).text)
        assert before["convos_identities"] == 1 and before["convos_conversations"] == 1
        assert before.get('convos_agent_turns_total{outcome="answered"}', 0) == 0
        assert before["convos_agent_latency_seconds_count"] == 0

        await alice.say(room.id, "hello agent")
        await alice.wait_for(lambda s: s.text == "hello agent" and s.sender_inbox_id != alice.inbox_id)
        for _ in range(50):  # messages received are read from the state database each second
            after = samples((await http.get("/metrics")).text)
            if after.get('convos_messages_received_total{state="done"}', 0) >= 1:
                break
            await asyncio.sleep(0.2)
    assert after['convos_agent_turns_total{outcome="answered"}'] == 1
    assert after["convos_messages_sent_total"] == before.get("convos_messages_sent_total", 0) + 1
    assert after["convos_agent_latency_seconds_count"] == 1
    assert after['convos_messages_received_total{state="done"}'] >= 1
    assert after['convos_health{state="healthy"}'] == 1
    assert "convos_stream_reconnects_total" in after and "convos_pairing_requests" in after

    assert gateway.stop(signal.SIGTERM) == 0
    logs = [json.loads(line) for line in gateway.output.splitlines() if line.startswith("{")]
    assert logs and all({"time", "level", "logger", "message"} <= set(entry) for entry in logs)
    assert any(entry["message"] == "health: healthy (was starting)" for entry in logs), logs
