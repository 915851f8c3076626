"""``reactionLevel`` (OpenClaw's meaning): which reactions the agent sends and receives as turns.

| level | 👀 ack on each accepted message | the agent's own reactions | reactions that become turns |
| --- | --- | --- | --- |
| ``off`` | no | dropped | none |
| ``ack`` | yes | dropped | none |
| ``minimal`` (default) | no | sent (guidance: sparingly) | added to one of the agent's messages |
| ``extensive`` | no | sent (guidance: liberally) | added or removed, on any message |

The first two columns are OpenClaw's ``resolveReactionLevel`` (``ackEnabled``,
``agentReactionsEnabled``, ``agentReactionGuidance``); the last is this channel's: with
``minimal`` a person reacting to the agent's answer is talking to it (the upstream plugin's rule),
with ``extensive`` every reaction is something the agent may answer. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ACK_EMOJI",
    "REACTION_LEVELS",
    "ReactionLevel",
    "ReactionRules",
    "reaction_rules",
]

ReactionLevel = Literal["off", "ack", "minimal", "extensive"]
REACTION_LEVELS: tuple[ReactionLevel, ...] = get_args(ReactionLevel)
ACK_EMOJI = "👀"
"""OpenClaw's default ack reaction (``messages.ackReaction``)."""


@dataclass(frozen=True, slots=True)
class ReactionRules:
    level: ReactionLevel
    ack: bool
    """React with :data:`ACK_EMOJI` to each message the agent takes a turn on."""
    agent_reactions: bool
    """Send the reactions the agent asks for."""
    guidance: Literal["minimal", "extensive"] | None
    """What the agent is told about reacting (None: it cannot react)."""

    def reaction_is_turn(self, *, added: bool, on_agent_message: bool) -> bool:
        """Whether an inbound reaction is handed to the agent as a turn."""
        if self.level == "extensive":
            return True
        if self.level == "minimal":
            return added and on_agent_message
        return False


def reaction_rules(level: ReactionLevel) -> ReactionRules:
    if level == "off":
        return ReactionRules(level, ack=False, agent_reactions=False, guidance=None)
    if level == "ack":
        return ReactionRules(level, ack=True, agent_reactions=False, guidance=None)
    if level == "minimal":
        return ReactionRules(level, ack=False, agent_reactions=True, guidance="minimal")
    if level == "extensive":
        return ReactionRules(level, ack=False, agent_reactions=True, guidance="extensive")
    raise ValueError(f"unknown reactionLevel {level!r}")
