"""Prometheus metrics, ``/healthz`` and ``/readyz`` for ``run --http HOST:PORT``.

Two kinds of numbers:
- counted where they happen: agent turns by outcome, agent latency, agent errors by kind
  (:class:`MeteredAgent` wraps the backend the gateway calls);
- read from the gateway once a second into a :class:`Snapshot` (``run``'s supervisor does it on
  the event loop): messages received by state (from the state database, so they survive a
  restart), pending pairing requests, identities, conversation problems, stream reconnects and
  the health. The HTTP server runs on a thread of its own and only reads the snapshot, so a scrape
  never touches the event loop, and a stuck loop shows as a snapshot growing old.

``/healthz`` (liveness): 200 while the gateway process responds (the snapshot is fresh), else 503.
``/readyz`` (readiness): 200 while it serves (health ``ok``: running, streams connected), else
503. Both answer a small JSON object. Everything uses one registry per gateway, no global state.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..agents.base import Agent, AgentReply, AgentTurn
from ..errors import ConfigError
from .health import STALE_AFTER_SECONDS

__all__ = ["GatewayMetrics", "HttpEndpoint", "MeteredAgent", "Snapshot", "parse_listen_address"]

log = logging.getLogger("openclaw_convos.gateway.metrics")

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the gateway looked like at ``taken_at`` (``time.monotonic()``)."""

    taken_at: float
    health: str = "starting"
    ok: bool = False
    messages: Mapping[str, int] = field(default_factory=dict)
    pairing_requests: int = 0
    identities: int = 0
    conversations: int = 0
    problems: int = 0
    reconnects: int = 0


class GatewayMetrics:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.turns = Counter(
            "convos_agent_turns",
            "Agent turns by outcome: answered (text), reacted, silent (nothing to send), failed",
            ["outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "convos_agent_errors",
            "Agent turns that ended in an error (after retries), by error class",
            ["kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "convos_agent_latency_seconds",
            "Time the agent took per turn, retries included",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.replies = Counter(
            "convos_messages_sent", "Answers the agent gave the gateway to send", registry=self.registry
        )
        self._snapshot = Snapshot(taken_at=clock())
        self._lock = threading.Lock()
        self.registry.register(_SnapshotCollector(self))

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    def snapshot_age(self) -> float:
        return self._clock() - self.snapshot.taken_at

    def wrap(self, agent: Agent) -> MeteredAgent:
        return MeteredAgent(agent, self)


class _SnapshotCollector(Collector):
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        snap = self._metrics.snapshot
        received = CounterMetricFamily(
            "convos_messages_received",
            "Messages received for the agent, by where they are now (received, replying, done, ignored)",
            labels=["state"],
        )
        for state, count in sorted(snap.messages.items()):
            received.add_metric([state], count)
        yield received
        yield CounterMetricFamily(
            "convos_stream_reconnects", "Times a message stream reconnected (this run)", value=snap.reconnects
        )
        yield GaugeMetricFamily(
            "convos_pairing_requests", "Pairing requests waiting for approval", value=snap.pairing_requests
        )
        yield GaugeMetricFamily(
            "convos_identities", "Identities open (one per conversation)", value=snap.identities
        )
        yield GaugeMetricFamily("convos_conversations", "Conversations served", value=snap.conversations)
        yield GaugeMetricFamily(
            "convos_problems", "Conversations (or the node) with a problem", value=snap.problems
        )
        up = GaugeMetricFamily("convos_health", "1 for the gateway's current health state", labels=["state"])
        up.add_metric([snap.health], 1)
        yield up
        yield GaugeMetricFamily(
            "convos_snapshot_age_seconds",
            "Seconds since the gateway last reported",
            value=self._metrics.snapshot_age(),
        )


class MeteredAgent:
    """The backend, counted: turns by outcome, latency, errors by class."""

    def __init__(self, inner: Agent, metrics: GatewayMetrics) -> None:
        self.inner = inner
        self.name = inner.name
        self._metrics = metrics

    async def respond(self, turn: AgentTurn) -> AgentReply:
        started = time.monotonic()
        try:
            reply = await self.inner.respond(turn)
        except Exception as exc:
            self._metrics.turns.labels("failed").inc()
            self._metrics.errors.labels(type(exc).__name__).inc()
            raise
        finally:
            self._metrics.latency.observe(time.monotonic() - started)
        if reply.text:
            self._metrics.turns.labels("answered").inc()
            self._metrics.replies.inc()
        elif reply.react:
            self._metrics.turns.labels("reacted").inc()
        else:
            self._metrics.turns.labels("silent").inc()
        return reply

    async def aclose(self) -> None:
        await self.inner.aclose()


def parse_listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6; port 0 picks a free one)."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--http wants HOST:PORT, e.g. 127.0.0.1:9464 (got {text!r})")
    return host, int(port)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class HttpEndpoint:
    """``/metrics``, ``/healthz`` and ``/readyz`` on a thread of their own."""

    def __init__(self, metrics: GatewayMetrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._prometheus = make_wsgi_app(metrics.registry)
        try:
            self._server: WSGIServer = make_server(host, port, self._app, handler_class=_Quiet)
        except OSError as exc:
            raise ConfigError(f"--http {host}:{port}: cannot listen there ({exc.strerror or exc})") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, name="convos:http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/readyz"):
            snap = self._metrics.snapshot
            age = self._metrics.snapshot_age()
            alive = age <= STALE_AFTER_SECONDS
            good = alive and (snap.ok if path == "/readyz" else True)
            body = json.dumps(
                {"ok": good, "health": snap.health if alive else "stuck", "snapshotAgeSeconds": round(age, 1)}
            ).encode()
            status = "200 OK" if good else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return iter([body])
        if path == "/metrics":
            return iter(self._prometheus(environ, start_response))
        body = b"not found: try /metrics, /healthz or /readyz\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return iter([body])
