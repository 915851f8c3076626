"""Fuzz targets for the decoders that read bytes from peers, shared by hypothesis and atheris.

Each target takes raw bytes and feeds them to one family of decoders. The rule they check: a
decoder returns a value or raises one of our own errors (:class:`ConvosError`); anything else
(``IndexError``, ``UnicodeDecodeError``, ``RecursionError``, ``MemoryError``, a libxmtp panic...)
escapes the target and is a bug. Some targets also check a property of what decoded:

- ``invite``: a parsed invite re-encodes to a slug that parses to the same signed bytes, and the
  creator's join check (pure) answers with a decision, never an exception;
- ``wire``: the gateway's normaliser never raises at all (a peer's message is data, not control).

:func:`seeds` gives valid inputs for each target, so mutation reaches past the first check.
"""

from __future__ import annotations

import base64
import contextlib
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from openclaw_convos.convos import content as cc
from openclaw_convos.convos import framing, links, metadata, profiles
from openclaw_convos.convos.encoded import ContentTypeId, decode_envelope, encode_envelope
from openclaw_convos.convos.invites import (
    create_invite,
    decode_slug,
    decrypt_conversation_id,
    encode_slug,
    parse_invite,
    verify_invite,
)
from openclaw_convos.convos.join import JoinDecision, VerifiedJoinRequest, verify_join_request
from openclaw_convos.convos.proto import conversation_custom_metadata_pb2 as meta_pb
from openclaw_convos.convos.proto import encoded_content_pb2 as encoded_pb
from openclaw_convos.errors import ConvosError
from openclaw_convos.gateway import wire
from openclaw_convos.xmtp import MessageKind, XmtpMessage
from openclaw_convos.xmtp import content as xc

CREATOR_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
CREATOR_INBOX = "ab" * 32
CONVERSATION_ID = "0123456789abcdef0123456789abcdef"
TAG = "AbCdEf1234"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
MAX_FRAME = 1024 * 1024


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape").encode("utf-8", "replace").decode("utf-8", "replace")


def invite(data: bytes) -> None:
    """Invite links and slugs: parse, verify, open the token, and the creator's join check."""
    text = _text(data)
    decision = verify_join_request(
        text, creator_private_key=CREATOR_KEY, creator_inbox_id=CREATOR_INBOX, now=NOW
    )
    assert isinstance(decision, JoinDecision | VerifiedJoinRequest)
    try:
        parsed = parse_invite(text)
    except ConvosError:
        return
    again = parse_invite(encode_slug(parsed.to_bytes()))
    assert again.payload_bytes == parsed.payload_bytes and again.signature == parsed.signature
    assert again.payload == parsed.payload
    for check in (
        lambda: verify_invite(parsed, NOW),
        lambda: verify_invite(parsed, NOW, creator_address="0x" + "11" * 20, own_inbox_id=CREATOR_INBOX),
        lambda: decrypt_conversation_id(parsed, CREATOR_KEY),
    ):
        with contextlib.suppress(ConvosError):
            check()


def invite_wire(data: bytes) -> None:
    """A serialized ``SignedInvite`` (any bytes) wrapped as a slug, plain and compressed."""
    for compress in (False, True):
        invite(encode_slug(data, compress=compress).encode())


def slug(data: bytes) -> None:
    """The framing under slugs and appData: base64url, separators, compression frames, links."""
    text = _text(data)
    for call in (
        lambda: decode_slug(text),
        lambda: framing.unframe(data, max_size=MAX_FRAME),
        lambda: framing.decompress_frame(data, max_size=MAX_FRAME),
        lambda: framing.decompress_legacy_zlib(data, max_size=MAX_FRAME),
        lambda: framing.b64url_decode(text),
        lambda: links.extract_invite_code(text),
    ):
        try:
            out = call()
        except ConvosError:
            continue
        if isinstance(out, framing.Unframed):
            assert len(out.data) <= MAX_FRAME


def app_data(data: bytes) -> None:
    """Group appData as text, as base64url of the bytes, and a read-modify-write over it."""
    for text in (_text(data), framing.b64url_encode(data)):
        try:
            decoded = metadata.decode_app_data(text)
        except ConvosError:
            continue
        assert isinstance(decoded.tag, str)
        with contextlib.suppress(ConvosError):
            metadata.update_app_data(text, tag=TAG)


def content(data: bytes) -> None:
    """EncodedContent: the envelope, Convos types, profiles, libxmtp's standard codecs."""
    for call in (
        lambda: cc.decode_content(data),
        lambda: decode_envelope(data),
        lambda: profiles.decode_profile_update(data),
        lambda: profiles.decode_profile_snapshot(data),
        lambda: xc.decode_standard(data),
    ):
        with contextlib.suppress(ConvosError):
            call()
    xc.content_type_of(data)


