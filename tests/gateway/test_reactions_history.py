"""reactionLevel and the history limits, table-driven."""

from __future__ import annotations

import pytest

from openclaw_convos.gateway.groups import ConversationKind
from openclaw_convos.gateway.history import DEFAULT_HISTORY_LIMIT, history_limit_for
from openclaw_convos.gateway.reactions import REACTION_LEVELS, reaction_rules

# level -> ack, agent reactions, guidance, (added on agent's, removed on agent's, added on other's)
CASES = {
    "off": (False, False, None, (False, False, False)),
    "ack": (True, False, None, (False, False, False)),
    "minimal": (False, True, "minimal", (True, False, False)),
    "extensive": (False, True, "extensive", (True, True, True)),
}


@pytest.mark.parametrize("level", REACTION_LEVELS)
def test_reaction_rules(level: str) -> None:
    ack, agent, guidance, turns = CASES[level]
    rules = reaction_rules(level)  # type: ignore[arg-type]
    assert (rules.level, rules.ack, rules.agent_reactions, rules.guidance) == (level, ack, agent, guidance)
    seen = (
        rules.reaction_is_turn(added=True, on_agent_message=True),
        rules.reaction_is_turn(added=False, on_agent_message=True),
        rules.reaction_is_turn(added=True, on_agent_message=False),
    )
    assert seen == turns


def test_unknown_reaction_level_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown reactionLevel"):
        reaction_rules("some")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "history", "dm_history", "expected"),
    [
        (ConversationKind.GROUP, None, None, DEFAULT_HISTORY_LIMIT),
        (ConversationKind.OWNER, None, 3, DEFAULT_HISTORY_LIMIT),
        (ConversationKind.GROUP, 5, 3, 5),
        (ConversationKind.OWNER, 0, None, 0),
        (ConversationKind.DM, 5, None, 5),
        (ConversationKind.DM, 5, 3, 3),
        (ConversationKind.DM, None, 0, 0),
        (ConversationKind.DM, None, None, DEFAULT_HISTORY_LIMIT),
    ],
)
def test_history_limit_for(
    kind: ConversationKind, history: int | None, dm_history: int | None, expected: int
) -> None:
    assert history_limit_for(kind, history_limit=history, dm_history_limit=dm_history) == expected
