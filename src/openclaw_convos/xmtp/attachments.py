"""XMTP attachments: the three content types through libxmtp's own codecs, and the remote scheme.

Content types (encoded and decoded by libxmtp's codecs, never by hand):

- ``xmtp.org/attachment:1.0``: the file inline in the message;
- ``xmtp.org/remoteStaticAttachment:1.0``: a URL plus what is needed to check and decrypt it;
- ``xmtp.org/multiRemoteStaticAttachment:1.0``: several of those in one message.

The remote scheme (libxmtp ``crates/xmtp_content_types/src/encryption.rs``, the same as xmtp-js
and the Convos apps): the *plaintext* is the serialized ``EncodedContent`` of an inline
attachment; a random 32-byte secret and 32-byte salt give the AES-256 key through HKDF-SHA256
(empty info); AES-256-GCM with a random 12-byte nonce and no associated data encrypts it; the
uploaded payload is ciphertext plus tag, and its SHA-256 (lowercase hex) is the content digest.
:func:`decrypt_attachment` checks the digest *before* decrypting.

The message-level codecs are libxmtp's. The *encrypted plaintext* (an attachment's
``EncodedContent``, up to the size cap) is serialized with our own ``EncodedContent`` protobuf
instead (:mod:`openclaw_convos.convos.encoded`, the same bytes libxmtp's ``AttachmentCodec``
writes up to parameter order): the generated UniFFI Python code passes ``bytes`` into Rust one
byte at a time (about 0.35 µs a byte), which made a 25 MB attachment cost some 40 s of CPU per
direction; the protobuf runtime does it in milliseconds. Tests check both directions against
libxmtp's codec and a vector made by libxmtp.

Pure functions: bytes in, values out, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..convos.encoded import ContentTypeId, decode_envelope, encode_envelope
from ..errors import ConvosError, MediaError, ProtocolError
from .binding import ffi

__all__ = [
    "NONCE_SIZE",
    "SALT_SIZE",
    "SECRET_SIZE",
    "AttachmentDecryptFailed",
    "AttachmentDigestMismatch",
    "AttachmentIntegrityError",
    "EncryptedAttachment",
    "InlineAttachment",
    "RemoteAttachment",
    "attachment_from_plaintext",
    "attachment_plaintext",
    "decode_inline_attachment",
    "decode_multi_remote_attachment",
    "decode_remote_attachment",
    "decrypt_attachment",
    "encode_inline_attachment",
    "encode_multi_remote_attachment",
    "encode_remote_attachment",
    "encrypt_attachment",
]

SECRET_SIZE = 32
SALT_SIZE = 32
NONCE_SIZE = 12
_TAG_SIZE = 16
_MAX_INFLATED = 64 * 1024 * 1024  # a compressed body (no SDK writes one here) may inflate this far
_ATTACHMENT_TYPE = ContentTypeId("xmtp.org", "attachment", 1, 0)


class AttachmentIntegrityError(MediaError):
    """A downloaded attachment does not match its message (digest) or does not decrypt."""


class AttachmentDigestMismatch(AttachmentIntegrityError):
    """The SHA-256 of the downloaded payload is not the message's content digest."""


class AttachmentDecryptFailed(AttachmentIntegrityError):
    """The payload matched its digest but did not decrypt or decode as an attachment."""


@dataclass(frozen=True, slots=True)
class InlineAttachment:
    """A file: name (as the sender gave it, unsanitised), MIME type and bytes."""

    filename: str | None
    mime_type: str
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    def __repr__(self) -> str:  # never the bytes
        return f"InlineAttachment(filename={self.filename!r}, mime_type={self.mime_type!r}, size={self.size})"


@dataclass(frozen=True, slots=True)
class RemoteAttachment:
    """Where an encrypted attachment is and how to check and open it. The keys are secrets."""

    url: str
    content_digest: str
    secret: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    scheme: str = "https"
    content_length: int | None = None
    filename: str | None = None

    def __repr__(self) -> str:
        return (
            f"RemoteAttachment(url={self.url!r}, content_digest={self.content_digest!r}, "
            f"scheme={self.scheme!r}, content_length={self.content_length!r}, filename={self.filename!r})"
        )


