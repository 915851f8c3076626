"""EncodedContent and the content types: exact bytes, round trips, and tolerant decoding."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime

import pytest

from openclaw_convos.convos.content import (
    EXPLODE_SETTINGS,
    INVITE_JOIN_ERROR,
    INVITE_JOIN_HANDLED,
    JOIN_REQUEST,
    TEXT,
    TYPING_INDICATOR,
    ExplodeSettings,
    InviteJoinError,
    InviteJoinErrorType,
    InviteJoinHandled,
    JoinRequest,
    JoinRequestProfile,
    Text,
    TypingIndicator,
    Unknown,
    decode_content,
    encode_content,
    encode_explode_settings,
    encode_invite_join_error,
    encode_join_request,
    encode_text,
    should_push,
)
from openclaw_convos.convos.encoded import (
    ContentTypeId,
    decode_envelope,
    encode_envelope,
)
from openclaw_convos.convos.errors import ContentArgumentError, ContentMalformed, ContentTooLarge
from openclaw_convos.convos.proto import encoded_content_pb2 as pb

WHEN = datetime(2026, 7, 24, 15, 27, 52, tzinfo=UTC)
HI = (
    bytes.fromhex("0a120a08")
    + b"xmtp.org"
    + bytes.fromhex("1204")
    + b"text"
    + bytes.fromhex("180112110a08")
    + b"encoding"
    + bytes.fromhex("1205")
    + b"UTF-8"
    + bytes.fromhex("2202")
    + b"hi"
)


def _body(data: bytes) -> dict[str, object]:
    value = json.loads(decode_envelope(data).content)
    assert isinstance(value, dict)
    return value


def test_text_bytes_equal_libxmtp_example() -> None:
    assert encode_text("hi") == HI
    assert decode_content(HI) == Text("hi")


def test_text_bytes_equal_libxmtp_bindings() -> None:
    ffi = pytest.importorskip("xmtp_bindings.xmtpv3")
    for text in ("hi", "", "émoji 🥫 and\nnewlines"):
        assert encode_text(text) == bytes(ffi.encode_text(text))
        assert ffi.decode_text(encode_text(text)) == text


def test_join_request() -> None:
    request = JoinRequest(
        invite_slug="CooBCj8",
        profile=JoinRequestProfile(name="Bob", image_url="https://i", member_kind="agent"),
        metadata={"k": "v"},
    )
    data = encode_join_request(request)
    envelope = decode_envelope(data)
    assert envelope.type == JOIN_REQUEST
    assert envelope.fallback == "CooBCj8"
    assert envelope.parameters == {}
    assert envelope.content == (
        b'{"inviteSlug":"CooBCj8","profile":{"name":"Bob","imageURL":"https://i","memberKind":"agent"},'
        b'"metadata":{"k":"v"}}'
    )
    assert decode_content(data) == request
    minimal = JoinRequest("slug")
    assert _body(encode_content(minimal)) == {"inviteSlug": "slug"}
    assert decode_content(encode_content(minimal)) == minimal


def test_join_request_from_cli_shape() -> None:
    body = b'{"inviteSlug":"CooBCj8AQ","profile":{"name":"Bob","memberKind":"agent"},"extra":1}'
    decoded = decode_content(encode_envelope(JOIN_REQUEST, body))
    assert decoded == JoinRequest("CooBCj8AQ", JoinRequestProfile(name="Bob", member_kind="agent"))


def test_invite_join_error() -> None:
    error = InviteJoinError(InviteJoinErrorType.CONVERSATION_EXPIRED, "AbCdEf1234", WHEN, "r" * 600)
    data = encode_invite_join_error(error)
    envelope = decode_envelope(data)
    assert envelope.fallback == "This conversation is no longer available"
    body = _body(data)
    assert body["timestamp"] == "2026-07-24T15:27:52Z"
    assert body["errorType"] == "conversation_expired"
    assert body["reason"] == "r" * 500
    decoded = decode_content(data)
    assert isinstance(decoded, InviteJoinError)
    assert decoded.reason == "r" * 500 and decoded.timestamp == WHEN
    generic = InviteJoinError(InviteJoinErrorType.GENERIC_FAILURE, "AbCdEf1234", WHEN)
    assert decode_envelope(encode_content(generic)).fallback == "Failed to join conversation"
    assert "reason" not in _body(encode_content(generic))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("conversation_not_found", InviteJoinErrorType.CONVERSATION_NOT_FOUND),
        ("consent_not_allowed", InviteJoinErrorType.CONSENT_NOT_ALLOWED),
        ("conversationExpired", InviteJoinErrorType.CONVERSATION_EXPIRED),
        ("genericFailure", InviteJoinErrorType.GENERIC_FAILURE),
        ("something_new", InviteJoinErrorType.CONVERSATION_EXPIRED),
        ("", InviteJoinErrorType.CONVERSATION_EXPIRED),
    ],
)
def test_error_type_decoding(value: str, expected: InviteJoinErrorType) -> None:
    body = json.dumps({"errorType": value, "inviteTag": "t", "timestamp": "2026-07-24T15:27:52.123Z"})
    decoded = decode_content(encode_envelope(INVITE_JOIN_ERROR, body.encode()))
    assert isinstance(decoded, InviteJoinError)
    assert decoded.error_type is expected
    assert decoded.timestamp == datetime(2026, 7, 24, 15, 27, 52, 123000, tzinfo=UTC)


def test_invite_join_handled() -> None:
    marker = InviteJoinHandled("AbCdEf1234", "msg-1", WHEN)
    data = encode_content(marker)
    assert decode_envelope(data).fallback is None
    assert _body(data) == {
        "inviteTag": "AbCdEf1234",
        "handledMessageId": "msg-1",
        "timestamp": "2026-07-24T15:27:52Z",
    }
    assert decode_content(data) == marker


def test_typing_indicator() -> None:
    for state in (True, False):
        data = encode_content(TypingIndicator(state))
        assert decode_envelope(data).content == (b'{"isTyping":true}' if state else b'{"isTyping":false}')
        assert decode_content(data) == TypingIndicator(state)
    with pytest.raises(ContentMalformed, match="isTyping"):
        decode_content(encode_envelope(TYPING_INDICATOR, b'{"isTyping":"yes"}'))


def test_explode_settings_whole_seconds() -> None:
    data = encode_explode_settings(ExplodeSettings(datetime(2026, 11, 24, 9, 17, 23, 825000, tzinfo=UTC)))
    assert decode_envelope(data).content == b'{"expiresAt":"2026-11-24T09:17:23Z"}'
    assert decode_envelope(data).fallback == "Conversation expires at 2026-11-24T09:17:23Z"
    # The CLI writes milliseconds; offsets are accepted too.
    for text, expected in (
        ("2026-11-24T09:17:23.825Z", datetime(2026, 11, 24, 9, 17, 23, 825000, tzinfo=UTC)),
        ("2026-11-24T11:17:23+02:00", datetime(2026, 11, 24, 9, 17, 23, tzinfo=UTC)),
    ):
        body = json.dumps({"expiresAt": text}).encode()
        assert decode_content(encode_envelope(EXPLODE_SETTINGS, body)) == ExplodeSettings(expected)


def test_encoders_refuse_naive_dates() -> None:
    with pytest.raises(ContentArgumentError, match="timezone-aware"):
        encode_content(ExplodeSettings(datetime(2026, 1, 1)))
    with pytest.raises(ContentArgumentError):
        encode_join_request(JoinRequest(""))
    with pytest.raises(ContentArgumentError):
        encode_text("\ud800")
    with pytest.raises(ContentArgumentError):
        encode_content(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "type_id",
    [
        ContentTypeId("xmtp.org", "reply", 1, 0),
        ContentTypeId("xmtp.org", "reaction", 2, 0),
        ContentTypeId("xmtp.org", "readReceipt", 1, 0),
        ContentTypeId("xmtp.org", "group_updated", 1, 0),
        ContentTypeId("convos.org", "thinking", 2, 0),
        ContentTypeId("convos.org", "join_request", 2, 0),
        ContentTypeId("example.com", "anything", 7, 3),
    ],
)
def test_other_types_are_unknown(type_id: ContentTypeId) -> None:
    data = encode_envelope(type_id, b"\x00\x01 not for us", fallback="fb")
    decoded = decode_content(data)
    assert decoded == Unknown(type_id=type_id, fallback="fb", raw=data)
    assert encode_content(decoded) == data


@pytest.mark.parametrize(
    ("type_id", "body"),
    [
        (JOIN_REQUEST, b"not json"),
        (JOIN_REQUEST, b"[]"),
        (JOIN_REQUEST, b"{}"),
        (JOIN_REQUEST, b'{"inviteSlug":5}'),
        (JOIN_REQUEST, b'{"inviteSlug":"s","profile":[]}'),
        (JOIN_REQUEST, b'{"inviteSlug":"s","metadata":{"a":1}}'),
        (JOIN_REQUEST, b"\xff\xfe"),
        (JOIN_REQUEST, b"[" * 100_000),
        (INVITE_JOIN_ERROR, b'{"errorType":"x","inviteTag":"t","timestamp":"yesterday"}'),
        (INVITE_JOIN_ERROR, b'{"errorType":"x","inviteTag":"t"}'),
        (INVITE_JOIN_HANDLED, b'{"inviteTag":"t","timestamp":5}'),
        (EXPLODE_SETTINGS, b'{"expiresAt":"0001-01-01T00:00:00+05:00"}'),
        (TEXT, b"\xff"),
    ],
)
def test_malformed_bodies(type_id: ContentTypeId, body: bytes) -> None:
    with pytest.raises(ContentMalformed) as info:
        decode_content(encode_envelope(type_id, body))
    assert info.value.type_id == str(type_id)


def test_text_encodings() -> None:
    latin = encode_envelope(TEXT, "é".encode("latin-1"), parameters={"encoding": "ISO-8859-1"})
    with pytest.raises(ContentMalformed, match="encoding"):
        decode_content(latin)
    assert decode_content(encode_envelope(TEXT, b"ok")) == Text("ok")  # no parameter: UTF-8
    assert decode_content(encode_envelope(TEXT, b"ok", parameters={"encoding": "utf8"})) == Text("ok")


@pytest.mark.parametrize("data", [b"", b"\x0a\x00", b"\xff\xff\xff", b"\x0a\x02\x0a\x00"])
def test_malformed_envelopes(data: bytes) -> None:
    with pytest.raises(ContentMalformed):
        decode_content(data)


def _compressed(body: bytes, compression: int, raw: bytes | None = None) -> bytes:
    message = pb.EncodedContent()
    message.ParseFromString(encode_text("x"))
    message.content = raw if raw is not None else body
    message.compression = compression  # type: ignore[assignment]
    return message.SerializeToString()


def test_compressed_content() -> None:
    text = "compressed " * 100
    for compression, packed in (
        (0, zlib.compress(text.encode())),
        (1, gzip.compress(text.encode())),
    ):
        assert decode_content(_compressed(b"", compression, packed)) == Text(text)
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = raw_deflate.compress(text.encode()) + raw_deflate.flush()
    assert decode_content(_compressed(b"", 0, packed)) == Text(text)
    with pytest.raises(ContentMalformed, match="compression"):
        decode_content(_compressed(b"abc", 7))
    with pytest.raises(ContentMalformed, match="inflate"):
        decode_content(_compressed(b"abc", 0))
    with pytest.raises(ContentTooLarge):
        decode_content(_compressed(b"", 0, zlib.compress(b"\x00" * (11 << 20))))


def test_should_push() -> None:
    assert should_push(TEXT)
    assert should_push(JOIN_REQUEST) and should_push(INVITE_JOIN_ERROR) and should_push(EXPLODE_SETTINGS)
    assert not should_push(INVITE_JOIN_HANDLED) and not should_push(TYPING_INDICATOR)
    assert not should_push(ContentTypeId("convos.org", "profile_update", 1, 0))
    assert not should_push(ContentTypeId("convos.org", "thinking", 1, 0))
    assert str(JOIN_REQUEST) == "convos.org/join_request:1.0"
