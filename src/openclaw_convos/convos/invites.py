"""Convos invites: parse, verify, create, and open the conversation token.

An invite slug is ``base64url(maybe_compress(SignedInvite))`` with ``*`` every 300 characters.
``SignedInvite.payload`` holds the exact ``InvitePayload`` bytes the creator signed; we always
verify and re-embed those received bytes and never re-serialize a parsed payload.

- :func:`parse_invite` finds the slug in a link (see :mod:`.links`), decodes it and checks its
  structure (non-empty token, creator inbox id and tag; a 65-byte signature).
- :func:`verify_invite` is the joiner's check: the signer is recoverable, the invite and its
  conversation have not expired, and (optionally) the signer is an expected key or address.
- :func:`check_signer_is_creator` is the rest of the joiner's check, once the creator inbox's
  association state is known (the I/O is ``joinflow.joiner.verify_creator``): the recovered signer
  must be one of the inbox's addresses. Without it a flipped signature byte still "verifies".
- :func:`create_invite` makes a slug, byte-identical to what the official CLI makes from the same
  inputs and token nonce (field 9 is always written, as the CLI does).
- :func:`decrypt_conversation_id` opens the token with the creator's private key.

A received timestamp of 0 is treated as absent, as the CLI does (iOS would read it as 1970).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import DecodeError

from .errors import (
    FramingError,
    FramingTooLarge,
    InviteArgumentError,
    InviteConversationExpired,
    InviteCreatorUnknown,
    InviteExpired,
    InviteMalformed,
    InviteOwnInvite,
    InviteSignerNotCreator,
    InviteTooLarge,
    InviteWrongCreator,
)
from .framing import (
    Compression,
    b64url_decode,
    b64url_encode,
    compress_frame,
    insert_separators,
    strip_separators,
)
from .framing import unframe as _unframe
from .keys import (
    SIGNATURE_LENGTH,
    PrivateKeyLike,
    ethereum_address,
    inbox_id_for_address,
    is_address,
    private_key_bytes,
    recover_public_key,
    same_public_key,
    sign_digest,
)
from .links import Env, extract_invite_code
from .proto import invite_pb2
from .tags import is_valid_invite_tag
from .timefmt import from_unix, has_passed, require_aware, unix_seconds
from .token import decrypt_conversation_token, encrypt_conversation_token

MAX_DECOMPRESSED_INVITE = 1024 * 1024
"""Largest decompressed ``SignedInvite`` we accept (the iOS ``maxDecompressedSize``)."""

_INBOX_ID = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class InvitePayload:
    """The decoded fields of an ``InvitePayload``. Empty strings and 0 timestamps read as absent."""

    conversation_token: bytes
    creator_inbox_id: str  # lowercase hex
    tag: str
    name: str | None = None
    description: str | None = None
    image_url: str | None = None
    conversation_expires_at_unix: int | None = None
    expires_at_unix: int | None = None
    single_use: bool = False
    emoji: str | None = None

    @property
    def expires_at(self) -> datetime | None:
        """The invite's expiry (UTC), clamped to the datetime range."""
        return None if self.expires_at_unix is None else from_unix(self.expires_at_unix)

    @property
    def conversation_expires_at(self) -> datetime | None:
        """The conversation's expiry (UTC), clamped to the datetime range."""
        return (
            None
            if self.conversation_expires_at_unix is None
            else from_unix(self.conversation_expires_at_unix)
        )


@dataclass(frozen=True, slots=True)
class SignedInvite:
    """A parsed invite: the decoded payload plus the exact bytes that were signed."""

    payload: InvitePayload
    payload_bytes: bytes
    signature: bytes
    slug: str  # the code as received (whitespace removed); send this back in a join request
    compression: Compression = "none"
    env_hint: Env | None = None

    @property
    def digest(self) -> bytes:
        """SHA-256 of the payload bytes: what the signature signs, and a stable id of the invite."""
        return hashlib.sha256(self.payload_bytes).digest()

    def to_bytes(self) -> bytes:
        """The serialized ``SignedInvite`` (received payload bytes re-embedded unchanged)."""
        return invite_pb2.SignedInvite(
            payload=self.payload_bytes, signature=self.signature
        ).SerializeToString()


@dataclass(frozen=True, slots=True)
class InviteSigner:
    """Who signed an invite, as recovered from its signature."""

    public_key: bytes  # 65 bytes, uncompressed
    address: str  # EIP-55 checksummed

    @property
    def fresh_inbox_id(self) -> str:
        """The inbox id a fresh EOA with this address gets (nonce 1); informational only."""
        return inbox_id_for_address(self.address)


def _optional_str(message: invite_pb2.InvitePayload, field: str) -> str | None:
    if not message.HasField(field):
        return None
    value: str = getattr(message, field)
    return value or None


