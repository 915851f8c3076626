"""Is the gateway well? One pure decision, read by ``status``, ``doctor``, the Docker health check,
systemd and ``/healthz``.

The running gateway records in its state database a heartbeat (``heartbeat_unix``, at least every
5 s), its stream health (``health``: healthy, degraded, idle) and the problems of single
conversations (``problems``: identity id -> what is wrong). :func:`assess` turns that record, the
gateway lock and the time this run began into a :class:`Health`: a state, whether it is fine
(``ok``), and what to do when it is not. No I/O and no clock reads here: ``now`` is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "PROBLEMS_KEY",
    "STALE_AFTER_SECONDS",
    "START_GRACE_SECONDS",
    "Health",
    "HealthState",
    "assess",
    "conversation_problem",
    "decode_problems",
    "encode_problems",
]

HealthState = Literal["healthy", "starting", "degraded", "stuck", "idle", "stopped"]

#: No heartbeat for this long: the gateway is stuck (it writes one at least every 5 s).
STALE_AFTER_SECONDS = 30.0
#: A run may take this long to open its identities and start its streams before it counts as stuck.
START_GRACE_SECONDS = 90.0
#: The activity key holding the per-conversation problems as JSON.
PROBLEMS_KEY = "problems"


@dataclass(frozen=True, slots=True)
class Health:
    state: HealthState
    ok: bool
    """True when the gateway runs and serves (a health check passes); problems of single
    conversations do not change it: restarting cannot fix them."""
    detail: str
    action: str | None = None
    heartbeat_age: float | None = None
    problems: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "ok": self.ok,
            "detail": self.detail,
            "action": self.action,
            "heartbeatAgeSeconds": None if self.heartbeat_age is None else round(self.heartbeat_age, 1),
            "problems": dict(self.problems),
        }


def encode_problems(problems: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(problems.items())), ensure_ascii=False)


def decode_problems(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def assess(
    *,
    running: bool,
    run_started_unix: float | None,
    activity: Mapping[str, str],
    now: float,
) -> Health:
    """The gateway's health from its record (``activity``), the lock (``running``) and the time
    this run took the lock (``run_started_unix``; None when unknown)."""
    problems = decode_problems(activity.get(PROBLEMS_KEY))
    if not running:
        return Health(
            "stopped",
            False,
            "the gateway is not running",
            "start it: `openclaw-convos run`",
            problems=problems,
        )
    beat = _float(activity.get("heartbeat_unix"))
    fresh_run = beat is None or (run_started_unix is not None and beat < run_started_unix)
    if fresh_run:
        since = None if run_started_unix is None else max(0.0, now - run_started_unix)
        if since is not None and since <= START_GRACE_SECONDS:
            return Health("starting", True, f"starting ({since:.0f} s ago)", problems=problems)
        waited = f"started {since:.0f} s ago and " if since is not None else ""
        return Health(
            "stuck",
            False,
            f"{waited}not serving yet: it is still opening identities or waiting for the XMTP node",
            "check the node with `openclaw-convos doctor` and the gateway's log; the log says what it waits for",
            problems=problems,
        )
    assert beat is not None
    age = max(0.0, now - beat)
    if age > STALE_AFTER_SECONDS:
        return Health(
            "stuck",
            False,
            f"no heartbeat for {age:.0f} s: the gateway process is not responding",
            "restart it (systemctl restart openclaw-convos / docker restart); the log may say why",
            heartbeat_age=age,
            problems=problems,
        )
    recorded = activity.get("health", "")
    if recorded == "healthy":
        return Health("healthy", True, "serving every conversation", heartbeat_age=age, problems=problems)
    if recorded == "idle":
        return Health(
            "idle",
            False,
            "running, but no identity is open",
            "set it up: `openclaw-convos configure` (or `invite create`), then restart it",
            heartbeat_age=age,
            problems=problems,
        )
    return Health(
        "degraded",
        False,
        "the XMTP node does not answer: streams are reconnecting, nothing is received or sent",
        "check the network and the node (`openclaw-convos doctor`); the gateway reconnects by itself",
        heartbeat_age=age,
        problems=problems,
    )


def conversation_problem(
    conversation_id: str,
    *,
    active: bool,
    expires_at_unix: int | None,
    now_unix: float,
    is_owner_conversation: bool,
    owners: frozenset[str],
    members: frozenset[str],
) -> str | None:
    """What is wrong with one of our conversations, in words for ``status``, or None.

    ``active`` is libxmtp's word that we are still a member; ``expires_at_unix`` the Convos
    explode time from the conversation's appData; ``owners`` the inbox ids the gateway treats as
    its owners (empty: not known, then nobody is said to have left).
    """
    short = conversation_id[:8]
    if expires_at_unix is not None and expires_at_unix <= now_unix:
        return (
            f"conversation {short} exploded: it expired and its members were removed; nothing is "
            "received or sent there any more (remove its identity, or make a new conversation)"
        )
    if not active:
        return (
            f"removed from conversation {short}: the agent is no longer a member and hears nothing "
            "there; ask a member to invite it again (a new invite), or leave it be"
        )
    if is_owner_conversation and owners and not owners & members:
        return (
            f"the owner left the owner conversation {short}: pairing requests and notices reach "
            "nobody there; set up a new owner conversation (`openclaw-convos configure` or "
            "`openclaw-convos invite create`), or approve with `openclaw-convos pairing approve`"
        )
    return None
