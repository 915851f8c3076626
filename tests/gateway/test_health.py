"""The health decision, table-driven: what status, doctor, the health checks and /healthz say."""

from __future__ import annotations

import pytest

from openclaw_convos.gateway.health import (
    PROBLEMS_KEY,
    STALE_AFTER_SECONDS,
    START_GRACE_SECONDS,
    assess,
    decode_problems,
    encode_problems,
)

NOW = 1_800_000_000.0
STARTED = NOW - 600


def beat(age: float, health: str = "healthy", **extra: str) -> dict[str, str]:
    return {"heartbeat_unix": f"{NOW - age:.3f}", "health": health, **extra}


@pytest.mark.parametrize(
    ("running", "started", "activity", "state", "ok"),
    [
        (False, None, beat(1), "stopped", False),
        (True, STARTED, beat(2), "healthy", True),
        (True, STARTED, beat(2, "degraded"), "degraded", False),
        (True, STARTED, beat(2, "idle"), "idle", False),
        (True, STARTED, beat(STALE_AFTER_SECONDS + 1), "stuck", False),
        # the heartbeat is older than this run: the run has not finished starting
        (True, NOW - 5, beat(700), "starting", True),
        (True, NOW - START_GRACE_SECONDS - 1, beat(700), "stuck", False),
        (True, NOW - 5, {}, "starting", True),
        (True, None, {}, "stuck", False),
    ],
)
def test_health_states(
    running: bool, started: float | None, activity: dict[str, str], state: str, ok: bool
) -> None:
    health = assess(running=running, run_started_unix=started, activity=activity, now=NOW)
    assert (health.state, health.ok) == (state, ok)
    if not ok:
        assert health.action  # says what to do
    assert health.to_json()["state"] == state


def test_problems_are_listed_but_do_not_fail_the_health_check() -> None:
    problems = {"id1": "removed from conversation abc", "id2": "node data lost"}
    activity = beat(1, **{PROBLEMS_KEY: encode_problems(problems)})
    health = assess(running=True, run_started_unix=STARTED, activity=activity, now=NOW)
    assert health.ok and health.problems == problems
    assert health.to_json()["problems"] == problems
    assert decode_problems("not json") == {} and decode_problems("[1]") == {} and decode_problems(None) == {}


def test_conversation_problems() -> None:
    from openclaw_convos.gateway.health import conversation_problem

    base = {
        "active": True,
        "expires_at_unix": None,
        "now_unix": NOW,
        "is_owner_conversation": True,
        "owners": frozenset({"alice"}),
        "members": frozenset({"alice", "agent"}),
    }
    assert conversation_problem("c" * 32, **base) is None  # type: ignore[arg-type]
    cases = {
        "exploded": {"expires_at_unix": int(NOW) - 1, "active": False},
        "removed from conversation": {"active": False},
        "the owner left": {"members": frozenset({"agent", "bob"})},
    }
    for words, change in cases.items():
        problem = conversation_problem("c" * 32, **{**base, **change})  # type: ignore[arg-type]
        assert problem is not None and words in problem, (words, problem)
    # not the owner conversation, or owners not known: nobody "left"
    for change in ({"is_owner_conversation": False}, {"owners": frozenset()}):
        left = {**base, "members": frozenset({"agent"}), **change}
        assert conversation_problem("c" * 32, **left) is None  # type: ignore[arg-type]
    assert conversation_problem("c" * 32, **{**base, "expires_at_unix": int(NOW) + 60}) is None  # type: ignore[arg-type]


def test_sweeps_are_spread_out() -> None:
    from openclaw_convos.gateway.joindesk import sweep_delay

    assert sweep_delay(300, True, lambda: 0.0) == 300 and sweep_delay(300, True, lambda: 0.999) < 1
    assert sweep_delay(300, False, lambda: 0.0) == 225 and sweep_delay(300, False, lambda: 0.5) == 300
    assert 374 < sweep_delay(300, False, lambda: 0.999) <= 375
