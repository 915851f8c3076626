"""Group appData: the ``ConversationCustomMetadata`` stored in the XMTP group's ``app_data`` string.

``app_data = base64url_nopad(maybe_compress(protobuf))``; compression is the ``0x1F`` frame with
raw DEFLATE, used only when the protobuf is over 100 bytes and the framed form is smaller. We also
read zlib bodies, the legacy node-SDK zlib blob and legacy JSON (``{"tag": ..., "expiresAtUnix": ...}``).

Writing follows the reference's mandatory safety rules (section 8.3); :func:`update_app_data`
enforces the ones a pure function can:

- the current value must decode, else nothing is written (:class:`MetadataUnsafeWrite`);
- the tag is never cleared; a value without a tag may only be written when setting a tag;
- changes are applied to the parsed message in place, so unknown fields (e.g. the CLI's fields 8
  and 9), legacy profiles, the image key and group image survive;
- ``expiresAtUnix`` is never written as 0 (a stored 0 is cleared: iOS reads 0 as "expired in 1970");
- the final base64 string must fit in 8192 bytes (:class:`MetadataTooLarge`), never truncated.

The caller owns the rest: sync the group right before reading ``app_data``, and write the result
of one read-modify-write only.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from google.protobuf.message import DecodeError

from .errors import (
    FramingError,
    FramingTooLarge,
    MetadataArgumentError,
    MetadataMalformed,
    MetadataTooLarge,
    MetadataUnsafeWrite,
)
from .framing import b64url_decode, b64url_encode, compress_frame, unframe
from .proto import conversation_custom_metadata_pb2 as pb
from .tags import is_valid_invite_tag
from .timefmt import unix_seconds

APP_DATA_LIMIT = 8 * 1024
"""libxmtp ``MAX_APP_DATA_LENGTH`` and the iOS ``appDataByteLimit``."""
MAX_DECOMPRESSED_APP_DATA = 10 * 1024 * 1024
MAX_APP_DATA_TEXT = 64 * 1024
"""Longest ``app_data`` we try to read (libxmtp allows 8192; more is garbage)."""
COMPRESS_ABOVE = 100
IMAGE_KEY_LENGTH = 32

AppDataFormat = Literal["empty", "protobuf", "compressed_raw", "compressed_zlib", "legacy_zlib", "json"]
_JSON_KEYS = frozenset({"tag", "expiresAtUnix"})


class Keep(enum.Enum):
    """Marker for "leave this field as it is" in :func:`update_app_data`."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class EncryptedImageRef:
    """Where an encrypted image is and how to open it (salt 32 bytes, nonce 12 bytes)."""

    url: str
    salt: bytes
    nonce: bytes


@dataclass(frozen=True, slots=True)
class LegacyProfile:
    """A profile from the legacy appData profile list (read-only; profiles now travel as messages)."""

    inbox_id: str  # lowercase hex
    name: str | None = None
    image: str | None = None
    encrypted_image: EncryptedImageRef | None = None
    connections: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationMetadata:
    """Decoded appData. ``raw`` is the protobuf as read, unknown fields included."""

    tag: str
    expires_at_unix: int | None = None
    image_encryption_key: bytes | None = None
    encrypted_group_image: EncryptedImageRef | None = None
    emoji: str | None = None
    profiles: tuple[LegacyProfile, ...] = ()
    raw: bytes = b""
    source: AppDataFormat = "protobuf"
    json_extra_keys: tuple[str, ...] = ()


def _image_ref(message: pb.EncryptedImageRef) -> EncryptedImageRef:
    return EncryptedImageRef(url=message.url, salt=bytes(message.salt), nonce=bytes(message.nonce))


