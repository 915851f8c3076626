"""TLS vector and MLS framing parsing, with hand-built vectors and fuzzing."""

from __future__ import annotations

import contextlib
import os
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_convos.devnode import mls
from openclaw_convos.errors import DevnodeError

from .helpers import key_package, other_wire_format, private_message, public_message, varint, vec


@pytest.mark.parametrize(
    ("raw", "value", "end"),
    [
        (b"\x00", 0, 1),
        (b"\x3f", 63, 1),
        (b"\x40\x80", 128, 2),
        (b"\x7f\xff", 16383, 2),
        (b"\x80\x00\x40\x00", 16384, 4),
        (b"\xbf\xff\xff\xff", 1_073_741_823, 4),
        (b"\x40\x05", 5, 2),  # non-minimal, accepted
    ],
)
def test_read_varint(raw: bytes, value: int, end: int) -> None:
    assert mls.read_varint(raw + b"tail", 0) == (value, end)


def test_varint_prefix_11_is_rejected() -> None:
    with pytest.raises(mls.MlsParseError, match="0b11"):
        mls.read_varint(b"\xc0\x00\x00\x00\x00\x00\x00\x01", 0)


@pytest.mark.parametrize("raw", [b"", b"\x40", b"\x80\x00\x00"])
def test_truncated_varint(raw: bytes) -> None:
    with pytest.raises(mls.MlsParseError, match="truncated"):
        mls.read_varint(raw, 0)


def test_read_vector() -> None:
    assert mls.read_vector(b"\x03abcd", 0) == (b"abc", 4)
    assert mls.read_vector(b"\x00", 0) == (b"", 1)
    big = os.urandom(300)
    assert mls.read_vector(vec(big), 0) == (big, 2 + 300)
    with pytest.raises(mls.MlsParseError, match="declares 4 bytes"):
        mls.read_vector(b"\x04abc", 0)


def test_parse_error_is_a_devnode_error() -> None:
    assert issubclass(mls.MlsParseError, DevnodeError)


# -- key packages -----------------------------------------------------------------------------------


def test_key_package_prefix_of_the_reference() -> None:
    init, enc, signature_key = (bytes([i]) * 32 for i in (1, 2, 3))
    data = bytes.fromhex("00010003") + b"\x20" + init + b"\x20" + enc + b"\x20" + signature_key + b"\x00\x00"
    assert mls.key_package_installation_key(data) == signature_key


def test_key_package_with_long_init_key() -> None:
    key = os.urandom(32)
    data = key_package(key, init_key=os.urandom(1216), encryption_key=os.urandom(100))
    assert mls.key_package_installation_key(data) == key


def test_key_package_with_non_minimal_lengths() -> None:
    key = os.urandom(32)
    data = struct.pack(">HH", 1, 3) + vec(b"i" * 32, 4) + vec(b"e" * 32, 2) + vec(key, 2)
    assert mls.key_package_installation_key(data) == key


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "truncated key package version"),
        (b"\x00\x02\x00\x03", "unsupported key package version 2"),
        (b"\x00\x01\x00", "truncated key package cipher suite"),
        (b"\x00\x01\x00\x03\x20" + b"i" * 10, "init_key declares 32"),
        (b"\x00\x01\x00\x03\x00\x00", "truncated leaf_node.signature_key"),
        (b"\x00\x01\x00\x03\x00\x00\x05short", "signature key is 5 bytes"),
        (b"\x00\x01\x00\x03\xc0", "0b11"),
    ],
)
def test_malformed_key_packages(data: bytes, match: str) -> None:
    with pytest.raises(mls.MlsParseError, match=match):
        mls.key_package_installation_key(data)


# -- MLS messages ---------------------------------------------------------------------------------


def test_private_message_prefix_of_the_reference() -> None:
    group_id = bytes(range(16))
    data = bytes.fromhex("00010002") + b"\x10" + group_id + bytes(8) + b"\x03" + b"\x00\x00\x00"
    info = mls.parse_mls_message(data)
    assert info == mls.MlsMessageInfo(mls.WireFormat.PRIVATE_MESSAGE, group_id, 0, mls.ContentType.COMMIT)
    assert info.is_commit


