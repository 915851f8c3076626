"""Message content types: Convos' ``convos.org/*`` types and plain XMTP text.

Every encoder returns serialized XMTP ``EncodedContent`` bytes (ready for libxmtp's ``send``);
:func:`decode_content` takes such bytes and returns a typed record, or :class:`Unknown` for any
other type (XMTP replies, reactions, read receipts, group updates and attachments are decoded by
the XMTP layer through libxmtp's codecs; here they only report their type id). Malformed bytes
raise :class:`~.errors.ContentMalformed` / :class:`~.errors.ContentTooLarge`, never anything else.

JSON bodies are compact UTF-8; dates are written ``YYYY-MM-DDTHH:MM:SSZ`` and read with or
without fractional seconds or offsets. Use :func:`should_push` for libxmtp's ``shouldPush`` option.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .encoded import ContentTypeId, Envelope, decode_envelope, encode_envelope
from .errors import ContentArgumentError, ContentMalformed
from .profiles import (
    PROFILE_SNAPSHOT,
    PROFILE_UPDATE,
    ProfileSnapshot,
    ProfileUpdate,
    decode_profile_snapshot,
    decode_profile_update,
    profile_snapshot_content,
    profile_update_content,
)
from .timefmt import format_iso, parse_iso

CONVOS = "convos.org"
TEXT = ContentTypeId("xmtp.org", "text", 1, 0)
JOIN_REQUEST = ContentTypeId(CONVOS, "join_request", 1, 0)
INVITE_JOIN_ERROR = ContentTypeId(CONVOS, "invite_join_error", 1, 0)
INVITE_JOIN_HANDLED = ContentTypeId(CONVOS, "invite_join_handled", 1, 0)
TYPING_INDICATOR = ContentTypeId(CONVOS, "typing_indicator", 1, 0)
EXPLODE_SETTINGS = ContentTypeId(CONVOS, "explode_settings", 1, 0)
THINKING = ContentTypeId(CONVOS, "thinking", 1, 0)

#: ``convos.org`` types of the Convos apps that carry nothing for an agent's turn (pairing of
#: devices, connections, capabilities, assistant joins, builder bundles): decoded as
#: :class:`Control` so the gateway drops them quietly. From the iOS app's codecs.
CONTROL_TYPE_IDS = frozenset(
    {
        "assistant_join_request",
        "builderBundleManifest",
        "capability_request",
        "capability_request_result",
        "connection_event",
        "connection_grant_request",
        "connection_invocation",
        "connection_invocation_result",
        "connection_payload",
        "device_removed",
        "identity_share",
        "pairing_join_request",
        "pairing_message",
    }
)

MAX_REASON_LENGTH = 500
MAX_JSON_BODY = 1024 * 1024
MEMBER_KIND_AGENT = "agent"
_EMPTY: Mapping[str, str] = MappingProxyType({})

_PUSH = {
    JOIN_REQUEST.type_id: True,
    INVITE_JOIN_ERROR.type_id: True,
    INVITE_JOIN_HANDLED.type_id: False,
    PROFILE_UPDATE.type_id: False,
    PROFILE_SNAPSHOT.type_id: False,
    EXPLODE_SETTINGS.type_id: True,
    TYPING_INDICATOR.type_id: False,
    THINKING.type_id: False,
}


# --- records ---


@dataclass(frozen=True, slots=True)
class Text:
    """``xmtp.org/text:1.0``."""

    text: str


@dataclass(frozen=True, slots=True)
class JoinRequestProfile:
    """The joiner's profile in a join request (all optional; ``member_kind`` is ``"agent"`` or None)."""

    name: str | None = None
    image_url: str | None = None
    member_kind: str | None = None


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """``convos.org/join_request:1.0``: sent by a joiner in a DM to the invite's creator."""

    invite_slug: str
    profile: JoinRequestProfile | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


class InviteJoinErrorType(enum.StrEnum):
    """``errorType`` of an ``invite_join_error``."""

    CONVERSATION_EXPIRED = "conversation_expired"
    CONVERSATION_NOT_FOUND = "conversation_not_found"
    CONSENT_NOT_ALLOWED = "consent_not_allowed"
    GENERIC_FAILURE = "generic_failure"

    @classmethod
    def parse(cls, value: str) -> InviteJoinErrorType:
        """Decode like iOS: camelCase accepted, unknown values mean ``conversation_expired``."""
        normalized = "".join("_" + c.lower() if c.isupper() else c for c in value)
        try:
            return cls(normalized)
        except ValueError:
            return cls.CONVERSATION_EXPIRED


