"""Errors of the Convos protocol layer.

Invite failures derive from :class:`openclaw_convos.errors.InviteError`; appData and content
failures from :class:`openclaw_convos.errors.ProtocolError`. Every message says what to do next.
Bad arguments from our own callers derive from :class:`ArgumentError` (also a ``ValueError``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import ConvosError, InviteError, ProtocolError

__all__ = [
    "ArgumentError",
    "ContentArgumentError",
    "ContentError",
    "ContentMalformed",
    "ContentTooLarge",
    "FramingError",
    "FramingTooLarge",
    "InviteAlreadyUsed",
    "InviteArgumentError",
    "InviteBadSignature",
    "InviteConversationExpired",
    "InviteCreatorUnknown",
    "InviteExpired",
    "InviteMalformed",
    "InviteOwnInvite",
    "InviteSignerNotCreator",
    "InviteTokenUndecryptable",
    "InviteTooLarge",
    "InviteWrongCreator",
    "MetadataArgumentError",
    "MetadataError",
    "MetadataMalformed",
    "MetadataTooLarge",
    "MetadataUnsafeWrite",
]


def format_unix(seconds: int) -> str:
    """``2026-11-24 08:27:37 UTC`` for a unix time; a plain number when out of the calendar's range."""
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"unix time {seconds}"


class ArgumentError(ConvosError, ValueError):
    """A caller passed an unusable value (a programming error, not a peer's bad bytes)."""


# --- framing (base64url + compression), shared by invites and appData ---


class FramingError(ProtocolError):
    """A base64url or compressed blob does not decode."""


class FramingTooLarge(FramingError):
    """A blob is larger than the decode limits allow (a decompression bomb or garbage)."""


# --- invites ---


class InviteMalformed(InviteError):
    """The text is not a Convos invite, or the invite's bytes do not decode."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"This is not a valid Convos invite ({detail}); copy the whole invite link again, "
            "or ask the conversation's creator to send it again."
        )


class InviteTooLarge(InviteError):
    """The invite is larger than any real invite (refused before decompressing)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"This invite is too large to be a Convos invite ({detail}); check that you pasted only "
            "the invite link."
        )


class InviteBadSignature(InviteError):
    """The invite's signature is malformed or does not verify."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"This invite's signature is invalid ({detail}), so it may have been altered; ask the "
            "conversation's creator for a new invite."
        )


class InviteWrongCreator(InviteError):
    """The invite verifies, but was signed by someone other than the expected creator."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"This invite was not made by the expected creator ({detail}); ask the conversation's "
            "creator for an invite made by them."
        )


class InviteSignerNotCreator(InviteError):
    """The signature recovers to an address that the creator's inbox does not hold: altered or forged.

    ECDSA recovery yields *some* address for almost any 65 bytes, so a recoverable signature
    alone proves nothing; only the creator inbox's association state does.
    """

    def __init__(self, signer_address: str, creator_inbox_id: str) -> None:
        self.signer_address = signer_address
        self.creator_inbox_id = creator_inbox_id
        super().__init__(
            f"This invite's signature does not belong to its creator (signed by {signer_address}, "
            f"not an address of inbox {creator_inbox_id[:16]}…), so it was altered or forged; ask "
            "the conversation's creator for a new invite."
        )


class InviteCreatorUnknown(InviteError):
    """The invite's creator inbox does not exist on the network we asked."""

    def __init__(self, creator_inbox_id: str, network: str) -> None:
        self.creator_inbox_id = creator_inbox_id
        self.network = network
        super().__init__(
            f"The creator of this invite (inbox {creator_inbox_id[:16]}…) does not exist on the "
            f"{network} network; check --env (the invite may be for another network) or ask for a "
            "new invite."
        )


class InviteExpired(InviteError):
    """The invite's own expiry (``expiresAtUnix``) has passed."""

    def __init__(self, expires_at_unix: int) -> None:
        self.expires_at_unix = expires_at_unix
        super().__init__(
            f"This invite expired at {format_unix(expires_at_unix)}; ask the conversation's creator "
            "for a new one."
        )


class InviteConversationExpired(InviteError):
    """The conversation the invite points to has expired (``conversationExpiresAtUnix``)."""

    def __init__(self, expires_at_unix: int) -> None:
        self.expires_at_unix = expires_at_unix
        super().__init__(
            f"The conversation of this invite expired at {format_unix(expires_at_unix)} and can no "
            "longer be joined; ask its creator to start a new conversation."
        )


class InviteTokenUndecryptable(InviteError):
    """The conversation token does not decrypt with the given key, or its plaintext is malformed."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"This invite's conversation token cannot be decrypted ({detail}); only the identity that "
            "created the invite can open it. Check that the right identity is in use."
        )


class InviteOwnInvite(InviteError):
    """The invite was created by the identity that tries to join it."""

    def __init__(self) -> None:
        super().__init__(
            "This is your own invite; you are already in that conversation. Share the invite with "
            "the people you want to add instead."
        )


class InviteAlreadyUsed(InviteError):
    """A single-use invite that has already admitted someone."""

    def __init__(self) -> None:
        super().__init__(
            "This single-use invite has already been used; ask the conversation's creator for a new one."
        )


class InviteArgumentError(InviteError, ArgumentError):
    """A caller passed an unusable value when creating or checking an invite."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"Cannot make or check the invite: {detail}. Fix the value and try again.")


# --- group appData ---


class MetadataError(ProtocolError):
    """Base of the group appData (ConversationCustomMetadata) errors."""


class MetadataMalformed(MetadataError):
    """The group's appData does not decode."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"The conversation's metadata (appData) cannot be read ({detail}); it was probably written "
            "by an incompatible client. Nothing was changed; update the clients of this conversation."
        )


class MetadataTooLarge(MetadataError):
    """The encoded appData would exceed the 8192-byte limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"The conversation's metadata is {size} bytes, more than the {limit}-byte limit; nothing "
            "was written. Shorten the values being set (for example the emoji or image URL)."
        )


class MetadataUnsafeWrite(MetadataError):
    """A metadata write was refused because it could destroy data (see the safety rules)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"Refusing to change the conversation's metadata: {detail}. Nothing was written; sync the "
            "conversation and try again, or update the client that wrote the metadata."
        )


class MetadataArgumentError(MetadataError, ArgumentError):
    """A caller passed an unusable value for a metadata field."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"Cannot set the conversation's metadata: {detail}. Fix the value and try again.")


# --- content types ---


class ContentError(ProtocolError):
    """Base of the message content errors."""


class ContentMalformed(ContentError):
    """A message's content does not decode as its content type says."""

    def __init__(self, detail: str, type_id: str | None = None) -> None:
        self.detail = detail
        self.type_id = type_id
        where = f" of type {type_id}" if type_id else ""
        super().__init__(
            f"A message{where} could not be read ({detail}); it was ignored. The sender's client may "
            "be incompatible or out of date."
        )


class ContentTooLarge(ContentError):
    """A message's content is larger than we are willing to decode."""

    def __init__(self, size: int, limit: int, type_id: str | None = None) -> None:
        self.size = size
        self.limit = limit
        self.type_id = type_id
        super().__init__(
            f"A message's content is {size} bytes, more than the {limit}-byte limit; it was ignored."
        )


class ContentArgumentError(ContentError, ArgumentError):
    """A caller passed an unusable value when encoding a message."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"Cannot encode the message: {detail}. Fix the value and try again.")
