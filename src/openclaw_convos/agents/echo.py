"""The echo backend: answers each text with the same text, and each file with the same file.
The default until one is configured."""

from __future__ import annotations

from .base import AgentBase, AgentReply, AgentTurn

__all__ = ["EchoAgent"]


class EchoAgent(AgentBase):
    """Replies with the turn's text and sends back every file that could be opened (the gateway
    encrypts and uploads it afresh); stays silent on reactions and empty messages."""

    name = "echo"

    async def respond(self, turn: AgentTurn) -> AgentReply:
        if turn.reaction is not None:
            return AgentReply()
        files = tuple(f for f in turn.attachments if f.content and not f.note)
        text = turn.text if turn.text.strip() else None
        return AgentReply(text=text, attachments=files)

    def __repr__(self) -> str:
        return "EchoAgent()"
