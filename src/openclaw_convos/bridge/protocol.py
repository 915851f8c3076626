"""The bridge's JSON-lines protocol, version 1: commands in (stdin), events out (stdout).

Pure: :func:`parse_command` turns one line into a typed command (or raises
:class:`BridgeProtocolError` naming the field); the ``*_event`` functions build the event
objects. Every event carries ``"event"``; every command ``"type"``. Field names are camelCase.
See ``docs/bridge-protocol.md`` for the whole table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..agents import AgentTurn
from ..errors import ConvosError

__all__ = [
    "COMMAND_TYPES",
    "PROTOCOL_VERSION",
    "BridgeProtocolError",
    "Command",
    "JoinCommand",
    "ReactCommand",
    "SendCommand",
    "StartCommand",
    "StatusCommand",
    "StopCommand",
    "TurnDoneCommand",
    "TypingCommand",
    "encode_event",
    "parse_command",
    "turn_event",
]

PROTOCOL_VERSION = 1
MAX_LINE = 1 << 20
"""The longest command line accepted (1 MiB)."""


class BridgeProtocolError(ConvosError):
    """A command line is not valid protocol (bad JSON, unknown type, a missing or wrong field)."""


@dataclass(frozen=True, slots=True)
class StartCommand:
    """The first command: which account, and its ``channels.convos`` settings as OpenClaw resolved them."""

    protocol: int
    account_id: str
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TurnDoneCommand:
    """OpenClaw finished the turn: send ``text`` (chunked, as a reply when it helps) and/or react."""

    turn_id: str
    text: str | None = None
    react: str | None = None


@dataclass(frozen=True, slots=True)
class SendCommand:
    """Send a text into a conversation (outside a turn), optionally as a reply to ``reply_to``."""

    conversation_id: str
    text: str
    reply_to: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReactCommand:
    conversation_id: str
    message_id: str
    emoji: str
    remove: bool = False
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class TypingCommand:
    conversation_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class StatusCommand:
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class JoinCommand:
    invite_url: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class StopCommand:
    pass


Command = (
    StartCommand
    | TurnDoneCommand
    | SendCommand
    | ReactCommand
    | TypingCommand
    | StatusCommand
    | JoinCommand
    | StopCommand
)

COMMAND_TYPES = ("start", "turn.done", "send", "react", "typing", "status", "join", "stop")


def _str(obj: dict[str, Any], key: str, kind: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise BridgeProtocolError(f"{kind}: {key} is required")
        return None
    if not isinstance(value, str) or (required and not value):
        raise BridgeProtocolError(f"{kind}: {key} must be a non-empty string")
    return value


def _req(obj: dict[str, Any], key: str, kind: str) -> str:
    value = _str(obj, key, kind)
    assert value is not None
    return value


def parse_command(line: str | bytes) -> Command:
    """One stdin line as a command."""
    if len(line) > MAX_LINE:
        raise BridgeProtocolError(f"command line longer than {MAX_LINE} bytes")
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BridgeProtocolError(f"not a JSON line: {exc}") from exc
    if not isinstance(obj, dict):
        raise BridgeProtocolError("a command must be a JSON object")
    kind = obj.get("type")
    request_id = _str(obj, "id", str(kind), required=False)
    if kind == "start":
        protocol = obj.get("protocol")
        if not isinstance(protocol, int) or isinstance(protocol, bool):
            raise BridgeProtocolError("start: protocol must be an integer")
        if protocol != PROTOCOL_VERSION:
            raise BridgeProtocolError(
                f"start: protocol {protocol} is not supported (this engine speaks {PROTOCOL_VERSION}); "
                "install matching versions of the plugin and of openclaw-convos"
            )
        config = obj.get("config", {})
        if not isinstance(config, dict):
            raise BridgeProtocolError("start: config must be an object")
        return StartCommand(protocol, _str(obj, "accountId", "start", required=False) or "default", config)
    if kind == "turn.done":
        react = _str(obj, "react", "turn.done", required=False)
        text = obj.get("text")
        if text is not None and not isinstance(text, str):
            raise BridgeProtocolError("turn.done: text must be a string or null")
        return TurnDoneCommand(_req(obj, "turnId", "turn.done"), text or None, react or None)
    if kind == "send":
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BridgeProtocolError("send: text must be a non-empty string")
        return SendCommand(
            _req(obj, "conversationId", "send"),
            text,
            _str(obj, "replyTo", "send", required=False),
            request_id,
        )
    if kind == "react":
        action = obj.get("action", "add")
        if action not in ("add", "remove"):
            raise BridgeProtocolError('react: action must be "add" or "remove"')
        return ReactCommand(
            _req(obj, "conversationId", "react"),
            _req(obj, "messageId", "react"),
            _req(obj, "emoji", "react"),
            action == "remove",
            request_id,
        )
    if kind == "typing":
        active = obj.get("active")
        if not isinstance(active, bool):
            raise BridgeProtocolError("typing: active must be true or false")
        return TypingCommand(_req(obj, "conversationId", "typing"), active)
    if kind == "status":
        return StatusCommand(request_id)
    if kind == "join":
        return JoinCommand(_req(obj, "inviteUrl", "join"), request_id)
    if kind == "stop":
        return StopCommand()
    raise BridgeProtocolError(f"unknown command type {kind!r} (known: {', '.join(COMMAND_TYPES)})")


def encode_event(event: str, /, **fields: Any) -> str:
    """One event as a JSON line (without the newline); None fields are left out."""
    body: dict[str, Any] = {"event": event}
    body.update({key: value for key, value in fields.items() if value is not None})
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def turn_event(turn_id: str, turn: AgentTurn, *, is_owner: bool) -> str:
    """An inbound message (or a reaction to one of ours) for OpenClaw's agent."""
    return encode_event(
        "turn",
        turnId=turn_id,
        conversationId=turn.conversation_id,
        messageId=turn.message_id,
        senderInboxId=turn.sender_inbox_id,
        senderName=turn.sender_name,
        isOwner=is_owner,
        isGroup=turn.is_group,
        text=turn.text,
        replyToText=turn.reply_to_text,
        reaction=turn.reaction,
    )