def _optional_time(message: invite_pb2.InvitePayload, field: str) -> int | None:
    if not message.HasField(field):
        return None
    value: int = getattr(message, field)
    return value or None


def decode_payload(payload_bytes: bytes) -> InvitePayload:
    """Decode and structure-check ``InvitePayload`` bytes."""
    message = invite_pb2.InvitePayload()
    try:
        message.ParseFromString(payload_bytes)
    except (DecodeError, ValueError, RecursionError) as exc:
        raise InviteMalformed("the invite payload does not decode") from exc
    if not message.conversationToken:
        raise InviteMalformed("the conversation token is missing")
    if not message.creator_inbox_id:
        raise InviteMalformed("the creator inbox id is missing")
    if not message.tag:
        raise InviteMalformed("the invite tag is missing")
    return InvitePayload(
        conversation_token=bytes(message.conversationToken),
        creator_inbox_id=bytes(message.creator_inbox_id).hex(),
        tag=message.tag,
        name=_optional_str(message, "name"),
        description=_optional_str(message, "description"),
        image_url=_optional_str(message, "imageURL"),
        conversation_expires_at_unix=_optional_time(message, "conversationExpiresAtUnix"),
        expires_at_unix=_optional_time(message, "expiresAtUnix"),
        single_use=message.expiresAfterUse,
        emoji=_optional_str(message, "emoji"),
    )


def decode_slug(slug: str) -> tuple[bytes, Compression]:
    """The serialized ``SignedInvite`` inside a slug (separators allowed), and its compression."""
    body = strip_separators(slug)
    try:
        raw = b64url_decode(body)
        unframed = _unframe(raw, max_size=MAX_DECOMPRESSED_INVITE)
    except FramingTooLarge as exc:
        raise InviteTooLarge(str(exc)) from exc
    except FramingError as exc:
        raise InviteMalformed(str(exc)) from exc
    return unframed.data, unframed.compression


def encode_slug(signed_invite: bytes, *, compress: bool = False) -> str:
    """A slug for serialized ``SignedInvite`` bytes.

    With ``compress``, the iOS frame (raw DEFLATE) is used when strictly smaller. Off by default:
    iOS reads only raw DEFLATE and the CLI only zlib, so an uncompressed slug is the one every
    client reads.
    """
    body = signed_invite
    if compress:
        framed = compress_frame(signed_invite)
        if len(framed) < len(signed_invite):
            body = framed
    return insert_separators(b64url_encode(body))


def parse_invite(text: str) -> SignedInvite:
    """Parse a pasted invite link or slug into a structure-checked :class:`SignedInvite`."""
    link = extract_invite_code(text)
    wire, compression = decode_slug(link.code)
    outer = invite_pb2.SignedInvite()
    try:
        outer.ParseFromString(wire)
    except (DecodeError, ValueError, RecursionError) as exc:
        raise InviteMalformed("the invite does not decode") from exc
    if not outer.payload:
        raise InviteMalformed("the invite has no payload")
    if len(outer.signature) != SIGNATURE_LENGTH:
        raise InviteMalformed(f"the signature is {len(outer.signature)} bytes instead of {SIGNATURE_LENGTH}")
    return SignedInvite(
        payload=decode_payload(bytes(outer.payload)),
        payload_bytes=bytes(outer.payload),
        signature=bytes(outer.signature),
        slug=link.code,
        compression=compression,
        env_hint=link.env_hint,
    )


def recover_signer(invite: SignedInvite) -> InviteSigner:
    """The key that signed the invite; :class:`~.errors.InviteBadSignature` when none can be recovered."""
    key = recover_public_key(invite.digest, invite.signature)
    return InviteSigner(public_key=key, address=ethereum_address(key))


def verify_invite(
    invite: SignedInvite,
    now: datetime,
    *,
    creator_public_key: bytes | None = None,
    creator_address: str | None = None,
    own_inbox_id: str | None = None,
) -> InviteSigner:
    """The joiner's checks, in order; returns the signer or raises the matching error.

    1. the signature is well formed and a signer key is recoverable (``InviteBadSignature``);
    2. when given, the signer is ``creator_public_key`` (33 or 65 bytes) or has ``creator_address``
       (``InviteWrongCreator``). Upstream joiners skip this; without it, any key is accepted;
    3. the invite has not expired (``InviteExpired``), nor its conversation
       (``InviteConversationExpired``); expired means ``now > expiresAt``;
    4. when ``own_inbox_id`` is given, the invite is not our own (``InviteOwnInvite``).
    """
    require_aware(now)
    signer = recover_signer(invite)
    if creator_public_key is not None and not same_public_key(signer.public_key, creator_public_key):
        raise InviteWrongCreator(f"signed by {signer.address}")
    if creator_address is not None:
        if not is_address(creator_address):
            raise InviteArgumentError("the expected creator address must be 0x followed by 40 hex characters")
        if signer.address.lower() != creator_address.lower():
            raise InviteWrongCreator(f"signed by {signer.address}, expected {creator_address}")
    payload = invite.payload
    if payload.expires_at_unix is not None and has_passed(payload.expires_at_unix, now):
        raise InviteExpired(payload.expires_at_unix)
    if payload.conversation_expires_at_unix is not None and has_passed(
        payload.conversation_expires_at_unix, now
    ):
        raise InviteConversationExpired(payload.conversation_expires_at_unix)
    if own_inbox_id is not None and own_inbox_id.lower() == payload.creator_inbox_id:
        raise InviteOwnInvite()
    return signer


