"""The access decision, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openclaw_convos.gateway.access import DM_POLICIES, Action, Decision, Reason, decide
from openclaw_convos.gateway.pairing import PairingRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = "a" * 64
BOB = "b" * 64
CAROL = "c" * 64
DAVE = "d" * 64


def request(sender: str, code: str, age_minutes: float) -> PairingRequest:
    created = NOW - timedelta(minutes=age_minutes)
    return PairingRequest(id=sender, code=code, created_at=created, last_seen_at=created)


FRESH_BOB = request(BOB, "BOBCODE2", 5)
STALE_BOB = request(BOB, "BOBCODE2", 61)
FULL = [request(CAROL, "CCCCCCC2", 1), request(DAVE, "DDDDDDD2", 2), request("e" * 64, "EEEEEEE2", 3)]

# policy, sender, is_owner, allow_from, paired, pending, expected action, expected reason
CASES = [
    # the owner passes every policy
    *[(policy, ALICE, True, (), (), (), Action.ADMIT, Reason.OWNER) for policy in DM_POLICIES],
    # disabled ignores everyone else, even allowlisted senders
    ("disabled", BOB, False, (BOB,), (), (), Action.IGNORE, Reason.DISABLED),
    ("disabled", BOB, False, ("*",), (BOB,), (), Action.IGNORE, Reason.DISABLED),
    # config allowFrom and store allowFrom admit under every other policy
    *[
        (p, BOB, False, (BOB,), (), (), Action.ADMIT, Reason.ALLOWLISTED)
        for p in ("pairing", "allowlist", "open")
    ],
    *[(p, BOB, False, (), (BOB,), (), Action.ADMIT, Reason.PAIRED) for p in ("pairing", "allowlist", "open")],
    # entries compare normalised (convos: prefix, case)
    ("allowlist", BOB, False, ("convos:" + BOB.upper(),), (), (), Action.ADMIT, Reason.ALLOWLISTED),
    ("allowlist", "convos:" + BOB.upper(), False, (), (BOB,), (), Action.ADMIT, Reason.PAIRED),
    # "*" admits everyone
    ("allowlist", BOB, False, ("*",), (), (), Action.ADMIT, Reason.WILDCARD),
    ("pairing", BOB, False, ("*",), (), (), Action.ADMIT, Reason.WILDCARD),
    ("open", BOB, False, ("*", CAROL), (), (), Action.ADMIT, Reason.WILDCARD),
    # open: everyone, unless concrete entries restrict it
    ("open", BOB, False, (), (), (), Action.ADMIT, Reason.OPEN),
    ("open", BOB, False, (), (CAROL,), (), Action.ADMIT, Reason.OPEN),
    ("open", BOB, False, (CAROL,), (), (), Action.IGNORE, Reason.NOT_ALLOWED),
    # allowlist: unknown senders are dropped silently, no pairing
    ("allowlist", BOB, False, (CAROL,), (DAVE,), (), Action.IGNORE, Reason.NOT_ALLOWED),
    ("allowlist", BOB, False, (), (), (FRESH_BOB,), Action.IGNORE, Reason.NOT_ALLOWED),
    # pairing: new sender -> request a code
    ("pairing", BOB, False, (), (), (), Action.REQUEST_PAIRING, Reason.UNKNOWN_SENDER),
    ("pairing", BOB, False, (CAROL,), (DAVE,), (), Action.REQUEST_PAIRING, Reason.UNKNOWN_SENDER),
    # pairing: a live request is not answered again
    ("pairing", BOB, False, (), (), (FRESH_BOB,), Action.PAIRING_PENDING, Reason.ALREADY_PENDING),
    # pairing: an expired request counts as none
    ("pairing", BOB, False, (), (), (STALE_BOB,), Action.REQUEST_PAIRING, Reason.UNKNOWN_SENDER),
    # pairing: at most 3 live requests; expired ones do not count
    ("pairing", BOB, False, (), (), tuple(FULL), Action.PAIRING_FULL, Reason.TOO_MANY_PENDING),
    ("pairing", BOB, False, (), (), (*FULL[:2], request(DAVE, "X" * 8, 90)), Action.REQUEST_PAIRING, None),
    # a sender with a live request still gets PAIRING_PENDING when the channel is full
    ("pairing", CAROL, False, (), (), tuple(FULL), Action.PAIRING_PENDING, Reason.ALREADY_PENDING),
]


@pytest.mark.parametrize(
    ("policy", "sender", "is_owner", "allow_from", "paired", "pending", "action", "reason"), CASES
)
def test_decide(
    policy: str,
    sender: str,
    is_owner: bool,
    allow_from: tuple[str, ...],
    paired: tuple[str, ...],
    pending: tuple[PairingRequest, ...],
    action: Action,
    reason: Reason | None,
) -> None:
    decision = decide(
        policy,  # type: ignore[arg-type]
        sender,
        is_owner=is_owner,
        allow_from=allow_from,
        paired=paired,
        pending=pending,
        now=NOW,
    )
    assert decision.action is action
    if reason is not None:
        assert decision.reason is reason
    assert decision.admitted is (action is Action.ADMIT)


def test_pending_decision_carries_the_code() -> None:
    decision = decide("pairing", BOB, is_owner=False, allow_from=(), paired=(), pending=[FRESH_BOB], now=NOW)
    assert decision == Decision(Action.PAIRING_PENDING, Reason.ALREADY_PENDING, "BOBCODE2")


def test_ttl_boundary_is_inclusive() -> None:
    exactly_one_hour = request(BOB, "BOBCODE2", 60)
    args = {"is_owner": False, "allow_from": (), "paired": (), "pending": [exactly_one_hour]}
    assert decide("pairing", BOB, now=NOW, **args).action is Action.PAIRING_PENDING  # type: ignore[arg-type]
    later = NOW + timedelta(milliseconds=1)
    assert decide("pairing", BOB, now=later, **args).action is Action.REQUEST_PAIRING  # type: ignore[arg-type]


def test_unparseable_created_at_counts_as_expired() -> None:
    broken = PairingRequest(id=BOB, code="BOBCODE2", created_at=None, last_seen_at=None)
    decision = decide("pairing", BOB, is_owner=False, allow_from=(), paired=(), pending=[broken], now=NOW)
    assert decision.action is Action.REQUEST_PAIRING


def test_unknown_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="dmPolicy"):
        decide("nobody", BOB, is_owner=False, allow_from=(), paired=(), pending=(), now=NOW)  # type: ignore[arg-type]
