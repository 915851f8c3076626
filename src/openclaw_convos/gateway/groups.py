"""Which group messages reach the agent: OpenClaw's group policy as one pure decision.

Every Convos conversation is an XMTP group; the gateway tells three kinds apart:

- the **owner conversation** (the operator's console): group policy and group allowlists never
  apply to it ("so you can't lock yourself out", as the upstream plugin put it); only an explicit
  ``groups.<its id>.requireMention`` gates it;
- an XMTP **DM** (a 1:1 conversation with one of our identities): ``dmPolicy`` alone decides;
- any other conversation, a **group**: the rules below, in OpenClaw's order.

For a group message:

1. ``groupPolicy: "disabled"`` drops it;
2. ``groupPolicy: "allowlist"`` drops it unless the group is allowed: its id is a key of
   ``groups``, ``groups`` has ``"*"``, or the operator created or joined it on purpose
   (``invite create``, ``configure --invite``: the conversation of one of our identities);
   and then, when a sender list is set, drops it unless the sender is on it: the group's own
   ``allowFrom`` (else the ``"*"`` entry's), else ``groupAllowFrom``. ``"open"`` skips both;
3. mention gating: with ``requireMention`` (the group's entry, else ``"*"``, else off, the
   Convos plugin's default) a message that does not mention the agent is kept as context only
   (no turn, no pairing code). A mention is ``@<display name>`` in the text (case-insensitive,
   not followed by a name character) or a reply to one of the agent's messages.

The owner (see :mod:`.access`) passes the sender lists, but is mention-gated like anyone else in
a group. What passes goes on to ``dmPolicy`` (:func:`.access.decide`) for the sender.

No I/O: the caller says what kind the conversation is, whether it was configured on purpose and
whether the message mentions the agent (:func:`mentions`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from .pairing import WILDCARD, normalize_allow_entry

__all__ = [
    "GROUP_POLICIES",
    "ConversationKind",
    "GroupAction",
    "GroupDecision",
    "GroupEntry",
    "GroupPolicy",
    "GroupReason",
    "GroupRules",
    "decide_group",
    "mentions",
]

GroupPolicy = Literal["open", "disabled", "allowlist"]
#: The accepted ``groupPolicy`` values, default (the Convos plugin's) first.
GROUP_POLICIES: tuple[GroupPolicy, ...] = get_args(GroupPolicy)


class ConversationKind(enum.StrEnum):
    OWNER = "owner"
    DM = "dm"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """The settings of one ``groups`` key (a conversation id or ``"*"``); None = not set."""

    require_mention: bool | None = None
    allow_from: tuple[str, ...] | None = None  # lowercase inbox ids or "*"


@dataclass(frozen=True, slots=True)
class GroupRules:
    """``groupPolicy``, ``groups`` and ``groupAllowFrom`` as validated by the config."""

    policy: GroupPolicy = "open"
    groups: Mapping[str, GroupEntry] = field(default_factory=lambda: MappingProxyType({}))
    group_allow_from: tuple[str, ...] | None = None

    def entry(self, conversation_id: str) -> GroupEntry | None:
        return self.groups.get(conversation_id.lower())

    def require_mention(self, conversation_id: str, kind: ConversationKind) -> bool:
        own = self.entry(conversation_id)
        if own is not None and own.require_mention is not None:
            return own.require_mention
        if kind is not ConversationKind.GROUP:
            return False  # "*" sets the default for groups, not for the owner conversation or DMs
        wildcard = self.groups.get(WILDCARD)
        return bool(wildcard is not None and wildcard.require_mention)

    def sender_list(self, conversation_id: str) -> tuple[str, ...] | None:
        for entry in (self.entry(conversation_id), self.groups.get(WILDCARD)):
            if entry is not None and entry.allow_from is not None:
                return entry.allow_from
        return self.group_allow_from


class GroupAction(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (an action, not a password)
    """Go on to ``dmPolicy`` for the sender, then the agent."""
    DROP = "drop"
    """Ignore the message silently."""
    CONTEXT_ONLY = "context_only"
    """No turn (the agent was not mentioned); keep the message as context for a later turn."""


class GroupReason(enum.StrEnum):
    OWNER_CONVERSATION = "owner_conversation"
    DM = "dm"
    OPEN = "open"
    DISABLED = "disabled"
    GROUP_NOT_ALLOWED = "group_not_allowed"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    ALLOWED = "allowed"
    NOT_MENTIONED = "not_mentioned"


@dataclass(frozen=True, slots=True)
class GroupDecision:
    action: GroupAction
    reason: GroupReason

    @property
    def passes(self) -> bool:
        return self.action is GroupAction.PASS


def decide_group(
    rules: GroupRules,
    *,
    kind: ConversationKind,
    conversation_id: str,
    sender_inbox_id: str,
    is_owner: bool,
    configured: bool,
    mentioned: bool,
) -> GroupDecision:
    """Decide what to do with a message before ``dmPolicy`` (see the module docstring)."""
    if rules.policy not in GROUP_POLICIES:
        raise ValueError(f"unknown groupPolicy {rules.policy!r}")
    if kind is ConversationKind.DM:
        return GroupDecision(GroupAction.PASS, GroupReason.DM)
    if kind is ConversationKind.OWNER:
        if rules.require_mention(conversation_id, kind) and not mentioned:
            return GroupDecision(GroupAction.CONTEXT_ONLY, GroupReason.NOT_MENTIONED)
        return GroupDecision(GroupAction.PASS, GroupReason.OWNER_CONVERSATION)
    if rules.policy == "disabled":
        return GroupDecision(GroupAction.DROP, GroupReason.DISABLED)
    reason = GroupReason.OPEN
    if rules.policy == "allowlist":
        listed = rules.entry(conversation_id) is not None or WILDCARD in rules.groups
        if not (listed or configured):
            return GroupDecision(GroupAction.DROP, GroupReason.GROUP_NOT_ALLOWED)
        senders = rules.sender_list(conversation_id)
        if senders is not None and not is_owner:
            allowed = {normalize_allow_entry(entry) for entry in senders}
            if WILDCARD not in allowed and normalize_allow_entry(sender_inbox_id) not in allowed:
                return GroupDecision(GroupAction.DROP, GroupReason.SENDER_NOT_ALLOWED)
        reason = GroupReason.ALLOWED
    if rules.require_mention(conversation_id, kind) and not mentioned:
        return GroupDecision(GroupAction.CONTEXT_ONLY, GroupReason.NOT_MENTIONED)
    return GroupDecision(GroupAction.PASS, reason)


_NAME_CHAR = re.compile(r"[\w-]", re.UNICODE)


def mentions(
    text: str | None,
    display_name: str | None,
    *,
    reply_to_sender: str | None = None,
    agent_inbox_id: str | None = None,
) -> bool:
    """Whether a message mentions the agent: ``@<display name>`` in ``text``, or a reply to it.

    The name match is case-insensitive and must not run on into more name characters
    (``@Jarvis`` mentions Jarvis, ``@Jarvisbot`` does not). ``reply_to_sender`` is the sender
    of the message replied to, when the message is a reply.
    """
    if (
        reply_to_sender is not None
        and agent_inbox_id is not None
        and reply_to_sender.lower() == agent_inbox_id.lower()
    ):
        return True
    name = (display_name or "").strip()
    if not text or not name:
        return False
    haystack, needle = text.casefold(), "@" + name.casefold()
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        if end >= len(haystack) or not _NAME_CHAR.match(haystack[end]):
            return True
        start = haystack.find(needle, start + 1)
    return False
