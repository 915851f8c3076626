"""Who may talk to the agent: one pure decision per inbound message.

``dmPolicy`` applies per sender inbox id inside the conversations we serve (every Convos
conversation is an XMTP group; OpenClaw's schema says the policy "controls who can message the
agent in groups"). The rules, in order:

1. the owner (a member of the owner conversation, or the setup joiner) is always admitted;
2. ``disabled`` ignores everyone else;
3. a sender in config ``allowFrom`` or in the pairing store's allowFrom is admitted;
4. ``"*"`` in config ``allowFrom`` admits everyone;
5. ``open`` admits everyone unless config ``allowFrom`` lists concrete senders, which then are
   the only ones admitted (later upstream semantics);
6. ``allowlist`` ignores unknown senders silently;
7. ``pairing`` asks the caller to issue a pairing code, unless the sender already has a live
   request (no second reply) or the channel already holds the maximum of pending requests.

No I/O and no clock reads: the caller passes the store contents and ``now``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from .pairing import (
    PAIRING_MAX_PENDING,
    PAIRING_TTL,
    WILDCARD,
    PairingRequest,
    normalize_allow_entry,
)

__all__ = [
    "DM_POLICIES",
    "Action",
    "Decision",
    "DmPolicy",
    "Reason",
    "decide",
]

DmPolicy = Literal["pairing", "allowlist", "open", "disabled"]
#: The accepted ``dmPolicy`` values, default first.
DM_POLICIES: tuple[DmPolicy, ...] = get_args(DmPolicy)


class Action(enum.StrEnum):
    """What the gateway does with the message."""

    ADMIT = "admit"
    """Hand the message to the agent."""
    IGNORE = "ignore"
    """Drop it without any reply."""
    REQUEST_PAIRING = "request_pairing"
    """Upsert a pairing request; reply with the code only if the store reports it as created."""
    PAIRING_PENDING = "pairing_pending"
    """Drop it; the sender already has a live code (no second reply)."""
    PAIRING_FULL = "pairing_full"
    """Drop it; the channel already has the maximum of pending requests (no reply)."""


class Reason(enum.StrEnum):
    """Why, for logs and tests."""

    OWNER = "owner"
    DISABLED = "disabled"
    ALLOWLISTED = "allowlisted"
    PAIRED = "paired"
    WILDCARD = "wildcard"
    OPEN = "open"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN_SENDER = "unknown_sender"
    ALREADY_PENDING = "already_pending"
    TOO_MANY_PENDING = "too_many_pending"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`decide`; ``pending_code`` is set for ``PAIRING_PENDING``."""

    action: Action
    reason: Reason
    pending_code: str | None = None

    @property
    def admitted(self) -> bool:
        return self.action is Action.ADMIT


def decide(
    policy: DmPolicy,
    sender_inbox_id: str,
    *,
    is_owner: bool,
    allow_from: Collection[str],
    paired: Collection[str],
    pending: Sequence[PairingRequest],
    now: datetime,
    ttl: timedelta = PAIRING_TTL,
    max_pending: int = PAIRING_MAX_PENDING,
) -> Decision:
    """Decide what to do with a message from ``sender_inbox_id`` (see the module docstring).

    ``allow_from`` is the config list (may hold ``"*"``), ``paired`` the store's allowFrom, and
    ``pending`` every pending request of the channel as read from the store (expired ones are
    ignored here).
    """
    if policy not in DM_POLICIES:
        raise ValueError(f"unknown dmPolicy {policy!r}")
    if is_owner:
        return Decision(Action.ADMIT, Reason.OWNER)
    if policy == "disabled":
        return Decision(Action.IGNORE, Reason.DISABLED)

    sender = normalize_allow_entry(sender_inbox_id)
    configured = {normalize_allow_entry(entry) for entry in allow_from}
    if sender and sender in configured:
        return Decision(Action.ADMIT, Reason.ALLOWLISTED)
    if sender and sender in {normalize_allow_entry(entry) for entry in paired}:
        return Decision(Action.ADMIT, Reason.PAIRED)
    if WILDCARD in configured:
        return Decision(Action.ADMIT, Reason.WILDCARD)
    if policy == "open":
        concrete = configured - {WILDCARD, ""}
        if not concrete:
            return Decision(Action.ADMIT, Reason.OPEN)
        return Decision(Action.IGNORE, Reason.NOT_ALLOWED)
    if policy == "allowlist":
        return Decision(Action.IGNORE, Reason.NOT_ALLOWED)

    live = [request for request in pending if not request.is_expired(now, ttl)]
    for request in live:
        if normalize_allow_entry(request.id) == sender:
            return Decision(Action.PAIRING_PENDING, Reason.ALREADY_PENDING, request.code)
    if len(live) >= max_pending:
        return Decision(Action.PAIRING_FULL, Reason.TOO_MANY_PENDING)
    return Decision(Action.REQUEST_PAIRING, Reason.UNKNOWN_SENDER)
