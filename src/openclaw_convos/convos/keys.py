"""secp256k1 keys as Convos uses them: invite signatures, Ethereum addresses, inbox ids.

Invite signatures are recoverable ECDSA over a plain SHA-256 digest, 65 bytes ``r || s || recid``
with a recovery id of 0..3 (never 27/28), RFC 6979 nonces and low S. libsecp256k1 (through
coincurve) signs exactly that way, so re-signing a payload reproduces upstream signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import coincurve

from .errors import InviteArgumentError, InviteBadSignature
from .keccak import keccak256

SIGNATURE_LENGTH = 65
INBOX_ID_NONCE = 1
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = _CURVE_ORDER // 2
_HEX_KEY = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

PrivateKeyLike = bytes | str
"""32 raw bytes, or 64 hex characters with or without ``0x`` (the CLI's ``walletKey``)."""


def private_key_bytes(key: PrivateKeyLike) -> bytes:
    """The 32 raw bytes of a secp256k1 private key, validated."""
    if isinstance(key, str):
        match = _HEX_KEY.fullmatch(key.strip())
        if match is None:
            raise InviteArgumentError("a private key must be 64 hex characters, optionally prefixed 0x")
        raw = bytes.fromhex(match.group(1))
    elif isinstance(key, bytes | bytearray | memoryview):
        raw = bytes(key)
    else:
        raise InviteArgumentError("a private key must be bytes or a hex string")
    if len(raw) != 32 or not 0 < int.from_bytes(raw, "big") < _CURVE_ORDER:
        raise InviteArgumentError("a private key must be 32 bytes and a valid secp256k1 scalar")
    return raw


def public_key(private_key: PrivateKeyLike) -> bytes:
    """The 65-byte uncompressed public key (``04 || x || y``) of a private key."""
    secret = coincurve.PrivateKey(private_key_bytes(private_key))
    return secret.public_key.format(compressed=False)


def normalize_public_key(key: bytes) -> bytes:
    """A 33- or 65-byte public key in its 65-byte uncompressed form."""
    try:
        return coincurve.PublicKey(bytes(key)).format(compressed=False)
    except (ValueError, TypeError) as exc:
        raise InviteArgumentError("not a valid secp256k1 public key (33 or 65 bytes)") from exc


def ethereum_address(key: bytes) -> str:
    """The EIP-55 checksummed address of a public key (33 or 65 bytes)."""
    uncompressed = normalize_public_key(key)
    hex_address = keccak256(uncompressed[1:])[-20:].hex()
    checksum = keccak256(hex_address.encode("ascii")).hex()
    return "0x" + "".join(
        char.upper() if int(nibble, 16) >= 8 else char
        for char, nibble in zip(hex_address, checksum[:40], strict=True)
    )


def is_address(text: str) -> bool:
    """Whether ``text`` looks like a ``0x`` + 40 hex Ethereum address (checksum not checked)."""
    return _ADDRESS.fullmatch(text) is not None


def inbox_id_for_address(address: str, nonce: int = INBOX_ID_NONCE) -> str:
    """The inbox id XMTP assigns to a fresh EOA: ``sha256_hex(lowercase address + str(nonce))``."""
    if not is_address(address):
        raise InviteArgumentError("an address must be 0x followed by 40 hex characters")
    return hashlib.sha256(f"{address.lower()}{nonce}".encode("ascii")).hexdigest()


def sign_digest(private_key: PrivateKeyLike, digest: bytes) -> bytes:
    """A 65-byte recoverable signature ``r || s || recid`` of a 32-byte digest (RFC 6979, low S)."""
    if len(digest) != 32:
        raise InviteArgumentError("a digest must be 32 bytes")
    secret = coincurve.PrivateKey(private_key_bytes(private_key))
    return secret.sign_recoverable(digest, hasher=None)


def check_signature_shape(signature: bytes) -> None:
    """Raise :class:`InviteBadSignature` unless the signature is 65 bytes with a recid of 0..3 and low S."""
    if len(signature) != SIGNATURE_LENGTH:
        raise InviteBadSignature(f"{len(signature)} bytes instead of {SIGNATURE_LENGTH}")
    if signature[64] > 3:
        raise InviteBadSignature(f"recovery id {signature[64]} is not 0..3")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not (0 < r < _CURVE_ORDER and 0 < s < _CURVE_ORDER):
        raise InviteBadSignature("r or s is out of range")
    if s > _HALF_ORDER:
        raise InviteBadSignature("high-S signature (every Convos signer produces low S)")


def recover_public_key(digest: bytes, signature: bytes) -> bytes:
    """The 65-byte uncompressed public key that produced ``signature`` over ``digest``."""
    check_signature_shape(signature)
    if len(digest) != 32:
        raise InviteArgumentError("a digest must be 32 bytes")
    try:
        recovered = coincurve.PublicKey.from_signature_and_message(bytes(signature), digest, hasher=None)
    except (ValueError, TypeError) as exc:
        raise InviteBadSignature("no public key can be recovered from it") from exc
    return recovered.format(compressed=False)


def same_public_key(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two public keys, each 33 or 65 bytes."""
    return hmac.compare_digest(normalize_public_key(a), normalize_public_key(b))