@pytest.mark.parametrize(("content_type", "is_commit"), [(1, False), (2, True), (3, True)])
def test_private_message_content_types(content_type: int, is_commit: bool) -> None:
    group_id = os.urandom(16)
    info = mls.parse_mls_message(private_message(group_id, content_type, epoch=2**64 - 1))
    assert (info.group_id, info.epoch, int(info.content_type), info.is_commit) == (
        group_id,
        2**64 - 1,
        content_type,
        is_commit,
    )


@pytest.mark.parametrize("sender_type", [1, 2, 3, 4])
@pytest.mark.parametrize("content_type", [1, 2, 3])
def test_public_message_sender_types(sender_type: int, content_type: int) -> None:
    group_id = os.urandom(16)
    info = mls.parse_mls_message(
        public_message(group_id, content_type, sender_type=sender_type, aad=os.urandom(70))
    )
    assert info.wire_format is mls.WireFormat.PUBLIC_MESSAGE
    assert (info.group_id, info.epoch, int(info.content_type)) == (group_id, 7, content_type)


def test_group_id_of_any_length() -> None:
    assert mls.parse_mls_message(private_message(b"")).group_id == b""
    long_id = os.urandom(200)
    assert mls.parse_mls_message(private_message(long_id)).group_id == long_id


@pytest.mark.parametrize(
    ("wire_format", "name"),
    [(3, "WELCOME"), (4, "GROUP_INFO"), (5, "KEY_PACKAGE"), (0, "unknown"), (9, "unknown")],
)
def test_other_wire_formats_are_rejected(wire_format: int, name: str) -> None:
    with pytest.raises(mls.MlsParseError, match=f"wire format {wire_format} \\({name}\\)"):
        mls.parse_mls_message(other_wire_format(wire_format))


_MALFORMED = [
    (b"", "truncated MLSMessage version"),
    (b"\x00\x02\x00\x02", "unsupported MLS version 2"),
    (b"\x00\x01", "truncated MLSMessage wire format"),
    (private_message(b"g" * 16, 0), "invalid content type 0"),
    (private_message(b"g" * 16, 4), "invalid content type 4"),
    (struct.pack(">HH", 1, 2) + vec(b"g" * 16) + b"\x00" * 7, "truncated epoch"),
    (struct.pack(">HH", 1, 2) + vec(b"g" * 16) + b"\x00" * 8, "truncated content_type"),
    (struct.pack(">HH", 1, 1) + vec(b"g") + bytes(8) + b"\x05", "invalid sender type 5"),
    (struct.pack(">HH", 1, 1) + vec(b"g") + bytes(8) + b"\x01\x00\x00", "truncated sender index"),
    (
        struct.pack(">HH", 1, 1) + vec(b"g") + bytes(8) + b"\x03" + b"\x05ab",
        "authenticated_data declares",
    ),
    (struct.pack(">HH", 1, 2) + b"\x50", "truncated group_id length"),
]


# Named by the error: some cases hold random bytes, and test ids must be the same in every
# process (pytest-xdist collects in each worker).
@pytest.mark.parametrize(("data", "match"), _MALFORMED, ids=[match for _data, match in _MALFORMED])
def test_malformed_messages(data: bytes, match: str) -> None:
    with pytest.raises(mls.MlsParseError, match=match):
        mls.parse_mls_message(data)


# -- fuzzing --------------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_the_typed_error(data: bytes) -> None:
    for parse in (mls.parse_mls_message, mls.key_package_installation_key):
        with contextlib.suppress(mls.MlsParseError):
            parse(data)


@given(st.binary(max_size=64), st.integers(0, 2**64 - 1), st.sampled_from([1, 2, 3]), st.binary(max_size=64))
def test_built_private_messages_parse_back(
    group_id: bytes, epoch: int, content_type: int, body: bytes
) -> None:
    info = mls.parse_mls_message(private_message(group_id, content_type, epoch=epoch, body=body))
    assert (info.group_id, info.epoch, int(info.content_type)) == (group_id, epoch, content_type)


@given(st.integers(0, 2**30 - 1), st.sampled_from([None, 4]))
def test_varint_roundtrip(value: int, width: int | None) -> None:
    assert mls.read_varint(varint(value, width), 0) == (value, len(varint(value, width)))


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=2000), st.binary(max_size=300), st.binary())
def test_built_key_packages_parse_back(key: bytes, init: bytes, enc: bytes, rest: bytes) -> None:
    assert (
        mls.key_package_installation_key(key_package(key, init_key=init, encryption_key=enc, rest=rest))
        == key
    )
