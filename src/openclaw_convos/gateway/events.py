"""Inbound events: an XMTP message normalised once, at the edge, into what the gateway acts on."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..xmtp.content import Attachment


class EventKind(enum.Enum):
    TEXT = "text"  # text, markdown, or a reply carrying text
    REACTION = "reaction"
    ATTACHMENT = "attachment"
    PROFILE = "profile"  # a member's profile update or a profile snapshot
    JOIN_REQUEST = "join_request"  # a Convos join request (typed or as a plain-text slug)
    EXPLODE = "explode"  # Convos ExplodeSettings: the conversation ends at ``explode_at``
    IGNORED = "ignored"  # read receipts, typing indicators, group updates, unknown types


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message someone else sent in a conversation one of our identities belongs to."""

    identity_id: str
    message_id: str
    conversation_id: str
    is_dm: bool
    sender_inbox_id: str
    sent_at_ns: int
    content_type: str
    kind: EventKind
    text: str | None = None
    reply_to_id: str | None = None
    reaction: str | None = None
    reaction_added: bool = True
    reaction_target_id: str | None = None
    attachment: Attachment | None = None
    profiles: tuple[tuple[str, str | None, str | None], ...] = ()  # (inbox id, name, image url)
    join_slug: str | None = None
    captions: tuple[tuple[str, int], ...] = ()
    """(message id, sent at) of text messages merged into this attachment event as its caption
    (``text`` holds their text); each is recorded as handled together with this one."""
    timezones: tuple[tuple[str, str], ...] = ()  # (inbox id, IANA zone) from profile metadata
    explode_at: float | None = None  # Unix seconds