def wire_message(data: bytes) -> None:
    """The gateway's normaliser on a message with these bytes as content: never raises."""
    message = XmtpMessage(
        id="00" * 32,
        conversation_id=CONVERSATION_ID,
        sender_inbox_id="cd" * 32,
        sent_at_ns=1,
        kind=MessageKind.APPLICATION,
        content_type=xc.content_type_of(data),
        content=data,
    )
    for is_dm in (False, True):
        wire.normalize(message, "identity", is_dm)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "invite": invite,
    "invite_wire": invite_wire,
    "slug": slug,
    "app_data": app_data,
    "content": content,
    "wire": wire_message,
}


def _invites() -> list[str]:
    out = []
    for options in (
        {},
        {"name": "Team", "description": "d" * 40, "emoji": "🎉", "image_url": "https://x/y.png"},
        {"expires_at": 1_700_000_000, "single_use": True},
        {"conversation_expires_at": 2_000_000_000, "compress": True, "name": "n" * 300},
    ):
        out.append(create_invite(CREATOR_KEY, CREATOR_INBOX, CONVERSATION_ID, TAG, **options))  # type: ignore[arg-type]
    return out


def _app_data() -> list[str]:
    message = meta_pb.ConversationCustomMetadata(tag=TAG, emoji="🔥", expiresAtUnix=1_900_000_000)
    for i in range(4):
        profile = message.profiles.add()
        profile.inboxId = bytes([i]) * 32
        profile.name = f"member {i}"
    raw = message.SerializeToString()
    return [
        metadata.new_app_data(TAG),
        metadata.new_app_data(TAG, emoji="🙂", expires_at=1_900_000_000),
        metadata.encode_protobuf(raw),  # compressed (over 100 bytes)
        framing.b64url_encode(framing.compress_frame(raw)[:5] + zlib.compress(raw)),  # zlib body
        framing.b64url_encode(zlib.compress(raw)),  # legacy node-SDK blob
        '{"tag": "AbCdEf1234", "expiresAtUnix": 1900000000}',
    ]


def _contents() -> list[bytes]:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    slug_text = _invites()[0]
    records: list[cc.DecodedContent] = [
        cc.Text("hello"),
        cc.JoinRequest(slug_text, cc.JoinRequestProfile("Bob", "https://x", "agent"), {"k": "v"}),
        cc.InviteJoinError(cc.InviteJoinErrorType.CONVERSATION_EXPIRED, TAG, when, "revoked"),
        cc.InviteJoinHandled(TAG, "ab" * 16, when),
        cc.TypingIndicator(True),
        cc.ExplodeSettings(when),
        cc.Thinking(cc.ThinkingState.STOP, "ab" * 32, "Thought", "cd" * 32),
        profiles.ProfileUpdate(
            name="Bob", member_kind=profiles.MemberKind.AGENT, metadata={"a": 1, "b": True}
        ),
        profiles.ProfileSnapshot(
            (profiles.MemberProfile("cd" * 32, "Carol"), profiles.MemberProfile("ef" * 32))
        ),
    ]
    out = [cc.encode_content(record) for record in records]
    out += [
        xc.encode_text("plain"),
        xc.encode_reply("ab" * 32, "a reply", "cd" * 32),
        xc.encode_reaction("ab" * 32, "cd" * 32, "👍"),
        xc.encode_read_receipt(),
        encode_envelope(ContentTypeId("xmtp.org", "text", 1, 0), b"x" * 64, parameters={"encoding": "UTF-8"}),
    ]
    for compression, wbits in ((0, 15), (0, -15), (1, 31)):  # DEFLATE (zlib, raw) and GZIP bodies
        message = encoded_pb.EncodedContent()
        message.ParseFromString(cc.encode_content(cc.TypingIndicator(False)))
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        message.content = packer.compress(message.content) + packer.flush()
        message.compression = compression
        out.append(message.SerializeToString())
    return out


def seeds() -> dict[str, list[bytes]]:
    """Valid inputs per target."""
    invites = [s.encode() for s in _invites()]
    links_ = [f"https://popup.convos.org/v2?i={s}".encode() for s in _invites()[:2]]
    contents = _contents()
    return {
        "invite": invites + links_ + [b"convos://join/" + invites[0]],
        "invite_wire": [decode_slug(s)[0] for s in _invites()],
        "slug": invites
        + [
            base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))
            for s in (i.replace(b"*", b"") for i in invites)
        ],
        "app_data": [s.encode() for s in _app_data()],
        "content": contents,
        "wire": contents,
    }
