"""Decompression bombs and oversized fields are refused cheaply: bounded time and memory.

Each bomb is built once (module level, outside the measurement), then decoded under
``tracemalloc`` with a wall-clock limit; the decode must raise the expected error of ours. The
bounds follow from the limits in the code: an invite inflates to at most 1 MiB, appData to at
most 100x its (<= 64 KiB) text, a message body to at most 10 MiB. A second test decodes all of
them in a fresh subprocess and bounds its peak RSS, which also counts memory that tracemalloc
cannot see (protobuf's C arenas, zlib's window).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.convos import content as cc
from openclaw_convos.convos import framing
from openclaw_convos.convos.encoded import MAX_CONTENT_SIZE, encode_envelope
from openclaw_convos.convos.errors import (
    ContentMalformed,
    ContentTooLarge,
    InviteMalformed,
    InviteTooLarge,
    MetadataMalformed,
    MetadataTooLarge,
)
from openclaw_convos.convos.invites import decode_slug, parse_invite
from openclaw_convos.convos.metadata import decode_app_data
from openclaw_convos.convos.proto import encoded_content_pb2 as encoded_pb
from openclaw_convos.errors import ConvosError
from openclaw_convos.gateway import wire
from openclaw_convos.xmtp import MessageKind, XmtpMessage
from openclaw_convos.xmtp import content as xc

MIB = 1024 * 1024


def _zeros_deflated(mib: int, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    chunk = bytes(MIB)
    return b"".join(packer.compress(chunk) for _ in range(mib)) + packer.flush()


def _frame(declared: int, body: bytes) -> bytes:
    return bytes([framing.COMPRESSION_MARKER]) + declared.to_bytes(4, "big") + body


def _compressed_envelope(type_id: cc.ContentTypeId, body: bytes, compression: int) -> bytes:
    message = encoded_pb.EncodedContent()
    message.ParseFromString(encode_envelope(type_id, b""))
    message.content = body
    message.compression = compression
    return message.SerializeToString()


def _as_message(content: bytes) -> XmtpMessage:
    return XmtpMessage(
        "00" * 32, "11" * 16, "22" * 32, 1, MessageKind.APPLICATION, xc.content_type_of(content), content
    )


@dataclass(frozen=True)
class Bomb:
    name: str
    make: Callable[[], Any]
    """Builds the hostile input (not measured)."""
    decode: Callable[[Any], object]
    error: type[ConvosError]
    max_seconds: float
    max_mib: float


DEFLATE_10 = _zeros_deflated(10, -15)  # ~10 KB that inflate to 10 MiB
ZLIB_40 = _zeros_deflated(40, 15)  # ~40 KB -> 40 MiB
DEFLATE_100 = _zeros_deflated(100, 15)  # ~100 KB -> 100 MiB (10 x the limit)
GZIP_100 = _zeros_deflated(100, 31)


def _normalise_join_request(content: bytes) -> object:
    """The gateway's normaliser: a bomb claiming to be a join request becomes an IGNORED event."""
    event = wire.normalize(_as_message(content), "id", True)
    assert event is not None and event.kind.value == "ignored"
    raise ContentTooLarge(len(content), MAX_CONTENT_SIZE)  # what the normaliser swallowed


def _b64(make: Callable[[], bytes]) -> Callable[[], str]:
    return lambda: framing.b64url_encode(make())


