"""Immutable records of the XMTP layer: ids are lowercase hex, times are Unix nanoseconds."""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..convos.encoded import ContentTypeId

__all__ = [
    "NONCE",
    "Consent",
    "ContentTypeId",
    "ConversationKind",
    "Identity",
    "IdentityKeys",
    "Member",
    "MessageKind",
    "XmtpMessage",
]

NONCE = 1
"""Inbox id nonce, as node-sdk and convos-cli use (inbox id = sha256(address + "1"))."""


@dataclass(frozen=True, slots=True)
class IdentityKeys:
    """The secrets of one XMTP identity: a secp256k1 wallet key and a 32-byte database key."""

    wallet_key: bytes = field(repr=False)
    db_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.wallet_key) != 32:
            raise ValueError("wallet_key must be 32 bytes")
        if len(self.db_key) != 32:
            raise ValueError("db_key must be 32 bytes")

    @classmethod
    def generate(cls) -> IdentityKeys:
        return cls(wallet_key=os.urandom(32), db_key=os.urandom(32))

    def db_key_check(self) -> str:
        """A value stored next to the database that proves a key is the right one without opening it."""
        return hmac.new(self.db_key, b"openclaw-convos/db-key-check/v1", hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "IdentityKeys(<redacted>)"


@dataclass(frozen=True, slots=True)
class Identity:
    """An XMTP identity: its keys and where its libxmtp database lives."""

    keys: IdentityKeys
    db_path: Path
    inbox_id: str | None = None


class MessageKind(enum.Enum):
    APPLICATION = "application"
    MEMBERSHIP_CHANGE = "membership_change"


class Consent(enum.StrEnum):
    """A conversation's consent state (a StrEnum: compares equal to its value)."""

    ALLOWED = "allowed"
    DENIED = "denied"
    UNKNOWN = "unknown"


class ConversationKind(enum.Enum):
    GROUP = "group"
    DM = "dm"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class XmtpMessage:
    """One message as libxmtp stores it; ``content`` is the serialized EncodedContent."""

    id: str
    conversation_id: str
    sender_inbox_id: str
    sent_at_ns: int
    kind: MessageKind
    content_type: ContentTypeId | None
    content: bytes = field(repr=False)
    inserted_at_ns: int = 0
    delivery: str = "published"
    """``published`` (the node has it), ``unpublished`` (only our local copy, so far) or ``failed``."""


@dataclass(frozen=True, slots=True)
class Member:
    inbox_id: str
    addresses: tuple[str, ...]
    installation_count: int
    role: str  # "member" | "admin" | "super_admin"


@dataclass(frozen=True, slots=True)
class InboxState:
    """An inbox's association state as libxmtp computed it from the node's identity updates.

    libxmtp fetches the inbox's identity-update log and verifies every signature in it itself,
    so ``addresses`` are the Ethereum addresses the inbox's own signed history associates with it
    now (revoked ones are gone), not something the node merely claims.
    """

    inbox_id: str
    addresses: frozenset[str]  # lowercase 0x addresses
    recovery_address: str | None
    installation_count: int
