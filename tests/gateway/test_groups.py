"""The group decision (groupPolicy, groups, groupAllowFrom, requireMention) and mentions, table-driven."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from openclaw_convos.gateway.groups import (
    GROUP_POLICIES,
    ConversationKind,
    GroupAction,
    GroupEntry,
    GroupReason,
    GroupRules,
    decide_group,
    mentions,
)

G1 = "1" * 32  # listed in groups
G2 = "2" * 32  # not listed
OWNER_CONV = "0" * 32
ALICE = "a" * 64  # the owner
BOB = "b" * 64
CAROL = "c" * 64

OWNER, DM, GROUP = ConversationKind.OWNER, ConversationKind.DM, ConversationKind.GROUP
PASS, DROP, CONTEXT = GroupAction.PASS, GroupAction.DROP, GroupAction.CONTEXT_ONLY


def rules(
    policy: str = "open", groups: dict[str, GroupEntry] | None = None, gaf: tuple[str, ...] | None = None
) -> GroupRules:
    return GroupRules(policy, MappingProxyType(groups or {}), gaf)  # type: ignore[arg-type]


MENTION_ALL = {"*": GroupEntry(require_mention=True)}
G1_ONLY = {G1: GroupEntry()}

# rules, kind, conversation, sender, is_owner, configured, mentioned -> action, reason
CASES = [
    # DMs: dmPolicy alone decides, whatever the group settings
    *[(rules(p, MENTION_ALL, (CAROL,)), DM, G2, BOB, False, False, False, PASS, GroupReason.DM) for p in GROUP_POLICIES],
    # the owner conversation bypasses the policy and the allowlists ("*" does not gate it either)
    *[
        (rules(p, MENTION_ALL, (CAROL,)), OWNER, OWNER_CONV, BOB, False, True, False, PASS, GroupReason.OWNER_CONVERSATION)
        for p in GROUP_POLICIES
    ],
    # ... but its own explicit requireMention does
    (rules("open", {OWNER_CONV: GroupEntry(require_mention=True)}), OWNER, OWNER_CONV, ALICE, True, True, False, CONTEXT, GroupReason.NOT_MENTIONED),
    (rules("open", {OWNER_CONV: GroupEntry(require_mention=True)}), OWNER, OWNER_CONV, ALICE, True, True, True, PASS, GroupReason.OWNER_CONVERSATION),
    # disabled: every other group is dropped, configured or listed, owner or not
    (rules("disabled"), GROUP, G2, BOB, False, False, True, DROP, GroupReason.DISABLED),
    (rules("disabled", G1_ONLY), GROUP, G1, ALICE, True, True, True, DROP, GroupReason.DISABLED),
    # open: any group, any sender
    (rules("open"), GROUP, G2, BOB, False, False, False, PASS, GroupReason.OPEN),
    (rules("open", G1_ONLY, (CAROL,)), GROUP, G2, BOB, False, False, False, PASS, GroupReason.OPEN),
    # allowlist: the group must be listed, "*", or configured on purpose
    (rules("allowlist"), GROUP, G2, BOB, False, False, False, DROP, GroupReason.GROUP_NOT_ALLOWED),
    (rules("allowlist", G1_ONLY), GROUP, G2, ALICE, True, False, True, DROP, GroupReason.GROUP_NOT_ALLOWED),
    (rules("allowlist", G1_ONLY), GROUP, G1, BOB, False, False, False, PASS, GroupReason.ALLOWED),
    (rules("allowlist", {"*": GroupEntry()}), GROUP, G2, BOB, False, False, False, PASS, GroupReason.ALLOWED),
    (rules("allowlist"), GROUP, G2, BOB, False, True, False, PASS, GroupReason.ALLOWED),
    # allowlist + groupAllowFrom: only listed senders (and the owner)
    (rules("allowlist", G1_ONLY, (CAROL,)), GROUP, G1, BOB, False, False, False, DROP, GroupReason.SENDER_NOT_ALLOWED),
    (rules("allowlist", G1_ONLY, (CAROL,)), GROUP, G1, CAROL, False, False, False, PASS, GroupReason.ALLOWED),
    (rules("allowlist", G1_ONLY, (CAROL,)), GROUP, G1, ALICE, True, False, False, PASS, GroupReason.ALLOWED),
    (rules("allowlist", None, (CAROL,)), GROUP, G2, BOB, False, True, False, DROP, GroupReason.SENDER_NOT_ALLOWED),
    (rules("allowlist", None, ("*",)), GROUP, G2, BOB, False, True, False, PASS, GroupReason.ALLOWED),
    # a group's own allowFrom wins over "*"'s, which wins over groupAllowFrom
    (rules("allowlist", {G1: GroupEntry(allow_from=(BOB,))}, (CAROL,)), GROUP, G1, BOB, False, False, False, PASS, GroupReason.ALLOWED),
    (rules("allowlist", {G1: GroupEntry(allow_from=(BOB,))}, (CAROL,)), GROUP, G1, CAROL, False, False, False, DROP, GroupReason.SENDER_NOT_ALLOWED),
    (rules("allowlist", {"*": GroupEntry(allow_from=(BOB,))}, (CAROL,)), GROUP, G2, BOB, False, False, False, PASS, GroupReason.ALLOWED),
    (rules("allowlist", {"*": GroupEntry(allow_from=(BOB,)), G1: GroupEntry(allow_from=(CAROL,))}), GROUP, G1, BOB, False, False, False, DROP, GroupReason.SENDER_NOT_ALLOWED),
    # requireMention: from the group's entry, else "*", else off; gates the owner too
    (rules("open", MENTION_ALL), GROUP, G2, BOB, False, False, False, CONTEXT, GroupReason.NOT_MENTIONED),
    (rules("open", MENTION_ALL), GROUP, G2, ALICE, True, True, False, CONTEXT, GroupReason.NOT_MENTIONED),
    (rules("open", MENTION_ALL), GROUP, G2, BOB, False, False, True, PASS, GroupReason.OPEN),
    (rules("open", {**MENTION_ALL, G1: GroupEntry(require_mention=False)}), GROUP, G1, BOB, False, False, False, PASS, GroupReason.OPEN),
    (rules("open", {"*": GroupEntry(require_mention=False), G1: GroupEntry(require_mention=True)}), GROUP, G1, BOB, False, False, False, CONTEXT, GroupReason.NOT_MENTIONED),
    (rules("allowlist", {G1: GroupEntry(require_mention=True)}), GROUP, G1, BOB, False, False, True, PASS, GroupReason.ALLOWED),
    # a dropped message is dropped before mention gating (no context kept from a blocked group)
    (rules("allowlist", MENTION_ALL | {G1: GroupEntry(allow_from=(CAROL,))}), GROUP, G1, BOB, False, False, False, DROP, GroupReason.SENDER_NOT_ALLOWED),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "group_rules",
        "kind",
        "conversation",
        "sender",
        "is_owner",
        "configured",
        "mentioned",
        "action",
        "reason",
    ),
    CASES,
)
def test_decide_group(
    group_rules: GroupRules,
    kind: ConversationKind,
    conversation: str,
    sender: str,
    is_owner: bool,
    configured: bool,
    mentioned: bool,
    action: GroupAction,
    reason: GroupReason,
) -> None:
    decision = decide_group(
        group_rules,
        kind=kind,
        conversation_id=conversation,
        sender_inbox_id=sender,
        is_owner=is_owner,
        configured=configured,
        mentioned=mentioned,
    )
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.passes is (action is PASS)


def test_conversation_and_sender_ids_match_case_insensitively() -> None:
    group_rules = rules("allowlist", {G1: GroupEntry(allow_from=(BOB,))})
    decision = decide_group(
        group_rules, kind=GROUP, conversation_id=G1.upper(), sender_inbox_id=BOB.upper(),
        is_owner=False, configured=False, mentioned=False,
    )  # fmt: skip
    assert decision.passes


def test_an_unknown_policy_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown groupPolicy"):
        decide_group(
            rules("closed"), kind=GROUP, conversation_id=G1, sender_inbox_id=BOB,
            is_owner=False, configured=False, mentioned=False,
        )  # fmt: skip


AGENT = "f" * 64


@pytest.mark.parametrize(
    ("text", "name", "reply_to", "expected"),
    [
        ("@Jarvis what time is it?", "Jarvis", None, True),
        ("hey @jarvis", "Jarvis", None, True),
        ("ping @JARVIS, please", "Jarvis", None, True),
        ("@Jarvis", "Jarvis", None, True),
        ("@Dr. Who are you", "Dr. Who", None, True),
        ("Jarvis, what time is it?", "Jarvis", None, False),  # no @
        ("@Jarvisbot hello", "Jarvis", None, False),  # another name
        ("@Jarvis_2 hello", "Jarvis", None, False),
        ("@Jarvisbot and @Jarvis", "Jarvis", None, True),
        ("mail me at x@jarvis.example", "Jarvis", None, True),  # "@jarvis" then "." ends the name
        ("", "Jarvis", None, False),
        (None, "Jarvis", None, False),
        ("@ hello", "", None, False),
        ("no mention", "Jarvis", AGENT, True),  # a reply to one of the agent's messages
        ("no mention", "Jarvis", AGENT.upper(), True),
        ("no mention", "Jarvis", BOB, False),  # a reply to someone else
        ("@Jarvis", "Jarvis", BOB, True),
    ],
)
def test_mentions(text: str | None, name: str, reply_to: str | None, expected: bool) -> None:
    assert mentions(text, name, reply_to_sender=reply_to, agent_inbox_id=AGENT) is expected