def _from_message(
    message: pb.ConversationCustomMetadata, raw: bytes, source: AppDataFormat
) -> ConversationMetadata:
    profiles = tuple(
        LegacyProfile(
            inbox_id=bytes(p.inboxId).hex(),
            name=p.name if p.HasField("name") else None,
            image=p.image if p.HasField("image") else None,
            encrypted_image=_image_ref(p.encryptedImage) if p.HasField("encryptedImage") else None,
            connections=p.connections if p.HasField("connections") else None,
        )
        for p in message.profiles
    )
    return ConversationMetadata(
        tag=message.tag,
        expires_at_unix=(message.expiresAtUnix or None) if message.HasField("expiresAtUnix") else None,
        image_encryption_key=bytes(message.imageEncryptionKey)
        if message.HasField("imageEncryptionKey")
        else None,
        encrypted_group_image=(
            _image_ref(message.encryptedGroupImage) if message.HasField("encryptedGroupImage") else None
        ),
        emoji=message.emoji if message.HasField("emoji") else None,
        profiles=profiles,
        raw=raw,
        source=source,
    )


def _parse(raw: bytes) -> pb.ConversationCustomMetadata:
    message = pb.ConversationCustomMetadata()
    try:
        message.ParseFromString(raw)
    except (DecodeError, ValueError, RecursionError) as exc:
        raise MetadataMalformed("the protobuf does not decode") from exc
    return message


def _decode_json(text: str) -> ConversationMetadata:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MetadataMalformed("legacy JSON metadata does not parse") from exc
    if not isinstance(value, dict):
        raise MetadataMalformed("legacy JSON metadata is not an object")
    message = pb.ConversationCustomMetadata()
    tag = value.get("tag", "")
    if not isinstance(tag, str):
        raise MetadataMalformed("the legacy JSON tag is not a string")
    message.tag = tag
    expires = value.get("expiresAtUnix")
    if expires is not None:
        if isinstance(expires, float) and expires.is_integer():
            expires = int(expires)
        if not isinstance(expires, int) or isinstance(expires, bool) or not -(2**63) <= expires < 2**63:
            raise MetadataMalformed("the legacy JSON expiresAtUnix is not an integer")
        message.expiresAtUnix = expires
    raw = message.SerializeToString()
    decoded = _from_message(message, raw, "json")
    extra = tuple(sorted(str(key) for key in value if key not in _JSON_KEYS))
    return ConversationMetadata(
        tag=decoded.tag,
        expires_at_unix=decoded.expires_at_unix,
        raw=raw,
        source="json",
        json_extra_keys=extra,
    )


def decode_app_data(value: str) -> ConversationMetadata:
    """Decode a group's ``app_data``. An empty value gives metadata with an empty tag."""
    if not isinstance(value, str):
        raise MetadataMalformed("app_data is not text")
    if len(value) > MAX_APP_DATA_TEXT:
        raise MetadataTooLarge(len(value), MAX_APP_DATA_TEXT)
    text = value.strip()
    if not text:
        return ConversationMetadata(tag="", raw=b"", source="empty")
    if text.startswith("{"):
        return _decode_json(text)
    try:
        unframed = unframe(b64url_decode(text), max_size=MAX_DECOMPRESSED_APP_DATA)
    except FramingTooLarge as exc:
        raise MetadataMalformed(str(exc)) from exc
    except FramingError as exc:
        raise MetadataMalformed(str(exc)) from exc
    source: AppDataFormat = {
        "none": "protobuf",
        "raw": "compressed_raw",
        "zlib": "compressed_zlib",
        "legacy_zlib": "legacy_zlib",
    }[unframed.compression]  # type: ignore[assignment]
    return _from_message(_parse(unframed.data), unframed.data, source)


def encode_protobuf(raw: bytes) -> str:
    """``app_data`` text for serialized metadata: compressed only when over 100 bytes and smaller."""
    body = raw
    if len(raw) > COMPRESS_ABOVE:
        framed = compress_frame(raw)
        if len(framed) < len(raw):
            body = framed
    text = b64url_encode(body)
    if len(text.encode("ascii")) > APP_DATA_LIMIT:
        raise MetadataTooLarge(len(text), APP_DATA_LIMIT)
    return text


