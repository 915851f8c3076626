"""Attachments in the pipeline: caption merging (pure) and the files of a turn and a reply.

The Convos app sends a photo with a caption as two messages: the attachment, then the text.
:func:`merge_caption` decides whether a text that follows an attachment is its caption (same
sender, a plain text, sent within :data:`CAPTION_GAP_NS`), so both reach the agent as one turn.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from ..agents import AgentReply
from ..errors import MediaError
from ..media.files import guess_mime_type, sanitize_filename
from ..media.service import MediaService
from ..media.types import MediaFile, MediaRef
from ..xmtp import content as xc
from ..xmtp import outbound as out
from ..xmtp.attachments import InlineAttachment
from .events import EventKind, Inbound

__all__ = ["CAPTION_GAP_NS", "files_text", "merge_caption", "open_files", "reply_files"]

log = logging.getLogger("openclaw_convos.gateway.media")

CAPTION_GAP_NS = 10 * 1_000_000_000
"""A caption is sent at most this long after its attachment (the app sends it right after)."""


def merge_caption(attachment: Inbound, text: Inbound, *, max_gap_ns: int = CAPTION_GAP_NS) -> Inbound | None:
    """``attachment`` with ``text`` as its caption, or None when ``text`` is not its caption."""
    if (
        attachment.kind is not EventKind.ATTACHMENT
        or text.kind is not EventKind.TEXT
        or text.conversation_id != attachment.conversation_id
        or text.sender_inbox_id != attachment.sender_inbox_id
        or text.identity_id != attachment.identity_id
        or text.reply_to_id is not None
        or not (text.text or "").strip()
        or attachment.captions
        or not 0 <= text.sent_at_ns - attachment.sent_at_ns <= max_gap_ns
    ):
        return None
    return dataclasses.replace(attachment, text=text.text, captions=((text.message_id, text.sent_at_ns),))


def unopened(attachment: xc.Attachment, why: str) -> tuple[MediaFile, ...]:
    """Descriptions of an attachment message's items when they are not opened."""
    files = []
    size: int | None
    for item in attachment.items:
        name = sanitize_filename(item.filename)
        if isinstance(item, InlineAttachment):
            mime, size = item.mime_type or guess_mime_type(name), item.size
        else:
            mime, size = guess_mime_type(name), item.content_length
        files.append(MediaFile(filename=name, mime_type=mime, note=why, declared_size=size))
    return tuple(files)


async def open_files(media: MediaService | None, event: Inbound) -> tuple[MediaFile, ...]:
    """The files of an admitted sender's attachment message (downloaded, checked, decrypted)."""
    if event.kind is not EventKind.ATTACHMENT or event.attachment is None:
        return ()
    if media is None:
        return unopened(event.attachment, "was not opened (media is off)")
    return await media.receive(event.attachment)


def files_text(files: tuple[MediaFile, ...]) -> str:
    """A short line for the conversation history (names only)."""
    return " ".join(f"[sent {f.filename}]" for f in files)


async def reply_files(
    media: MediaService | None, reply: AgentReply, roots: tuple[Path, ...]
) -> tuple[list[out.RemoteFile], list[str]]:
    """Upload each file of the agent's reply: the messages to send, and what could not be sent."""
    sent: list[out.RemoteFile] = []
    failed: list[str] = []
    for item in reply.attachments:
        label = item.filename if isinstance(item, MediaFile) else item.source.rsplit("/", 1)[-1][:60]
        if media is None:
            failed.append(label)
            log.warning("the agent's file %s was not sent: media is off", label)
            continue
        try:
            file = await media.resolve(item, roots=roots) if isinstance(item, MediaRef) else item
            sent.append(out.RemoteFile.of(await media.upload_file(file)))
        except MediaError as exc:
            failed.append(label)
            log.warning("the agent's file %s was not sent: %s", label, exc)
    return sent, failed
