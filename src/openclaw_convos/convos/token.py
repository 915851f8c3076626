"""The conversation token of an invite: the conversation id, readable only by the creator.

- key = HKDF-SHA256(IKM = creator private key, salt = ``"ConvosInviteV1"``,
  info = ``"inbox:" + creator inbox id hex``, L = 32);
- ChaCha20-Poly1305 with a random 12-byte nonce and AAD = the inbox id hex string (64 ASCII bytes);
- token = ``0x01 || nonce || ciphertext || tag``.

Plaintext: ``0x01 || 16 UUID bytes`` for a dashed UUID; else ``0x02 || len (1..255) || UTF-8``,
or ``0x02 || 0x00 || len u16 BE || UTF-8`` for 256..65535 bytes.
"""

from __future__ import annotations

import os
import re
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import InviteArgumentError, InviteTokenUndecryptable
from .keys import PrivateKeyLike, private_key_bytes

TOKEN_VERSION = 1
SALT = b"ConvosInviteV1"
NONCE_LENGTH = 12
TAG_LENGTH = 16
MIN_TOKEN_LENGTH = 1 + NONCE_LENGTH + 3 + TAG_LENGTH
MAX_ID_LENGTH = 65535
_PLAINTEXT_UUID = 0x01
_PLAINTEXT_STRING = 0x02
_DASHED_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INBOX_ID = re.compile(r"[0-9a-fA-F]+")


def _inbox_hex(creator_inbox_id: str) -> str:
    if not creator_inbox_id or _INBOX_ID.fullmatch(creator_inbox_id) is None or len(creator_inbox_id) % 2:
        raise InviteArgumentError("the creator inbox id must be non-empty hex")
    return creator_inbox_id.lower()


def derive_token_key(creator_private_key: PrivateKeyLike, creator_inbox_id: str) -> bytes:
    """The 32-byte ChaCha20-Poly1305 key for tokens of this creator."""
    info = b"inbox:" + _inbox_hex(creator_inbox_id).encode("ascii")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=info)
    return hkdf.derive(private_key_bytes(creator_private_key))


def encode_plaintext(conversation_id: str) -> bytes:
    """The token plaintext for a conversation id."""
    if not conversation_id:
        raise InviteArgumentError("the conversation id is empty")
    if _DASHED_UUID.fullmatch(conversation_id):
        return bytes([_PLAINTEXT_UUID]) + uuid.UUID(conversation_id).bytes
    raw = conversation_id.encode("utf-8")
    if len(raw) > MAX_ID_LENGTH:
        raise InviteArgumentError(f"the conversation id is longer than {MAX_ID_LENGTH} bytes")
    if len(raw) <= 255:
        return bytes([_PLAINTEXT_STRING, len(raw)]) + raw
    return bytes([_PLAINTEXT_STRING, 0]) + len(raw).to_bytes(2, "big") + raw


def decode_plaintext(plaintext: bytes) -> str:
    """The conversation id in a token plaintext."""
    if not plaintext:
        raise InviteTokenUndecryptable("empty plaintext")
    kind = plaintext[0]
    if kind == _PLAINTEXT_UUID:
        if len(plaintext) != 17:
            raise InviteTokenUndecryptable("a UUID plaintext must be 17 bytes")
        return str(uuid.UUID(bytes=plaintext[1:]))
    if kind != _PLAINTEXT_STRING:
        raise InviteTokenUndecryptable(f"unknown plaintext form 0x{kind:02x}")
    if len(plaintext) < 2:
        raise InviteTokenUndecryptable("truncated plaintext")
    if plaintext[1]:
        length, start = plaintext[1], 2
    else:
        if len(plaintext) < 4:
            raise InviteTokenUndecryptable("truncated plaintext")
        length, start = int.from_bytes(plaintext[2:4], "big"), 4
    if length == 0 or len(plaintext) != start + length:
        raise InviteTokenUndecryptable("the plaintext length does not match its header")
    try:
        return plaintext[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InviteTokenUndecryptable("the conversation id is not UTF-8") from exc


def encrypt_conversation_token(
    conversation_id: str,
    creator_private_key: PrivateKeyLike,
    creator_inbox_id: str,
    *,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt a conversation id into a token; ``nonce`` (12 bytes) defaults to a random one."""
    if nonce is None:
        nonce = os.urandom(NONCE_LENGTH)
    if len(nonce) != NONCE_LENGTH:
        raise InviteArgumentError(f"the token nonce must be {NONCE_LENGTH} bytes")
    inbox_hex = _inbox_hex(creator_inbox_id)
    key = derive_token_key(creator_private_key, inbox_hex)
    sealed = ChaCha20Poly1305(key).encrypt(
        nonce, encode_plaintext(conversation_id), inbox_hex.encode("ascii")
    )
    return bytes([TOKEN_VERSION]) + nonce + sealed


def decrypt_conversation_token(
    token: bytes, creator_private_key: PrivateKeyLike, creator_inbox_id: str
) -> str:
    """Decrypt a token into its conversation id."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise InviteTokenUndecryptable(f"the token is {len(token)} bytes, shorter than {MIN_TOKEN_LENGTH}")
    if token[0] != TOKEN_VERSION:
        raise InviteTokenUndecryptable(f"unknown token version {token[0]}")
    inbox_hex = _inbox_hex(creator_inbox_id)
    key = derive_token_key(creator_private_key, inbox_hex)
    nonce, sealed = token[1 : 1 + NONCE_LENGTH], token[1 + NONCE_LENGTH :]
    try:
        plaintext = ChaCha20Poly1305(key).decrypt(nonce, sealed, inbox_hex.encode("ascii"))
    except InvalidTag as exc:
        raise InviteTokenUndecryptable("wrong key or altered token") from exc
    return decode_plaintext(plaintext)