BOMBS = [
    Bomb(
        "invite frame declaring 4 GiB",
        _b64(lambda: _frame(0xFFFFFFFF, DEFLATE_10)),
        parse_invite,
        InviteTooLarge,
        0.05,
        1,
    ),
    Bomb(
        "invite frame claiming a ratio above 100",
        _b64(lambda: _frame(MIB, bytes(100))),
        parse_invite,
        InviteTooLarge,
        0.05,
        1,
    ),
    Bomb(
        "invite: 10 KB DEFLATE -> 10 MiB, declared 1,000,000",
        _b64(lambda: _frame(1_000_000, DEFLATE_10)),
        parse_invite,
        InviteMalformed,
        0.2,
        4,
    ),
    Bomb("invite: legacy zlib stream -> 40 MiB", _b64(lambda: ZLIB_40), decode_slug, InviteTooLarge, 0.2, 4),
    Bomb("invite: 10 MB of text", lambda: "A" * 10 * MIB, parse_invite, InviteTooLarge, 0.05, 1),
    Bomb(
        "invite: 10 MB link",
        lambda: "https://popup.convos.org/v2?i=" + "A" * 10 * MIB,
        parse_invite,
        InviteTooLarge,
        0.05,
        1,
    ),
    Bomb("appData: 10 MB of text", lambda: "A" * 10 * MIB, decode_app_data, MetadataTooLarge, 0.05, 1),
    Bomb(
        "appData: frame declaring 10 MiB",
        _b64(lambda: _frame(10 * MIB, DEFLATE_10)),
        decode_app_data,
        MetadataMalformed,
        0.05,
        1,
    ),
    Bomb(
        "appData: legacy zlib stream -> 40 MiB",
        _b64(lambda: ZLIB_40),
        decode_app_data,
        MetadataMalformed,
        0.3,
        10,
    ),
    Bomb(
        "appData: deeply nested JSON",
        lambda: '{"a":' + "[" * 30_000 + "]" * 30_000 + "}",
        decode_app_data,
        MetadataMalformed,
        0.5,
        8,
    ),
    Bomb(
        "content: DEFLATE body -> 100 MiB",
        lambda: _compressed_envelope(cc.JOIN_REQUEST, DEFLATE_100, 0),
        cc.decode_content,
        ContentTooLarge,
        0.5,
        24,
    ),
    Bomb(
        "content: GZIP body -> 100 MiB",
        lambda: _compressed_envelope(cc.TYPING_INDICATOR, GZIP_100, 1),
        cc.decode_content,
        ContentTooLarge,
        0.5,
        24,
    ),
    Bomb(
        "content: envelope over 10 MiB",
        lambda: b"\x0a" + bytes(MAX_CONTENT_SIZE + 1),
        cc.decode_content,
        ContentTooLarge,
        0.05,
        1,
    ),
    Bomb(
        "content: 2 MiB JSON join request",
        lambda: encode_envelope(cc.JOIN_REQUEST, json.dumps({"inviteSlug": "A" * 2 * MIB}).encode()),
        cc.decode_content,
        ContentMalformed,
        0.1,
        5,
    ),
    Bomb(
        "gateway: DEFLATE bomb as a join request",
        lambda: _compressed_envelope(cc.JOIN_REQUEST, DEFLATE_100, 0),
        _normalise_join_request,
        ContentTooLarge,
        0.5,
        24,
    ),
]


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_bomb_refused_cheaply(bomb: Bomb) -> None:
    data = bomb.make()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(bomb.error):
            bomb.decode(data)
        elapsed = time.perf_counter() - started
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak_mib = peak / MIB
    assert elapsed < bomb.max_seconds * 5, f"{bomb.name}: {elapsed:.3f}s"  # x5: slow CI machines
    assert peak_mib < bomb.max_mib, f"{bomb.name}: peak {peak_mib:.1f} MiB"


SUBPROCESS = """
import gc, re, sys
from tests.fuzz import test_bombs as t

def kib(key):
    return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

for bomb in t.BOMBS:
    data = bomb.make()
    gc.collect()
    open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current RSS
    base = kib("VmRSS")
    try:
        bomb.decode(data)
    except t.ConvosError:
        pass
    else:
        sys.exit("not refused: " + bomb.name)
    print(f"{(kib('VmHWM') - base) / 1024:.1f}\t{bomb.max_mib}\t{bomb.name}")
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc/self/clear_refs")
def test_peak_rss_of_each_bomb_in_a_fresh_process() -> None:
    """Peak resident memory while decoding each bomb, C allocations included (Linux)."""
    out = subprocess.run(
        [sys.executable, "-c", SUBPROCESS], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    assert len(rows) == len(BOMBS)
    print()
    for grew, bound, name in rows:
        print(f"  peak RSS +{float(grew):5.1f} MiB (bound {bound} + 8): {name}")
        assert float(grew) < float(bound) + 8, name  # + 8 MiB: allocator and page granularity