@dataclass(frozen=True, slots=True)
class EncryptedAttachment:
    """The payload to upload and the remote reference to send once its URL is known."""

    payload: bytes = field(repr=False)
    reference: RemoteAttachment

    def at(self, url: str) -> RemoteAttachment:
        """The reference with the URL the payload was uploaded to (``scheme`` stays "https", as
        convos-cli and the Convos apps send it whatever the URL)."""
        return replace(self.reference, url=url)

    def __repr__(self) -> str:
        return f"EncryptedAttachment(size={len(self.payload)}, reference={self.reference!r})"


# --- codecs (libxmtp's) -----------------------------------------------------------------------


def _to_ffi_remote(ref: RemoteAttachment) -> ffi.FfiRemoteAttachment:
    return ffi.FfiRemoteAttachment(
        url=ref.url,
        content_digest=ref.content_digest,
        secret=ref.secret,
        salt=ref.salt,
        nonce=ref.nonce,
        scheme=ref.scheme,
        content_length=ref.content_length,
        filename=ref.filename,
    )


def _from_ffi_remote(raw: ffi.FfiRemoteAttachment) -> RemoteAttachment:
    return RemoteAttachment(
        url=str(raw.url),
        content_digest=str(raw.content_digest),
        secret=bytes(raw.secret),
        salt=bytes(raw.salt),
        nonce=bytes(raw.nonce),
        scheme=str(raw.scheme),
        content_length=None if raw.content_length is None else int(raw.content_length),
        filename=None if raw.filename is None else str(raw.filename),
    )


def encode_inline_attachment(attachment: InlineAttachment) -> bytes:
    """``EncodedContent`` bytes of ``xmtp.org/attachment:1.0``."""
    return bytes(
        ffi.encode_attachment(
            ffi.FfiAttachment(
                filename=attachment.filename, mime_type=attachment.mime_type, content=attachment.content
            )
        )
    )


def decode_inline_attachment(encoded: bytes) -> InlineAttachment:
    try:
        raw = ffi.decode_attachment(encoded)
    except Exception as exc:  # libxmtp raises its own error classes
        raise ProtocolError(f"undecodable attachment: {exc}") from exc
    return InlineAttachment(
        filename=None if raw.filename is None else str(raw.filename),
        mime_type=str(raw.mime_type),
        content=bytes(raw.content),
    )


def encode_remote_attachment(ref: RemoteAttachment) -> bytes:
    """``EncodedContent`` bytes of ``xmtp.org/remoteStaticAttachment:1.0``."""
    return bytes(ffi.encode_remote_attachment(_to_ffi_remote(ref)))


def decode_remote_attachment(encoded: bytes) -> RemoteAttachment:
    try:
        return _from_ffi_remote(ffi.decode_remote_attachment(encoded))
    except Exception as exc:
        raise ProtocolError(f"undecodable remote attachment: {exc}") from exc


def encode_multi_remote_attachment(refs: tuple[RemoteAttachment, ...] | list[RemoteAttachment]) -> bytes:
    """``EncodedContent`` bytes of ``xmtp.org/multiRemoteStaticAttachment:1.0``."""
    multi = ffi.FfiMultiRemoteAttachment(attachments=[_to_ffi_remote(r) for r in refs])
    return bytes(ffi.encode_multi_remote_attachment(multi))


def decode_multi_remote_attachment(encoded: bytes) -> tuple[RemoteAttachment, ...]:
    try:
        multi = ffi.decode_multi_remote_attachment(encoded)
        return tuple(_from_ffi_remote(r) for r in multi.attachments)
    except Exception as exc:
        raise ProtocolError(f"undecodable multi remote attachment: {exc}") from exc


# --- the remote scheme -------------------------------------------------------------------------


