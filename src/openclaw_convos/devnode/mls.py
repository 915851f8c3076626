"""Read-only parsing of the few MLS (RFC 9420) wire structures the node must look into.

Pure functions over ``bytes``; no I/O, no MLS library. Every malformed input raises
:class:`MlsParseError` and nothing else.

* :func:`read_varint` / :func:`read_vector`: TLS variable-length integers and ``opaque x<V>`` vectors.
* :func:`key_package_installation_key`: the installation key (``leaf_node.signature_key``) of a
  bare KeyPackage.
* :func:`parse_mls_message`: group id and content type of a public or private MLSMessage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from openclaw_convos.errors import DevnodeError

MLS_VERSION_10 = 1
INSTALLATION_KEY_LENGTH = 32


class MlsParseError(DevnodeError):
    """Bytes are not the MLS structure the node expected; the message says where and why."""


class WireFormat(IntEnum):
    """``MLSMessage.wire_format`` values."""

    PUBLIC_MESSAGE = 1
    PRIVATE_MESSAGE = 2
    WELCOME = 3
    GROUP_INFO = 4
    KEY_PACKAGE = 5


_WIRE_FORMAT_NAMES = {member.value: member.name for member in WireFormat}


class ContentType(IntEnum):
    """``FramedContent.content_type`` values."""

    APPLICATION = 1
    PROPOSAL = 2
    COMMIT = 3


class SenderType(IntEnum):
    """``Sender.sender_type`` values of a PublicMessage."""

    MEMBER = 1
    EXTERNAL = 2
    NEW_MEMBER_PROPOSAL = 3
    NEW_MEMBER_COMMIT = 4


@dataclass(frozen=True)
class MlsMessageInfo:
    """What the node learns from an MLSMessage's framing."""

    wire_format: WireFormat
    group_id: bytes
    epoch: int
    content_type: ContentType

    @property
    def is_commit(self) -> bool:
        """True for proposals and commits, as the reference node flags them."""
        return self.content_type in (ContentType.PROPOSAL, ContentType.COMMIT)


def _need(data: bytes, offset: int, size: int, what: str) -> None:
    if offset < 0 or offset + size > len(data):
        raise MlsParseError(f"truncated {what}: need {size} bytes at offset {offset}, have {len(data)}")


def read_uint(data: bytes, offset: int, size: int, what: str) -> tuple[int, int]:
    """Read a big-endian unsigned integer of ``size`` bytes; return ``(value, next_offset)``."""
    _need(data, offset, size, what)
    return int.from_bytes(data[offset : offset + size], "big"), offset + size


def read_varint(data: bytes, offset: int, what: str = "length") -> tuple[int, int]:
    """Read an RFC 9420 variable-length integer (1, 2 or 4 bytes); return ``(value, next_offset)``.

    The two top bits of the first byte give the width; prefix ``11`` is invalid. Non-minimal
    encodings are accepted.
    """
    _need(data, offset, 1, what)
    prefix = data[offset] >> 6
    if prefix == 3:
        raise MlsParseError(f"invalid variable-length integer prefix 0b11 in {what} at offset {offset}")
    size = 1 << prefix
    value, end = read_uint(data, offset, size, what)
    return value & ((1 << (8 * size - 2)) - 1), end


def read_vector(data: bytes, offset: int, what: str = "vector") -> tuple[bytes, int]:
    """Read an ``opaque x<V>`` vector; return ``(contents, next_offset)``."""
    length, start = read_varint(data, offset, f"{what} length")
    if start + length > len(data):
        raise MlsParseError(
            f"{what} declares {length} bytes at offset {start}, only {len(data) - start} remain"
        )
    return data[start : start + length], start + length


def skip_vector(data: bytes, offset: int, what: str = "vector") -> int:
    """Skip an ``opaque x<V>`` vector; return the offset after it."""
    return read_vector(data, offset, what)[1]


def key_package_installation_key(data: bytes) -> bytes:
    """Return the installation key (``leaf_node.signature_key``) of a TLS-serialised KeyPackage.

    Layout: ``uint16 version, uint16 cipher_suite, init_key<V>, leaf_node{encryption_key<V>,
    signature_key<V>, ...}, ...``. Requires version 1 and a 32-byte key; nothing after the key is read.
    """
    version, offset = read_uint(data, 0, 2, "key package version")
    if version != MLS_VERSION_10:
        raise MlsParseError(f"unsupported key package version {version}")
    _, offset = read_uint(data, offset, 2, "key package cipher suite")
    offset = skip_vector(data, offset, "init_key")
    offset = skip_vector(data, offset, "leaf_node.encryption_key")
    key, _ = read_vector(data, offset, "leaf_node.signature_key")
    if len(key) != INSTALLATION_KEY_LENGTH:
        raise MlsParseError(f"signature key is {len(key)} bytes, expected {INSTALLATION_KEY_LENGTH}")
    return key


def _content_type(value: int) -> ContentType:
    try:
        return ContentType(value)
    except ValueError:
        raise MlsParseError(f"invalid content type {value}") from None


def parse_mls_message(data: bytes) -> MlsMessageInfo:
    """Parse the framing of a TLS-serialised MLSMessage that carries a public or private message.

    Welcome, GroupInfo and KeyPackage wire formats, unknown versions and invalid content or sender
    types raise :class:`MlsParseError`. Only the prefix up to ``content_type`` is read.
    """
    version, offset = read_uint(data, 0, 2, "MLSMessage version")
    if version != MLS_VERSION_10:
        raise MlsParseError(f"unsupported MLS version {version}")
    raw_format, offset = read_uint(data, offset, 2, "MLSMessage wire format")
    if raw_format not in (WireFormat.PUBLIC_MESSAGE, WireFormat.PRIVATE_MESSAGE):
        name = _WIRE_FORMAT_NAMES.get(raw_format, "unknown")
        raise MlsParseError(f"wire format {raw_format} ({name}) is not a group message")
    wire_format = WireFormat(raw_format)
    group_id, offset = read_vector(data, offset, "group_id")
    epoch, offset = read_uint(data, offset, 8, "epoch")
    if wire_format is WireFormat.PRIVATE_MESSAGE:
        raw_type, _ = read_uint(data, offset, 1, "content_type")
        return MlsMessageInfo(wire_format, group_id, epoch, _content_type(raw_type))
    sender_type, offset = read_uint(data, offset, 1, "sender_type")
    if sender_type in (SenderType.MEMBER, SenderType.EXTERNAL):
        _, offset = read_uint(data, offset, 4, "sender index")
    elif sender_type not in (SenderType.NEW_MEMBER_PROPOSAL, SenderType.NEW_MEMBER_COMMIT):
        raise MlsParseError(f"invalid sender type {sender_type}")
    offset = skip_vector(data, offset, "authenticated_data")
    raw_type, _ = read_uint(data, offset, 1, "content_type")
    return MlsMessageInfo(wire_format, group_id, epoch, _content_type(raw_type))
