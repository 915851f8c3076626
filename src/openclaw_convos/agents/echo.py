"""The echo backend: answers each text with the same text. The default until one is configured."""

from __future__ import annotations

from .base import AgentBase, AgentReply, AgentTurn

__all__ = ["EchoAgent"]


class EchoAgent(AgentBase):
    """Replies with the turn's text; stays silent on reactions and empty messages."""

    name = "echo"

    async def respond(self, turn: AgentTurn) -> AgentReply:
        if turn.reaction is not None or not turn.text.strip():
            return AgentReply()
        return AgentReply(text=turn.text)

    def __repr__(self) -> str:
        return "EchoAgent()"