def _expiry_seconds(value: datetime | int) -> int:
    if isinstance(value, datetime):
        try:
            seconds = unix_seconds(value)
        except ValueError as exc:
            raise MetadataArgumentError("the expiry must be timezone-aware") from exc
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise MetadataArgumentError("the expiry must be a datetime or unix seconds")
    if not 0 < seconds < 2**63:
        raise MetadataArgumentError(
            "the expiry must be after 1970 (0 reads as 'expired' on iOS); use None to clear"
        )
    return seconds


def update_app_data(
    current: str,
    *,
    tag: str | Keep = KEEP,
    expires_at: datetime | int | Keep | None = KEEP,
    emoji: str | Keep | None = KEEP,
    image_encryption_key: bytes | Keep | None = KEEP,
    encrypted_group_image: EncryptedImageRef | Keep | None = KEEP,
) -> str:
    """The new ``app_data`` text after changing only the given fields of ``current``.

    ``None`` clears a field (absence); :data:`KEEP` (the default) leaves it. The tag can be replaced
    (rotation) but never cleared. ``current`` may be empty only when a tag is being set.
    """
    try:
        existing = decode_app_data(current)
    except MetadataMalformed as exc:
        raise MetadataUnsafeWrite(f"the current metadata does not decode ({exc.detail})") from exc
    except MetadataTooLarge as exc:
        raise MetadataUnsafeWrite("the current metadata is too large to be valid") from exc
    if existing.json_extra_keys:
        raise MetadataUnsafeWrite(
            "the legacy JSON metadata has fields we cannot carry over: " + ", ".join(existing.json_extra_keys)
        )
    if isinstance(tag, Keep):
        if not existing.tag:
            raise MetadataUnsafeWrite("the conversation has no invite tag; set one in the same write")
    elif not isinstance(tag, str) or not is_valid_invite_tag(tag):
        raise MetadataArgumentError(
            "the invite tag must be 10 characters of A-Z, a-z and 0-9 (it is never cleared)"
        )
    message = _parse(existing.raw)
    try:
        _apply(message, tag, expires_at, emoji, image_encryption_key, encrypted_group_image)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, MetadataArgumentError):
            raise
        raise MetadataArgumentError(f"a value cannot be stored ({exc})") from exc
    return encode_protobuf(message.SerializeToString())


def _apply(
    message: pb.ConversationCustomMetadata,
    tag: str | Keep,
    expires_at: datetime | int | Keep | None,
    emoji: str | Keep | None,
    image_encryption_key: bytes | Keep | None,
    encrypted_group_image: EncryptedImageRef | Keep | None,
) -> None:
    if not isinstance(tag, Keep):
        message.tag = tag
    if isinstance(expires_at, Keep):
        if message.HasField("expiresAtUnix") and message.expiresAtUnix == 0:
            message.ClearField("expiresAtUnix")
    elif expires_at is None:
        message.ClearField("expiresAtUnix")
    else:
        message.expiresAtUnix = _expiry_seconds(expires_at)
    if not isinstance(emoji, Keep):
        if emoji:
            message.emoji = emoji
        else:
            message.ClearField("emoji")
    if not isinstance(image_encryption_key, Keep):
        if image_encryption_key is None:
            message.ClearField("imageEncryptionKey")
        elif len(image_encryption_key) != IMAGE_KEY_LENGTH:
            raise MetadataArgumentError(f"the image encryption key must be {IMAGE_KEY_LENGTH} bytes")
        else:
            message.imageEncryptionKey = bytes(image_encryption_key)
    if not isinstance(encrypted_group_image, Keep):
        if encrypted_group_image is None:
            message.ClearField("encryptedGroupImage")
        else:
            ref = message.encryptedGroupImage
            ref.url = encrypted_group_image.url
            ref.salt = encrypted_group_image.salt
            ref.nonce = encrypted_group_image.nonce


def new_app_data(tag: str, *, emoji: str | None = None, expires_at: datetime | int | None = None) -> str:
    """``app_data`` for a group that has none yet."""
    return update_app_data("", tag=tag, emoji=emoji, expires_at=expires_at)