@dataclass(frozen=True, slots=True)
class InviteJoinError:
    """``convos.org/invite_join_error:1.0``: the creator tells a joiner why it was not added."""

    error_type: InviteJoinErrorType
    invite_tag: str
    timestamp: datetime
    reason: str | None = None  # diagnostic only; never shown to users

    @property
    def user_message(self) -> str:
        """What to tell the user (also the message's fallback text)."""
        if self.error_type is InviteJoinErrorType.GENERIC_FAILURE:
            return "Failed to join conversation"
        return "This conversation is no longer available"


@dataclass(frozen=True, slots=True)
class InviteJoinHandled:
    """``convos.org/invite_join_handled:1.0``: the creator's "request handled" marker in the DM."""

    invite_tag: str
    handled_message_id: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class TypingIndicator:
    """``convos.org/typing_indicator:1.0``."""

    is_typing: bool


@dataclass(frozen=True, slots=True)
class ExplodeSettings:
    """``convos.org/explode_settings:1.0``: the conversation ends at ``expires_at`` (now or later)."""

    expires_at: datetime


class ThinkingState(enum.StrEnum):
    START = "start"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Thinking:
    """``convos.org/thinking:1.0``: an agent's "thinking…" about one message.

    ``start`` opens the indicator under ``target_message_id``; a ``stop`` always follows, with
    ``result_message_id`` when the thought ended in a reply. ``label`` is the text shown
    (the wire's ``content``). Silent: never pushed, never in the chat history.
    """

    state: ThinkingState
    target_message_id: str
    label: str
    result_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """A known ``convos.org`` control type (:data:`CONTROL_TYPE_IDS`) whose body we do not read."""

    type_id: ContentTypeId


@dataclass(frozen=True, slots=True)
class Unknown:
    """Any content we do not decode here; ``raw`` is the whole ``EncodedContent``."""

    type_id: ContentTypeId
    fallback: str | None
    raw: bytes


DecodedContent = (
    Text
    | JoinRequest
    | InviteJoinError
    | InviteJoinHandled
    | TypingIndicator
    | ExplodeSettings
    | Thinking
    | ProfileUpdate
    | ProfileSnapshot
    | Control
    | Unknown
)


# --- JSON helpers ---