def check_signer_is_creator(
    invite: SignedInvite,
    signer: InviteSigner,
    creator_addresses: Collection[str] | None,
    *,
    network: str,
) -> None:
    """Raise unless ``signer`` is one of the creator inbox's associated addresses.

    ``creator_addresses`` is the creator inbox's current association state (None: the network
    has no such inbox, :class:`~.errors.InviteCreatorUnknown`); a signer outside it is
    :class:`~.errors.InviteSignerNotCreator`.
    """
    creator = invite.payload.creator_inbox_id
    if creator_addresses is None:
        raise InviteCreatorUnknown(creator, network)
    if signer.address.lower() not in {address.lower() for address in creator_addresses}:
        raise InviteSignerNotCreator(signer.address, creator)


def decrypt_conversation_id(invite: SignedInvite, creator_private_key: PrivateKeyLike) -> str:
    """The conversation id in the invite's token (only the creator's key opens it)."""
    return decrypt_conversation_token(
        invite.payload.conversation_token, creator_private_key, invite.payload.creator_inbox_id
    )


def _timestamp(value: datetime | int | None, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            seconds = unix_seconds(value)
        except ValueError as exc:
            raise InviteArgumentError(f"{what} must be timezone-aware") from exc
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise InviteArgumentError(f"{what} must be a datetime or unix seconds")
    if not 0 < seconds < 2**63:
        raise InviteArgumentError(f"{what} must be after 1970 (0 would mean 'expired' to the iOS app)")
    return seconds


def create_invite(
    creator_private_key: PrivateKeyLike,
    creator_inbox_id: str,
    conversation_id: str,
    tag: str,
    *,
    name: str | None = None,
    description: str | None = None,
    image_url: str | None = None,
    emoji: str | None = None,
    expires_at: datetime | int | None = None,
    conversation_expires_at: datetime | int | None = None,
    single_use: bool = False,
    include_public_preview: bool = True,
    compress: bool = False,
    token_nonce: bytes | None = None,
) -> str:
    """Make a signed invite slug for a conversation.

    ``include_public_preview=False`` leaves out name, description and image URL (the emoji is kept),
    like the iOS option. ``token_nonce`` fixes the token's nonce, for tests; it is random otherwise.
    Empty strings are left out rather than written.
    """
    key = private_key_bytes(creator_private_key)
    if not isinstance(creator_inbox_id, str) or _INBOX_ID.fullmatch(creator_inbox_id) is None:
        raise InviteArgumentError("the creator inbox id must be 64 hex characters")
    inbox_hex = creator_inbox_id.lower()
    if not isinstance(tag, str) or not is_valid_invite_tag(tag):
        raise InviteArgumentError("the invite tag must be 10 characters of A-Z, a-z and 0-9")
    expires = _timestamp(expires_at, "the invite expiry")
    conversation_expires = _timestamp(conversation_expires_at, "the conversation expiry")
    token = encrypt_conversation_token(conversation_id, key, inbox_hex, nonce=token_nonce)
    message = invite_pb2.InvitePayload(
        conversationToken=token, creator_inbox_id=bytes.fromhex(inbox_hex), tag=tag
    )
    if include_public_preview:
        if name:
            message.name = name
        if description:
            message.description = description
        if image_url:
            message.imageURL = image_url
    if conversation_expires is not None:
        message.conversationExpiresAtUnix = conversation_expires
    if expires is not None:
        message.expiresAtUnix = expires
    message.expiresAfterUse = bool(single_use)
    if emoji:
        message.emoji = emoji
    payload_bytes = message.SerializeToString()
    signature = sign_digest(key, hashlib.sha256(payload_bytes).digest())
    wire = invite_pb2.SignedInvite(payload=payload_bytes, signature=signature).SerializeToString()
    return encode_slug(wire, compress=compress)
