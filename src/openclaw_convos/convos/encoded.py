"""XMTP ``EncodedContent``: the envelope of every message's content (type id, parameters, body).

Serialized with our own ``xmtp.mls.message_contents.EncodedContent`` protobuf, so the bytes equal
libxmtp's (protobuf writes fields in number order; proto3 defaults are omitted). A compressed
body (field 5: DEFLATE or GZIP) is inflated on decode, bounded by :data:`MAX_CONTENT_SIZE`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from google.protobuf.message import DecodeError

from .errors import ContentArgumentError, ContentMalformed, ContentTooLarge
from .proto import encoded_content_pb2 as pb

MAX_CONTENT_SIZE = 10 * 1024 * 1024
"""Largest (decompressed) content body we decode."""
COMPRESSION_DEFLATE = 0
COMPRESSION_GZIP = 1
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ContentTypeId:
    """``authority/type:major.minor``, e.g. ``convos.org/join_request:1.0``."""

    authority_id: str
    type_id: str
    version_major: int
    version_minor: int = 0

    def __str__(self) -> str:
        return f"{self.authority_id}/{self.type_id}:{self.version_major}.{self.version_minor}"

    def same_type(self, other: ContentTypeId) -> bool:
        """Same authority and type (any version)."""
        return (self.authority_id, self.type_id) == (other.authority_id, other.type_id)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded ``EncodedContent``; ``content`` is already decompressed."""

    type: ContentTypeId
    content: bytes
    parameters: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    fallback: str | None = None
    compression: int | None = None


def encode_envelope(
    type_id: ContentTypeId,
    content: bytes,
    *,
    parameters: Mapping[str, str] | None = None,
    fallback: str | None = None,
) -> bytes:
    """Serialized ``EncodedContent`` (uncompressed)."""
    message = pb.EncodedContent()
    try:
        message.type.authority_id = type_id.authority_id
        message.type.type_id = type_id.type_id
        message.type.version_major = type_id.version_major
        message.type.version_minor = type_id.version_minor
        for key, value in (parameters or {}).items():
            message.parameters[key] = value
        if fallback is not None:
            message.fallback = fallback
        message.content = content
    except (TypeError, ValueError) as exc:
        raise ContentArgumentError(f"a value cannot be stored ({exc})") from exc
    return message.SerializeToString(deterministic=True)


def _inflate(body: bytes, wbits: int, limit: int) -> bytes | None:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    if len(out) > limit:
        raise ContentTooLarge(len(out), limit)
    return out if inflater.eof else None


def _decompress(body: bytes, compression: int, limit: int, type_name: str) -> bytes:
    if compression == COMPRESSION_DEFLATE:
        attempts: tuple[int, ...] = (15, -15)  # zlib-wrapped (as the JS SDKs write), then raw
    elif compression == COMPRESSION_GZIP:
        attempts = (31,)
    else:
        raise ContentMalformed(f"unknown compression {compression}", type_name)
    for wbits in attempts:
        out = _inflate(body, wbits, limit)
        if out is not None:
            return out
    raise ContentMalformed("the compressed body does not inflate", type_name)


def peek_type(data: bytes) -> ContentTypeId | None:
    """The content type of serialized ``EncodedContent`` without decompressing it; None when the
    bytes are not ``EncodedContent`` or carry no type."""
    message = pb.EncodedContent()
    try:
        message.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RecursionError, TypeError):
        return None
    if not message.HasField("type") or not message.type.authority_id or not message.type.type_id:
        return None
    t = message.type
    return ContentTypeId(t.authority_id, t.type_id, t.version_major, t.version_minor)


def decode_envelope(data: bytes, *, max_size: int = MAX_CONTENT_SIZE) -> Envelope:
    """Decode serialized ``EncodedContent``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ContentMalformed("content is not bytes")
    if len(data) > max_size:
        raise ContentTooLarge(len(data), max_size)
    message = pb.EncodedContent()
    try:
        message.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RecursionError) as exc:
        raise ContentMalformed("not an EncodedContent protobuf") from exc
    if not message.HasField("type") or not message.type.authority_id or not message.type.type_id:
        raise ContentMalformed("the content type id is missing")
    type_id = ContentTypeId(
        message.type.authority_id,
        message.type.type_id,
        message.type.version_major,
        message.type.version_minor,
    )
    content = bytes(message.content)
    compression = message.compression if message.HasField("compression") else None
    if compression is not None:
        content = _decompress(content, compression, max_size, str(type_id))
    return Envelope(
        type=type_id,
        content=content,
        parameters=MappingProxyType(dict(message.parameters)),
        fallback=message.fallback if message.HasField("fallback") else None,
        compression=compression,
    )