def _json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_object(envelope: Envelope) -> dict[str, Any]:
    name = str(envelope.type)
    if len(envelope.content) > MAX_JSON_BODY:
        raise ContentMalformed("the JSON body is too large", name)
    try:
        value = json.loads(envelope.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ContentMalformed("the body is not JSON", name) from exc
    if not isinstance(value, dict):
        raise ContentMalformed("the JSON body is not an object", name)
    return value


def _string(obj: Mapping[str, Any], key: str, name: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ContentMalformed(f"{key} is missing", name)
        return None
    if not isinstance(value, str):
        raise ContentMalformed(f"{key} is not a string", name)
    return value


def _date(obj: Mapping[str, Any], key: str, name: str) -> datetime:
    value = _string(obj, key, name)
    try:
        return parse_iso(value or "")
    except ValueError as exc:
        raise ContentMalformed(f"{key} is not an ISO-8601 date", name) from exc


def _iso(moment: datetime, what: str) -> str:
    try:
        return format_iso(moment)
    except (ValueError, AttributeError) as exc:
        raise ContentArgumentError(f"{what} must be a timezone-aware datetime") from exc


def _check_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ContentArgumentError(f"{what} must be a string")
    return value


# --- encoders ---


def encode_text(text: str) -> bytes:
    """``xmtp.org/text:1.0`` (byte-identical to libxmtp's ``encode_text``)."""
    try:
        body = _check_str(text, "the text").encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ContentArgumentError("the text is not valid Unicode") from exc
    return encode_envelope(TEXT, body, parameters={"encoding": "UTF-8"})


def encode_join_request(request: JoinRequest) -> bytes:
    """``convos.org/join_request:1.0``; the fallback is the slug, as in the iOS codec."""
    slug = _check_str(request.invite_slug, "the invite slug")
    if not slug:
        raise ContentArgumentError("the invite slug is empty")
    body: dict[str, Any] = {"inviteSlug": slug}
    if request.profile is not None:
        profile: dict[str, str] = {}
        for key, value in (
            ("name", request.profile.name),
            ("imageURL", request.profile.image_url),
            ("memberKind", request.profile.member_kind),
        ):
            if value is not None:
                profile[key] = _check_str(value, f"the profile {key}")
        body["profile"] = profile
    if request.metadata:
        body["metadata"] = {
            _check_str(k, "a metadata key"): _check_str(v, "a metadata value")
            for k, v in request.metadata.items()
        }
    return _envelope(JOIN_REQUEST, body, fallback=slug)


def encode_invite_join_error(error: InviteJoinError) -> bytes:
    """``convos.org/invite_join_error:1.0``; ``reason`` is cut to 500 characters."""
    body: dict[str, Any] = {
        "errorType": InviteJoinErrorType(error.error_type).value,
        "inviteTag": _check_str(error.invite_tag, "the invite tag"),
        "timestamp": _iso(error.timestamp, "the timestamp"),
    }
    if error.reason is not None:
        body["reason"] = _check_str(error.reason, "the reason")[:MAX_REASON_LENGTH]
    return _envelope(INVITE_JOIN_ERROR, body, fallback=error.user_message)


def encode_invite_join_handled(marker: InviteJoinHandled) -> bytes:
    """``convos.org/invite_join_handled:1.0`` (no fallback)."""
    body = {
        "inviteTag": _check_str(marker.invite_tag, "the invite tag"),
        "handledMessageId": _check_str(marker.handled_message_id, "the handled message id"),
        "timestamp": _iso(marker.timestamp, "the timestamp"),
    }
    return _envelope(INVITE_JOIN_HANDLED, body)


def encode_typing_indicator(indicator: TypingIndicator) -> bytes:
    """``convos.org/typing_indicator:1.0`` (no fallback)."""
    return _envelope(TYPING_INDICATOR, {"isTyping": bool(indicator.is_typing)})


def encode_explode_settings(settings: ExplodeSettings) -> bytes:
    """``convos.org/explode_settings:1.0``, the date in whole seconds."""
    when = _iso(settings.expires_at, "expires_at")
    return _envelope(EXPLODE_SETTINGS, {"expiresAt": when}, fallback=f"Conversation expires at {when}")


def encode_thinking(thinking: Thinking) -> bytes:
    """``convos.org/thinking:1.0`` (no fallback: clients without the codec show nothing)."""
    target = _check_str(thinking.target_message_id, "the target message id")
    label = _check_str(thinking.label, "the label")
    if not target or not label:
        raise ContentArgumentError("a thinking indicator needs a target message id and a label")
    body: dict[str, Any] = {
        "state": ThinkingState(thinking.state).value,
        "targetMessageId": target,
        "content": label,
    }
    if thinking.result_message_id is not None:
        result = _check_str(thinking.result_message_id, "the result message id")
        if not result:
            raise ContentArgumentError("the result message id is empty (leave it out instead)")
        if thinking.state is not ThinkingState.STOP:
            raise ContentArgumentError("only a stop carries a result message id")
        body["resultMessageId"] = result
    return _envelope(THINKING, body)


def _envelope(type_id: ContentTypeId, body: dict[str, Any], fallback: str | None = None) -> bytes:
    try:
        raw = _json_bytes(body)
    except UnicodeEncodeError as exc:
        raise ContentArgumentError("a value is not valid Unicode") from exc
    return encode_envelope(type_id, raw, fallback=fallback)


def encode_content(value: DecodedContent) -> bytes:
    """``EncodedContent`` bytes for any record :func:`decode_content` returns (``Unknown``: its raw bytes)."""
    if isinstance(value, Text):
        return encode_text(value.text)
    if isinstance(value, JoinRequest):
        return encode_join_request(value)
    if isinstance(value, InviteJoinError):
        return encode_invite_join_error(value)
    if isinstance(value, InviteJoinHandled):
        return encode_invite_join_handled(value)
    if isinstance(value, TypingIndicator):
        return encode_typing_indicator(value)
    if isinstance(value, ExplodeSettings):
        return encode_explode_settings(value)
    if isinstance(value, Thinking):
        return encode_thinking(value)
    if isinstance(value, ProfileUpdate):
        return profile_update_content(value)
    if isinstance(value, ProfileSnapshot):
        return profile_snapshot_content(value)
    if isinstance(value, Unknown):
        return value.raw
    raise ContentArgumentError(f"cannot encode {type(value).__name__}")


def should_push(type_id: ContentTypeId) -> bool:
    """libxmtp's ``shouldPush`` for a content type: true for text and the notifying Convos types."""
    if type_id.authority_id == CONVOS:
        return _PUSH.get(type_id.type_id, False)
    return type_id.same_type(TEXT)


# --- decoders ---


def _decode_text(envelope: Envelope) -> Text:
    encoding = envelope.parameters.get("encoding", "UTF-8")
    if encoding.replace("-", "").replace("_", "").lower() != "utf8":
        raise ContentMalformed(f"unsupported text encoding {encoding!r}", str(envelope.type))
    try:
        return Text(envelope.content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ContentMalformed("the text is not UTF-8", str(envelope.type)) from exc


def _decode_join_request(envelope: Envelope) -> JoinRequest:
    name = str(envelope.type)
    obj = _json_object(envelope)
    slug = _string(obj, "inviteSlug", name) or ""
    profile = None
    raw_profile = obj.get("profile")
    if raw_profile is not None:
        if not isinstance(raw_profile, dict):
            raise ContentMalformed("profile is not an object", name)
        profile = JoinRequestProfile(
            name=_string(raw_profile, "name", name, required=False),
            image_url=_string(raw_profile, "imageURL", name, required=False),
            member_kind=_string(raw_profile, "memberKind", name, required=False),
        )
    metadata: Mapping[str, str] = _EMPTY
    raw_metadata = obj.get("metadata")
    if raw_metadata is not None:
        if not isinstance(raw_metadata, dict) or not all(isinstance(v, str) for v in raw_metadata.values()):
            raise ContentMalformed("metadata is not a map of strings", name)
        metadata = MappingProxyType(dict(raw_metadata)) if raw_metadata else _EMPTY
    return JoinRequest(invite_slug=slug, profile=profile, metadata=metadata)


def _decode_invite_join_error(envelope: Envelope) -> InviteJoinError:
    name = str(envelope.type)
    obj = _json_object(envelope)
    reason = _string(obj, "reason", name, required=False)
    return InviteJoinError(
        error_type=InviteJoinErrorType.parse(_string(obj, "errorType", name) or ""),
        invite_tag=_string(obj, "inviteTag", name) or "",
        timestamp=_date(obj, "timestamp", name),
        reason=None if reason is None else reason[:MAX_REASON_LENGTH],
    )


def _decode_invite_join_handled(envelope: Envelope) -> InviteJoinHandled:
    name = str(envelope.type)
    obj = _json_object(envelope)
    return InviteJoinHandled(
        invite_tag=_string(obj, "inviteTag", name) or "",
        handled_message_id=_string(obj, "handledMessageId", name, required=False) or "",
        timestamp=_date(obj, "timestamp", name),
    )


def _decode_typing_indicator(envelope: Envelope) -> TypingIndicator:
    obj = _json_object(envelope)
    value = obj.get("isTyping")
    if not isinstance(value, bool):
        raise ContentMalformed("isTyping is not a boolean", str(envelope.type))
    return TypingIndicator(value)


def _decode_explode_settings(envelope: Envelope) -> ExplodeSettings:
    obj = _json_object(envelope)
    return ExplodeSettings(_date(obj, "expiresAt", str(envelope.type)))


def _decode_thinking(envelope: Envelope) -> Thinking:
    """As strict as the iOS codec: every field present and non-empty, ``resultMessageId`` optional."""
    obj = _json_object(envelope)
    name = str(envelope.type)
    raw_state = _string(obj, "state", name) or ""
    try:
        state = ThinkingState(raw_state)
    except ValueError as exc:
        raise ContentMalformed(f"unknown state {raw_state[:20]!r}", name) from exc
    target = _string(obj, "targetMessageId", name)
    label = _string(obj, "content", name)
    if not target or not label:
        raise ContentMalformed("targetMessageId and content must not be empty", name)
    result = _string(obj, "resultMessageId", name, required=False)
    if result == "":
        raise ContentMalformed("resultMessageId is present but empty", name)
    return Thinking(state, target, label, result)


_CONVOS_DECODERS: dict[str, Callable[[Envelope], DecodedContent]] = {
    JOIN_REQUEST.type_id: _decode_join_request,
    INVITE_JOIN_ERROR.type_id: _decode_invite_join_error,
    INVITE_JOIN_HANDLED.type_id: _decode_invite_join_handled,
    TYPING_INDICATOR.type_id: _decode_typing_indicator,
    EXPLODE_SETTINGS.type_id: _decode_explode_settings,
    THINKING.type_id: _decode_thinking,
}


def decode_content(data: bytes) -> DecodedContent:
    """Decode ``EncodedContent`` bytes into a typed record (``Unknown`` for other types)."""
    envelope = decode_envelope(data)
    type_id = envelope.type
    if type_id.version_major == 1:
        if type_id.same_type(TEXT):
            return _decode_text(envelope)
        if type_id.authority_id == CONVOS:
            if type_id.type_id == PROFILE_UPDATE.type_id:
                return decode_profile_update(envelope.content)
            if type_id.type_id == PROFILE_SNAPSHOT.type_id:
                return decode_profile_snapshot(envelope.content)
            decoder = _CONVOS_DECODERS.get(type_id.type_id)
            if decoder is not None:
                return decoder(envelope)
            if type_id.type_id in CONTROL_TYPE_IDS:
                return Control(type_id)
    return Unknown(type_id=type_id, fallback=envelope.fallback, raw=bytes(data))
