"""From XMTP messages to gateway events, and the Convos messages the gateway sends.

Decoding happens once, here: standard XMTP types through libxmtp's codecs
(:mod:`openclaw_convos.xmtp.content`), ``convos.org/*`` through :mod:`openclaw_convos.convos`.
A message that does not decode becomes an ``IGNORED`` event, never an exception.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from ..convos import content as cc
from ..convos import profiles as cp
from ..errors import ConvosError
from ..xmtp import XmtpMessage
from ..xmtp import content as xc
from ..xmtp.attachments import InlineAttachment, RemoteAttachment
from .config import DEFAULT_INBOUND_TEXT_LIMIT
from .events import EventKind, Inbound

log = logging.getLogger("openclaw_convos.gateway.wire")

MAX_DISPLAY_NAME = 100
"""Longest member name we keep (characters); a peer chooses it, and it reaches the owner and agent."""
MAX_FILENAME = 100
"""Longest attachment file name we keep (characters, one line)."""
MAX_MIME_TYPE = 100
_MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
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


def bounded_text(text: str, limit: int = DEFAULT_INBOUND_TEXT_LIMIT) -> str:
    """``text`` when it has at most ``limit`` characters; else its first ``limit`` characters and
    one line that says how much the sender wrote (so the agent knows it sees only a part)."""
    if len(text) <= limit:
        return text
    return (
        text[:limit]
        + f"\n[message cut by the gateway: the sender wrote {len(text):,} characters; "
        + f"only the first {limit:,} are shown]"
    )


def file_name(name: str | None) -> str | None:
    """A peer-chosen attachment file name made safe to show: one line, no control, zero-width or
    bidi characters, no path, at most :data:`MAX_FILENAME` characters; None when blank."""
    if name is None:
        return None
    cleaned = _UNPRINTABLE.sub(" ", name).replace("/", "_").replace("\\", "_").strip()
    if len(cleaned) > MAX_FILENAME:
        stem, dot, ext = cleaned.rpartition(".")
        keep = f".{ext}" if dot and stem and len(ext) <= 10 else ""
        cleaned = cleaned[: MAX_FILENAME - 1 - len(keep)].rstrip() + "…" + keep
    return cleaned or None


def mime_type(value: str | None) -> str | None:
    """A MIME type of the form ``type/subtype`` (parameters dropped, lower-cased), at most
    :data:`MAX_MIME_TYPE` characters; None for anything else."""
    if value is None:
        return None
    bare = value.split(";", 1)[0].strip().lower()
    if len(bare) > MAX_MIME_TYPE or _MIME_TYPE.fullmatch(bare) is None:
        return None
    return bare


def _bounded_attachment(att: xc.Attachment) -> xc.Attachment:
    items: list[InlineAttachment | RemoteAttachment] = []
    for item in att.items:
        if isinstance(item, InlineAttachment):
            kind = mime_type(item.mime_type) or "application/octet-stream"
            items.append(dataclasses.replace(item, filename=file_name(item.filename), mime_type=kind))
        else:
            items.append(dataclasses.replace(item, filename=file_name(item.filename)))
    return dataclasses.replace(
        att, filename=file_name(att.filename), mime_type=mime_type(att.mime_type), items=tuple(items)
    )


def normalize(
    message: XmtpMessage, identity_id: str, is_dm: bool, *, text_limit: int = DEFAULT_INBOUND_TEXT_LIMIT
) -> Inbound | None:
    """The event for ``message``; None for messages that carry nothing for us.

    Texts longer than ``text_limit`` are cut (:func:`bounded_text`); attachment file names and
    MIME types are bounded to one short line (:func:`file_name`, :func:`mime_type`).
    """
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
        if is_dm and len(text) <= text_limit and _looks_like_invite(text):
            return Inbound(kind=EventKind.JOIN_REQUEST, text=text, join_slug=text.strip(), **base)  # type: ignore[arg-type]
        return Inbound(kind=EventKind.TEXT, text=bounded_text(text, text_limit), **base)  # type: ignore[arg-type]
    if isinstance(standard, xc.Reply):
        if standard.text is None:
            return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]
        return Inbound(
            kind=EventKind.TEXT,
            text=bounded_text(standard.text, text_limit),
            reply_to_id=standard.reference_id,
            **base,  # type: ignore[arg-type]
        )
    if isinstance(standard, xc.Reaction):
        return Inbound(
            kind=EventKind.REACTION,
            reaction=standard.emoji,
            reaction_added=standard.added,
            reaction_target_id=standard.reference_id,
            **base,  # type: ignore[arg-type]
        )
    if isinstance(standard, xc.Attachment):
        return Inbound(kind=EventKind.ATTACHMENT, attachment=_bounded_attachment(standard), **base)  # type: ignore[arg-type]
    if standard is None:
        log.debug("ignoring message %s of unknown type %s", message.id, ctype)
    # read receipts, group updates: XMTP control messages, quietly
    return Inbound(kind=EventKind.IGNORED, **base)  # type: ignore[arg-type]


def _convos(message: XmtpMessage, base: dict[str, object]) -> Inbound:
    decoded = cc.decode_content(message.content)
    if isinstance(decoded, cc.JoinRequest):
        return Inbound(kind=EventKind.JOIN_REQUEST, join_slug=decoded.invite_slug, **base)  # type: ignore[arg-type]
    if isinstance(decoded, cp.ProfileUpdate):
        image = decoded.encrypted_image.url if decoded.encrypted_image is not None else None
        zone = decoded.timezone
        return Inbound(
            kind=EventKind.PROFILE,
            profiles=((message.sender_inbox_id, display_name(decoded.name), image),),
            timezones=((message.sender_inbox_id, zone),) if zone else (),
            **base,  # type: ignore[arg-type]
        )
    if isinstance(decoded, cc.ExplodeSettings):
        return Inbound(kind=EventKind.EXPLODE, explode_at=decoded.expires_at.timestamp(), **base)  # type: ignore[arg-type]
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
            timezones=tuple((p.inbox_id, zone) for p in decoded.profiles if (zone := p.timezone)),
            **base,  # type: ignore[arg-type]
        )
    if isinstance(decoded, cc.Unknown):
        log.debug("ignoring message %s of unknown type %s", message.id, decoded.type_id)
    # typing and thinking indicators, join markers, the app's control types: quietly
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
