"""The one interface between the gateway and an agent backend.

The gateway turns each admitted inbound message into an :class:`AgentTurn` and awaits
``agent.respond(turn)``. Backends enforce their own transport timeout (HTTP timeout, program
timeout) and raise :class:`~openclaw_convos.errors.AgentError` subclasses; the *per-turn*
deadline is the caller's, e.g. ``async with asyncio.timeout(turn_timeout): await
agent.respond(turn)``. Cancelling ``respond`` is safe: the HTTP request is abandoned and a
command backend's program is killed.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol, Self, runtime_checkable

from ..media.types import MediaFile, MediaRef

__all__ = [
    "Agent",
    "AgentBase",
    "AgentReply",
    "AgentTurn",
    "HistoryItem",
    "describe_attachment",
    "render_context",
    "render_history_text",
    "render_turn_text",
    "sender_label",
    "turn_to_json",
]

Role = Literal["user", "assistant"]

_QUOTE_LIMIT = 280


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryItem:
    """An earlier message of the conversation, oldest first; ``assistant`` = sent by the agent."""

    role: Role
    text: str
    sender_inbox_id: str | None = None
    sender_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTurn:
    """One inbound message for the agent.

    ``reaction`` is set (and ``text`` may be empty) when the message is a reaction to one of the
    agent's messages; ``reply_to_text`` is the text of the message replied or reacted to.
    """

    conversation_id: str
    sender_inbox_id: str
    text: str
    message_id: str
    sender_name: str | None = None
    is_group: bool = True
    reply_to_text: str | None = None
    reaction: str | None = None
    history: tuple[HistoryItem, ...] = ()
    attachments: tuple[MediaFile, ...] = ()
    """Files sent with the message, opened (or with a ``note`` saying why not)."""
    sender_timezone: str | None = None
    """The sender's IANA time zone from their Convos profile (e.g. ``Europe/Paris``), if shared."""
    reaction_guidance: Literal["minimal", "extensive"] | None = None
    """``reactionLevel``: how freely the agent may react (None: its reactions are not sent)."""


@dataclass(frozen=True, slots=True)
class AgentReply:
    """What to send back: a text (chunked by the gateway), a reaction to the turn's message,
    files (each sent as its own attachment message, before the text), any of them, or nothing."""

    text: str | None = None
    react: str | None = None
    attachments: tuple[MediaFile | MediaRef, ...] = ()


@runtime_checkable
class Agent(Protocol):
    """An agent backend. ``respond`` may be called concurrently for different conversations."""

    name: str

    async def respond(self, turn: AgentTurn) -> AgentReply: ...

    async def aclose(self) -> None: ...


class AgentBase:
    """Optional base class: ``async with agent:`` closes it."""

    name = "agent"

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def sender_label(sender_name: str | None, sender_inbox_id: str | None) -> str:
    """How a group member is named to the model: the profile name, else the inbox id's start."""
    if sender_name and sender_name.strip():
        return sender_name.strip()
    return (sender_inbox_id or "someone")[:12]


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_LIMIT else flat[: _QUOTE_LIMIT - 1] + "\u2026"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def describe_attachment(file: MediaFile, *, image_included: bool = False) -> str:
    """One bracketed line telling a model about a file: name, type, size, transcript or note."""
    label = f"{file.filename} ({file.mime_type}, {_size(file.size)})"
    if file.note:
        return f"[attachment {label} {file.note}]"
    if file.transcript is not None:
        return f'[voice message {label}, transcript: "{file.transcript}"]'
    if file.kind == "image" and image_included:
        return f"[image {label}, shown below]"
    return f"[attached {file.kind} {label}]"


def render_turn_text(turn: AgentTurn, *, images_included: bool = False) -> str:
    """The user message text for a chat model: sender label in groups, reply/reaction context,
    one line per attachment (``images_included``: the images go along as image parts)."""
    lines: list[str] = []
    if turn.reaction:
        target = f' to: "{_quote(turn.reply_to_text)}"' if turn.reply_to_text else ""
        lines.append(f"[reacted {turn.reaction}{target}]")
    elif turn.reply_to_text:
        lines.append(f'[replying to: "{_quote(turn.reply_to_text)}"]')
    for file in turn.attachments:
        lines.append(describe_attachment(file, image_included=images_included and bool(file.content)))
    if turn.text:
        lines.append(turn.text)
    body = "\n".join(lines)
    if turn.is_group:
        return f"{sender_label(turn.sender_name, turn.sender_inbox_id)}: {body}"
    return body


_REACTION_HINTS = {
    "minimal": "You can react to the message with one emoji (reply field react); do so sparingly.",
    "extensive": "You can react to the message with one emoji (reply field react); feel free to.",
}


def render_context(turn: AgentTurn) -> str | None:
    """Facts about the turn for a model's system context: the sender's time zone, reactions."""
    lines: list[str] = []
    if turn.sender_timezone:
        lines.append(f"The sender's time zone is {turn.sender_timezone}.")
    if turn.reaction_guidance is not None:
        lines.append(_REACTION_HINTS[turn.reaction_guidance])
    return " ".join(lines) or None


def render_history_text(item: HistoryItem, *, is_group: bool) -> str:
    """A history entry as chat-model content (user entries labelled in groups)."""
    if item.role == "user" and is_group:
        return f"{sender_label(item.sender_name, item.sender_inbox_id)}: {item.text}"
    return item.text


def turn_to_json(
    turn: AgentTurn, *, system_prompt: str | None = None, paths: tuple[str | None, ...] = ()
) -> dict[str, Any]:
    """The turn as one JSON object (the command backend's stdin; camelCase, ``version`` 1).
    ``paths`` gives, per attachment, where its decrypted bytes were written (or None)."""
    attachments = []
    for i, file in enumerate(turn.attachments):
        entry: dict[str, Any] = {
            "filename": file.filename,
            "mimeType": file.mime_type,
            "size": file.size,
            "path": paths[i] if i < len(paths) else None,
        }
        if file.transcript is not None:
            entry["transcript"] = file.transcript
        if file.note:
            entry["note"] = file.note
        attachments.append(entry)
    return {
        "version": 1,
        "conversationId": turn.conversation_id,
        "messageId": turn.message_id,
        "senderInboxId": turn.sender_inbox_id,
        "senderName": turn.sender_name,
        "text": turn.text,
        "isGroup": turn.is_group,
        "replyToText": turn.reply_to_text,
        "reaction": turn.reaction,
        "senderTimezone": turn.sender_timezone,
        "reactionGuidance": turn.reaction_guidance,
        "systemPrompt": system_prompt,
        "history": [
            {
                "role": item.role,
                "text": item.text,
                "senderInboxId": item.sender_inbox_id,
                "senderName": item.sender_name,
            }
            for item in turn.history
        ],
        "attachments": attachments,
    }
