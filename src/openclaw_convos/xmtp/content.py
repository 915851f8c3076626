"""The standard XMTP content types through libxmtp's own codecs.

``EncodedContent`` bytes in, our records out (and back). Convos' own ``convos.org/*`` types are
plain protobufs handled in :mod:`openclaw_convos.convos`; this module only reads their type id.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..convos import content as cc
from ..convos.encoded import peek_type
from ..errors import ProtocolError
from .attachments import (
    InlineAttachment,
    RemoteAttachment,
    decode_inline_attachment,
    decode_multi_remote_attachment,
    decode_remote_attachment,
)
from .binding import ffi
from .types import ContentTypeId

TEXT = cc.TEXT
MARKDOWN = ContentTypeId("xmtp.org", "markdown", 1, 0)
REPLY = ContentTypeId("xmtp.org", "reply", 1, 0)
REACTION = ContentTypeId("xmtp.org", "reaction", 2, 0)
READ_RECEIPT = ContentTypeId("xmtp.org", "readReceipt", 1, 0)
GROUP_UPDATED = ContentTypeId("xmtp.org", "group_updated", 1, 0)
ATTACHMENT = ContentTypeId("xmtp.org", "attachment", 1, 0)
REMOTE_ATTACHMENT = ContentTypeId("xmtp.org", "remoteStaticAttachment", 1, 0)
MULTI_REMOTE_ATTACHMENT = ContentTypeId("xmtp.org", "multiRemoteStaticAttachment", 1, 0)


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    reference_id: str
    reference_inbox_id: str | None
    inner_type: ContentTypeId | None
    text: str | None  # the reply's text when its inner content is text or markdown


@dataclass(frozen=True, slots=True)
class Reaction:
    reference_id: str
    reference_inbox_id: str
    emoji: str
    added: bool  # False when the reaction is removed


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    pass


@dataclass(frozen=True, slots=True)
class GroupUpdated:
    initiated_by_inbox_id: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    left: tuple[str, ...]
    metadata_changes: tuple[tuple[str, str | None, str | None], ...]


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment message: one inline file, one remote file, or several remote files.

    ``filename``/``mime_type``/``size``/``url`` describe the first item (for display); ``items``
    holds every item with what is needed to open it.
    """

    filename: str | None
    mime_type: str | None
    size: int | None
    url: str | None
    items: tuple[InlineAttachment | RemoteAttachment, ...] = ()


StandardContent = Text | Reply | Reaction | ReadReceipt | GroupUpdated | Attachment


def content_type_of(encoded: bytes) -> ContentTypeId | None:
    """The content type id of serialized ``EncodedContent``; None when absent or undecodable."""
    return peek_type(encoded)


# --- encoders ---


def encode_text(text: str) -> bytes:
    """``xmtp.org/text:1.0``: the one text codec (:mod:`openclaw_convos.convos.content`'s, which is
    byte-identical to libxmtp's and also reads compressed text, which libxmtp's decoder ignores)."""
    return cc.encode_text(text)


def encode_reply(reference_id: str, text: str, reference_inbox_id: str | None = None) -> bytes:
    inner = ffi.FfiEncodedContent(
        type_id=ffi.FfiContentTypeId(
            authority_id="xmtp.org", type_id="text", version_major=1, version_minor=0
        ),
        parameters={"encoding": "UTF-8"},
        fallback=None,
        compression=None,
        content=text.encode("utf-8"),
    )
    reply = ffi.FfiReply(reference=reference_id, reference_inbox_id=reference_inbox_id, content=inner)
    return bytes(ffi.encode_reply(reply))


def encode_reaction(reference_id: str, reference_inbox_id: str, emoji: str, *, added: bool = True) -> bytes:
    payload = ffi.FfiReactionPayload(
        reference=reference_id,
        reference_inbox_id=reference_inbox_id,
        action=ffi.FfiReactionAction.ADDED if added else ffi.FfiReactionAction.REMOVED,
        content=emoji,
        schema=ffi.FfiReactionSchema.UNICODE,
    )
    return bytes(ffi.encode_reaction(payload))


def encode_read_receipt() -> bytes:
    return bytes(ffi.encode_read_receipt(ffi.FfiReadReceipt()))


# --- decoder ---


def decode_standard(encoded: bytes) -> StandardContent | None:
    """Decode a standard XMTP content type; None when the type is not one of ours to decode here.

    Raises ProtocolError when the bytes claim a standard type but do not decode.
    """
    ctype = content_type_of(encoded)
    if ctype is None or ctype.authority_id != "xmtp.org":
        return None
    try:
        if ctype.same_type(TEXT):
            decoded = cc.decode_content(encoded)
            if not isinstance(decoded, cc.Text):
                raise ProtocolError(f"undecodable {ctype} content")
            return Text(decoded.text)
        if ctype.same_type(MARKDOWN):
            return Text(str(ffi.decode_markdown(encoded)))
        if ctype.same_type(REPLY):
            reply = ffi.decode_reply(encoded)
            inner = reply.content
            inner_type = (
                ContentTypeId(
                    inner.type_id.authority_id,
                    inner.type_id.type_id,
                    inner.type_id.version_major,
                    inner.type_id.version_minor,
                )
                if inner.type_id is not None
                else None
            )
            text = None
            if inner_type is not None and (inner_type.same_type(TEXT) or inner_type.same_type(MARKDOWN)):
                text = bytes(inner.content).decode("utf-8", "replace")
            return Reply(reply.reference, reply.reference_inbox_id, inner_type, text)
        if ctype.same_type(REACTION):
            reaction = ffi.decode_reaction(encoded)
            return Reaction(
                reaction.reference,
                reaction.reference_inbox_id,
                reaction.content,
                reaction.action != ffi.FfiReactionAction.REMOVED,
            )
        if ctype.same_type(READ_RECEIPT):
            ffi.decode_read_receipt(encoded)
            return ReadReceipt()
        if ctype.same_type(GROUP_UPDATED):
            upd = ffi.decode_group_updated(encoded)
            return GroupUpdated(
                upd.initiated_by_inbox_id,
                tuple(i.inbox_id for i in upd.added_inboxes),
                tuple(i.inbox_id for i in upd.removed_inboxes),
                tuple(i.inbox_id for i in upd.left_inboxes),
                tuple((c.field_name, c.old_value, c.new_value) for c in upd.metadata_field_changes),
            )
        if ctype.same_type(ATTACHMENT):
            att = decode_inline_attachment(encoded)
            return Attachment(att.filename, att.mime_type, att.size, None, (att,))
        if ctype.same_type(REMOTE_ATTACHMENT):
            ratt = decode_remote_attachment(encoded)
            return Attachment(ratt.filename, None, ratt.content_length, ratt.url, (ratt,))
        if ctype.same_type(MULTI_REMOTE_ATTACHMENT):
            refs = decode_multi_remote_attachment(encoded)
            if not refs:
                raise ProtocolError("a multi remote attachment without attachments")
            first = refs[0]
            return Attachment(first.filename, None, first.content_length, first.url, refs)
    except Exception as exc:  # libxmtp raises its own error classes for undecodable content
        raise ProtocolError(f"undecodable {ctype} content: {exc}") from exc
    return None
