"""Pure parts of the XMTP layer: endpoints, error mapping, content type parsing, codecs, keys."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_convos.errors import (
    ConfigError,
    IdentityError,
    NodeRejected,
    NodeUnreachable,
    TooManyInstallations,
    XmtpError,
)
from openclaw_convos.xmtp import ContentTypeId, IdentityKeys, resolve_endpoint
from openclaw_convos.xmtp import content as c
from openclaw_convos.xmtp.errors import clean_message, error_tag, map_ffi_error


def test_env_urls_and_api_url_override() -> None:
    assert resolve_endpoint("local").url == "http://localhost:5556"
    assert not resolve_endpoint("local").is_secure
    assert resolve_endpoint("production").is_secure
    assert resolve_endpoint("dev").url.startswith("https://grpc.dev.xmtp.network")
    assert resolve_endpoint("production", "http://127.0.0.1:7000/").url == "http://127.0.0.1:7000"
    with pytest.raises(ConfigError, match="env must be one of"):
        resolve_endpoint("staging")
    with pytest.raises(ConfigError, match="apiUrl"):
        resolve_endpoint("local", "ftp://x")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            '[ClientBuilderError::Identity] api client at endpoint "/xmtp.identity.api.v1.IdentityApi/'
            'GetInboxIds" has error status: \'The service is currently unavailable\', self: "tcp connect error"',
            NodeUnreachable,
        ),
        ("[IdentityError::TooManyInstallations] too many", TooManyInstallations),
        ("[StorageError::Platform] Pool error: timed out: unsupported file format", IdentityError),
        ("[ClientBuilderError::Other] nope", IdentityError),
        ('[GroupError::Api] endpoint "/x" has error status: invalid argument', NodeRejected),
        ("[GroupError::MissingSequenceId] SequenceId not found in local db", XmtpError),
    ],
)
def test_ffi_errors_map_to_our_tree(text: str, kind: type[Exception]) -> None:
    err = map_ffi_error(RuntimeError(text + "\nApi Stats\n| a | b |"), "do a thing")
    assert type(err) is kind
    assert str(err).startswith("do a thing")
    assert "Api Stats" not in str(err)


def test_error_tag_and_clean_message() -> None:
    assert error_tag("[GroupError::MissingSequenceId] x") == "GroupError::MissingSequenceId"
    assert error_tag("no tag") is None
    assert clean_message("first line\nsecond\nApi Stats ...") == "first line"


def test_keys_are_redacted_and_checked() -> None:
    keys = IdentityKeys.generate()
    assert keys.wallet_key.hex() not in repr(keys)
    assert keys.db_key.hex() not in repr(keys)
    assert keys.db_key_check() != IdentityKeys.generate().db_key_check()
    with pytest.raises(ValueError):
        IdentityKeys(b"short", b"x" * 32)


def test_text_encoding_matches_libxmtp_bytes() -> None:
    # libxmtp-python.md §7: the bytes of encode_text("hi").
    expected = (
        bytes.fromhex("0a120a08") + b"xmtp.org" + bytes.fromhex("1204") + b"text" + bytes.fromhex("1801")
    )
    expected += (
        bytes.fromhex("12110a08") + b"encoding" + bytes.fromhex("1205") + b"UTF-8" + bytes.fromhex("2202")
    )
    expected += b"hi"
    assert c.encode_text("hi") == expected
    assert c.content_type_of(expected) == c.TEXT


def test_standard_codecs_round_trip() -> None:
    assert c.decode_standard(c.encode_text("héllo")) == c.Text("héllo")
    reply = c.decode_standard(c.encode_reply("ab" * 16, "yes", "inbox1"))
    assert isinstance(reply, c.Reply)
    assert (reply.reference_id, reply.reference_inbox_id, reply.text) == ("ab" * 16, "inbox1", "yes")
    reaction = c.decode_standard(c.encode_reaction("cd" * 16, "inbox2", "👍"))
    assert reaction == c.Reaction("cd" * 16, "inbox2", "👍", True)
    removed = c.decode_standard(c.encode_reaction("cd" * 16, "inbox2", "👍", added=False))
    assert isinstance(removed, c.Reaction) and not removed.added
    assert c.decode_standard(c.encode_read_receipt()) == c.ReadReceipt()
    assert c.content_type_of(c.encode_reaction("cd", "i", "x")) == ContentTypeId("xmtp.org", "reaction", 2, 0)


def test_unknown_types_are_not_decoded_here() -> None:
    custom = (
        bytes.fromhex("0a160a0a") + b"convos.org" + bytes.fromhex("1206") + b"typing" + bytes.fromhex("1801")
    )
    assert c.content_type_of(custom) == ContentTypeId("convos.org", "typing", 1, 0)
    assert c.decode_standard(custom) is None


@given(st.binary(max_size=300))
def test_content_type_of_never_raises(data: bytes) -> None:
    result = c.content_type_of(data)
    assert result is None or isinstance(result, ContentTypeId)


def test_a_stream_that_stays_down_says_so_at_growing_intervals(caplog: pytest.LogCaptureFixture) -> None:
    from openclaw_convos.xmtp.stream import MessageStream

    now = 0.0
    stream = MessageStream(None, name="s1", clock=lambda: now)  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG, logger="openclaw_convos.xmtp.stream")
    while now < 600:  # a reconnect attempt every 8 s for 10 minutes
        stream._failed("node down")
        now += 8
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0] == "message stream of s1 failed; reconnecting: node down"
    assert [w.split(" after ")[1].split(" s:")[0] for w in warnings[1:]] == ["64", "184", "544"]
