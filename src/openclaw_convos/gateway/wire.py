"""From XMTP messages to gateway events, and the Convos messages the gateway sends.

Decoding happens once, here: standard XMTP types through libxmtp's codecs
(:mod:`openclaw_convos.xmtp.content`), ``convos.org/*`` through :mod:`openclaw_convos.convos`.
A message that does not decode becomes an ``IGNORED`` event, never an exception.
"""

from __future__ import annotations

import logging
import re

from ..convos import content as cc
from ..convos import profiles as cp
from ..errors import ConvosError
from ..xmtp import XmtpMessage
from ..xmtp import content as xc
from .events import EventKind, Inbound

log = logging.getLogger("openclaw_convos.gateway.wire")

MAX_DISPLAY_NAME = 100
"""Longest member name we keep (characters); a peer chooses it, and it reaches the owner and agent."""
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]+")


def display_name(name: str | None) -> str | None:
    """A peer-chosen name made safe to show: one line, no control, zero-width or bidi-override
    characters, at most :data:`MAX_DISPLAY_NAME` characters (cut with "…"); None when blank."""
    if name is None:
        return None
    cleaned = _UNPRINTABLE.sub(" ", name).strip()
    if len(cleaned) > MAX_DISPLAY_NAME:
        cleaned = cleaned[: MAX_DISPLAY_NAME - 1].rstrip() + "…"
    return cleaned or None


def normalize(message: XmtpMessage, identity_id: str, is_dm: bool) -> Inbound | None:
    """The event for ``message``; None for messages that carry nothing for us."""
    ctype = message.content_type
    base = {
        "identity_id": identity_id,
        "message_id": message.id,
        "conversation_id": message.conversation_id,
        "is_dm": is_dm,
        "sender_inbox_id": message.sender_inbox_id,
        "sent_at_ns": message.sent_at_ns,
        "content_type": str(ctype) if ctype else "unknown",
    }
    if ctype is None:
        return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]
    try:
        if ctype.authority_id == "convos.org":
            return _convos(message, base)
        standard = xc.decode_standard(message.content)
    except ConvosError as exc:
        log.info("undecodable %s message %s: %s", ctype, message.id, exc)
        return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]
    if isinstance(standard, xc.Text):
        text = standard.text
        if is_dm and _looks_like_invite(text):
            return Inbound(kind=EventKind.JOIN_REQUEST, text=text, join_slug=text.strip(), **base)  # type: ignore[arg-type]
        return Inbound(kind=EventKind.TEXT, text=text, **base)  # type: ignore[arg-type]
    if isinstance(standard, xc.Reply):
        if standard.text is None:
            return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]
        return Inbound(kind=EventKind.TEXT, text=standard.text, reply_to_id=standard.reference_id, **base)  # type: ignore[arg-type]
    if isinstance(standard, xc.Reaction):
        return Inbound(
            kind=EventKind.REACTION,
            reaction=standard.emoji,
            reaction_added=standard.added,
            reaction_target_id=standard.reference_id,
            **base,  # type: ignore[arg-type]
        )
    if isinstance(standard, xc.Attachment):
        return Inbound(kind=EventKind.ATTACHMENT, attachment=standard, **base)  # type: ignore[arg-type]
    return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]


def _convos(message: XmtpMessage, base: dict[str, object]) -> Inbound:
    decoded = cc.decode_content(message.content)
    if isinstance(decoded, cc.JoinRequest):
        return Inbound(kind=EventKind.JOIN_REQUEST, join_slug=decoded.invite_slug, **base)  # type: ignore[arg-type]
    if isinstance(decoded, cp.ProfileUpdate):
        image = decoded.encrypted_image.url if decoded.encrypted_image is not None else None
        return Inbound(
            kind=EventKind.PROFILE,
            profiles=((message.sender_inbox_id, display_name(decoded.name), image),),
            **base,  # type: ignore[arg-type]
        )
    if isinstance(decoded, cp.ProfileSnapshot):
        return Inbound(
            kind=EventKind.PROFILE,
            profiles=tuple(
                (
                    p.inbox_id,
                    display_name(p.name),
                    p.encrypted_image.url if p.encrypted_image is not None else None,
                )
                for p in decoded.profiles
                if display_name(p.name)
            ),
            **base,  # type: ignore[arg-type]
        )
    return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]


def _looks_like_invite(text: str) -> bool:
    """A plain-text join request (the CLI's fallback copy): the whole text parses as an invite."""
    candidate = text.strip()
    if len(candidate) < 40 or any(ch.isspace() for ch in candidate):
        return False
    from ..convos import parse_invite

    try:
        parse_invite(candidate)
    except ConvosError:
        return False
    return True


def typing_indicator(active: bool) -> bytes:
    return cc.encode_typing_indicator(cc.TypingIndicator(is_typing=active))


def profile_update(name: str) -> bytes:
    """Our own profile in a conversation, marked as an agent.

    (Convos profile images are encrypted with the group's key and uploaded to a blob store, which
    needs a network service; so the agent's profile carries a name only.)
    """
    return cp.profile_update_content(cp.ProfileUpdate(name=name, member_kind=cp.MemberKind.AGENT))