def attachment_plaintext(attachment: InlineAttachment) -> bytes:
    """``EncodedContent`` of ``xmtp.org/attachment:1.0`` as libxmtp's ``AttachmentCodec`` writes it
    (parameters ``mimeType`` and ``filename``, the same fallback), by our protobuf."""
    parameters = {"mimeType": attachment.mime_type}
    if attachment.filename is not None:
        parameters["filename"] = attachment.filename
    shown = attachment.filename if attachment.filename is not None else "this content"
    return encode_envelope(
        _ATTACHMENT_TYPE,
        attachment.content,
        parameters=parameters,
        fallback=f"Can't display {shown}. This app doesn't support attachments.",
    )


def attachment_from_plaintext(plaintext: bytes) -> InlineAttachment:
    """The inverse of :func:`attachment_plaintext` (libxmtp's ``AttachmentCodec::decode``)."""
    try:
        envelope = decode_envelope(plaintext, max_size=max(len(plaintext) + 1, _MAX_INFLATED))
    except ConvosError as exc:
        raise ProtocolError(f"not an EncodedContent: {exc}") from exc
    if not envelope.type.same_type(_ATTACHMENT_TYPE):
        raise ProtocolError(f"the content is {envelope.type}, not an attachment")
    return InlineAttachment(
        filename=envelope.parameters.get("filename"),
        mime_type=envelope.parameters.get("mimeType", ""),
        content=envelope.content,
    )


def _key(secret: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"").derive(secret)


def encrypt_attachment(
    attachment: InlineAttachment,
    *,
    secret: bytes | None = None,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> EncryptedAttachment:
    """Encrypt for upload with fresh random keys (pass them only for test vectors).

    The returned reference has an empty URL: upload ``payload``, then :meth:`EncryptedAttachment.at`.
    """
    secret = os.urandom(SECRET_SIZE) if secret is None else secret
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(secret) != SECRET_SIZE or len(salt) != SALT_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError("secret and salt must be 32 bytes, nonce 12 bytes")
    plaintext = attachment_plaintext(attachment)
    payload = AESGCM(_key(secret, salt)).encrypt(nonce, plaintext, None)
    reference = RemoteAttachment(
        url="",
        content_digest=hashlib.sha256(payload).hexdigest(),
        secret=secret,
        salt=salt,
        nonce=nonce,
        scheme="https",
        content_length=len(payload),
        filename=attachment.filename,
    )
    return EncryptedAttachment(payload=payload, reference=reference)


def decrypt_attachment(payload: bytes, ref: RemoteAttachment) -> InlineAttachment:
    """Check the digest, then decrypt and decode. Raises :class:`AttachmentIntegrityError`."""
    actual = hashlib.sha256(payload).hexdigest()
    if not hmac.compare_digest(actual, ref.content_digest.strip().lower()):
        raise AttachmentDigestMismatch(
            "the downloaded attachment does not match its message (SHA-256 digest mismatch); "
            "it was changed or truncated in storage, so it was not opened"
        )
    if len(ref.salt) != SALT_SIZE or len(ref.nonce) != NONCE_SIZE or len(ref.secret) != SECRET_SIZE:
        raise AttachmentDecryptFailed(
            "the attachment's keys have the wrong sizes (secret and salt 32 bytes, nonce 12 bytes)"
        )
    if len(payload) < _TAG_SIZE:
        raise AttachmentDecryptFailed("the attachment payload is shorter than an AES-GCM tag")
    try:
        plaintext = AESGCM(_key(ref.secret, ref.salt)).decrypt(ref.nonce, payload, None)
    except InvalidTag as exc:
        raise AttachmentDecryptFailed(
            "the attachment did not decrypt with the keys in its message (AES-GCM tag check failed)"
        ) from exc
    try:
        return attachment_from_plaintext(plaintext)
    except ProtocolError as exc:
        raise AttachmentDecryptFailed(f"the decrypted attachment is not an XMTP attachment: {exc}") from exc
