"""Byte framing shared by invite slugs and group appData.

- base64url without padding (decoders also take the standard alphabet and ``=`` padding);
- ``*`` inserted every 300 characters (invite slugs only);
- the compression frame ``0x1F | original length (u32 big-endian) | DEFLATE body``. We write raw
  DEFLATE (the iOS format); we read raw DEFLATE and the zlib-wrapped body the official CLI writes,
  and, read-only, the legacy node-SDK form (a bare zlib stream starting ``0x78``, no size field).

Decompression is bounded before any work is done: the declared size must be within ``max_size``
and at most ``max_ratio`` times the body length, and inflation stops at ``size + 1`` bytes.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass
from typing import Literal

from .errors import FramingError, FramingTooLarge

COMPRESSION_MARKER = 0x1F
ZLIB_MARKER = 0x78
SEPARATOR = "*"
SEPARATOR_EVERY = 300
MAX_COMPRESSION_RATIO = 100

Compression = Literal["none", "raw", "zlib", "legacy_zlib"]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_TO_URLSAFE = str.maketrans("+/", "-_")


def b64url_encode(data: bytes) -> str:
    """base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Decode base64url, with or without padding; the standard ``+`` ``/`` alphabet is accepted too."""
    body = text.translate(_TO_URLSAFE).rstrip("=")
    if _B64URL.fullmatch(body) is None:
        raise FramingError("characters outside the base64url alphabet")
    if len(body) % 4 == 1:
        raise FramingError("truncated base64url")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:  # binascii.Error is a ValueError
        raise FramingError("invalid base64url") from exc


def insert_separators(text: str, every: int = SEPARATOR_EVERY) -> str:
    """Insert ``*`` before every character whose index is a positive multiple of ``every``."""
    return SEPARATOR.join(text[i : i + every] for i in range(0, len(text), every)) if text else ""


def strip_separators(text: str) -> str:
    """Remove every ``*``."""
    return text.replace(SEPARATOR, "")


def raw_deflate(data: bytes) -> bytes:
    """Raw DEFLATE (RFC 1951, no zlib header), as Apple's ``COMPRESSION_ZLIB`` writes it."""
    compressor = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def compress_frame(data: bytes) -> bytes:
    """``0x1F | len(data) u32 BE | raw DEFLATE(data)``."""
    if len(data) > 0xFFFFFFFF:
        raise FramingTooLarge("data too large for the compression frame")
    return bytes([COMPRESSION_MARKER]) + len(data).to_bytes(4, "big") + raw_deflate(data)


@dataclass(frozen=True, slots=True)
class Unframed:
    """The bytes inside a blob, and how they were compressed."""

    data: bytes
    compression: Compression


def _inflate(body: bytes, wbits: int, limit: int) -> bytes | None:
    """Inflate at most ``limit`` bytes; None when the stream is invalid or incomplete."""
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit)
    except zlib.error:
        return None
    if not inflater.eof:
        return None
    return out


def decompress_frame(blob: bytes, *, max_size: int, max_ratio: int = MAX_COMPRESSION_RATIO) -> Unframed:
    """Decode a ``0x1F`` frame (raw DEFLATE body, else zlib body), enforcing the size limits."""
    if len(blob) < 6 or blob[0] != COMPRESSION_MARKER:
        raise FramingError("truncated compression frame")
    size = int.from_bytes(blob[1:5], "big")
    body = blob[5:]
    if size == 0:
        raise FramingError("compression frame declares size 0")
    if size > max_size:
        raise FramingTooLarge(f"declared size {size} exceeds {max_size} bytes")
    if size // len(body) > max_ratio:
        raise FramingTooLarge(f"declared compression ratio above {max_ratio}")
    for wbits, kind in ((-15, "raw"), (15, "zlib")):
        out = _inflate(body, wbits, size + 1)
        if out is not None and len(out) == size:
            return Unframed(out, kind)  # type: ignore[arg-type]
    raise FramingError("compressed body does not inflate to its declared size")


def decompress_legacy_zlib(blob: bytes, *, max_size: int, max_ratio: int = MAX_COMPRESSION_RATIO) -> Unframed:
    """Decode a node-SDK blob: a bare zlib stream with no size field."""
    limit = min(max_size, len(blob) * max_ratio)
    inflater = zlib.decompressobj(15)
    try:
        out = inflater.decompress(blob, limit + 1)
    except zlib.error as exc:
        raise FramingError("invalid zlib stream") from exc
    if len(out) > limit:
        raise FramingTooLarge(f"zlib stream inflates beyond {limit} bytes")
    if not inflater.eof or not out:
        raise FramingError("incomplete zlib stream")
    return Unframed(out, "legacy_zlib")


def unframe(blob: bytes, *, max_size: int) -> Unframed:
    """The protobuf bytes inside ``blob``: plain, ``0x1F`` framed, or legacy zlib."""
    if not blob:
        return Unframed(b"", "none")
    if blob[0] == COMPRESSION_MARKER:
        return decompress_frame(blob, max_size=max_size)
    if blob[0] == ZLIB_MARKER:
        return decompress_legacy_zlib(blob, max_size=max_size)
    return Unframed(blob, "none")
