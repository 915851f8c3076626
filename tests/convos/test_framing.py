"""base64url, '*' separators and the compression frame, including decompression-bomb refusal."""

from __future__ import annotations

import time
import zlib

import pytest

from openclaw_convos.convos import framing
from openclaw_convos.convos.errors import (
    FramingError,
    FramingTooLarge,
    InviteMalformed,
    InviteTooLarge,
    MetadataMalformed,
)
from openclaw_convos.convos.invites import MAX_DECOMPRESSED_INVITE, parse_invite
from openclaw_convos.convos.metadata import decode_app_data


def test_b64url() -> None:
    assert framing.b64url_encode(b"\xfb\xff") == "-_8"
    assert framing.b64url_decode("-_8") == b"\xfb\xff"
    assert framing.b64url_decode("+/8=") == b"\xfb\xff"
    assert framing.b64url_decode("") == b""
    for bad in ("A", "AB!C", "AB CD", "ä"):
        with pytest.raises(FramingError):
            framing.b64url_decode(bad)


def test_separators() -> None:
    body = "x" * 650
    framed = framing.insert_separators(body)
    assert framed == "x" * 300 + "*" + "x" * 300 + "*" + "x" * 50
    assert framing.strip_separators(framed) == body
    assert framing.insert_separators("x" * 300) == "x" * 300
    assert framing.insert_separators("x" * 301) == "x" * 300 + "*x"
    assert framing.insert_separators("") == ""


def test_frame_round_trip_both_bodies() -> None:
    data = b"hello world " * 50
    framed = framing.compress_frame(data)
    assert framed[0] == 0x1F and int.from_bytes(framed[1:5], "big") == len(data)
    assert framing.decompress_frame(framed, max_size=10_000) == framing.Unframed(data, "raw")
    wrapped = framed[:5] + zlib.compress(data)
    assert framing.decompress_frame(wrapped, max_size=10_000) == framing.Unframed(data, "zlib")


@pytest.mark.parametrize(
    ("blob", "error"),
    [
        (b"\x1f\x00\x00\x00\x05", FramingError),  # no body
        (b"\x1f\x00\x00\x00\x00x", FramingError),  # size 0
        (b"\x1f\x00\x00\x01\x00" + framing.raw_deflate(b"a" * 255), FramingError),  # size mismatch (short)
        (b"\x1f\x00\x00\x00\x10" + framing.raw_deflate(b"a" * 255), FramingError),  # inflates beyond size
        (b"\x1f\x00\x00\x00\x02" + b"\xff\xff", FramingError),  # not deflate
        (b"\x1f\x7f\xff\xff\xff" + b"x" * 100, FramingTooLarge),  # over max size
        (b"\x1f\x00\x00\x10\x00" + b"x" * 10, FramingTooLarge),  # ratio 409 > 100
    ],
)
def test_frame_errors(blob: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        framing.decompress_frame(blob, max_size=1 << 20)


def test_legacy_zlib() -> None:
    data = b"abc" * 100
    assert framing.unframe(zlib.compress(data), max_size=1000) == framing.Unframed(data, "legacy_zlib")
    with pytest.raises(FramingTooLarge):
        framing.unframe(zlib.compress(b"\x00" * 100_000), max_size=1 << 20)  # ratio far above 100
    with pytest.raises(FramingError):
        framing.unframe(b"\x78\x9c\x00", max_size=1000)


def _bomb(size: int) -> bytes:
    return zlib.compress(b"\x00" * size, 9)


def test_invite_bomb_refused_fast() -> None:
    cases: list[tuple[str, type[Exception]]] = [
        # 1 GiB declared: refused by the declared size before inflating anything.
        (framing.b64url_encode(b"\x1f" + (1 << 30).to_bytes(4, "big") + b"\x00" * 40_000), InviteTooLarge),
        # Within the size limit but far beyond the allowed ratio: refused before inflating.
        (
            framing.b64url_encode(
                b"\x1f" + MAX_DECOMPRESSED_INVITE.to_bytes(4, "big") + _bomb(MAX_DECOMPRESSED_INVITE)
            ),
            InviteTooLarge,
        ),
        # Legacy zlib bomb (no size field): inflation stops past the 1 MiB limit.
        (framing.b64url_encode(_bomb(32 << 20)), InviteTooLarge),
    ]
    # A lying size: declares 100 bytes, the stream inflates to 16 MiB; inflation stops at 101 bytes.
    for body in (_bomb(16 << 20), framing.raw_deflate(b"\x00" * (16 << 20))):
        cases.append((framing.b64url_encode(b"\x1f" + (100).to_bytes(4, "big") + body), InviteMalformed))
    for slug, error in cases:
        assert len(slug) < 64 * 1024
        start = time.perf_counter()
        with pytest.raises(error):
            parse_invite(slug)
        assert time.perf_counter() - start < 0.2


def test_app_data_bomb_refused_fast() -> None:
    start = time.perf_counter()
    value = framing.b64url_encode(b"\x1f" + (10 << 20).to_bytes(4, "big") + _bomb(10 << 20)[:6000])
    with pytest.raises(MetadataMalformed):
        decode_app_data(value)
    assert time.perf_counter() - start < 1.0
