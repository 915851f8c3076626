"""The conversation token: key derivation, plaintext forms, and refusals."""

from __future__ import annotations

import pytest

from openclaw_convos.convos import token
from openclaw_convos.convos.errors import InviteArgumentError, InviteTokenUndecryptable

from .helpers import VECTOR_A_INBOX, VECTOR_A_KEY, load_vectors

NONCE = bytes(range(12))


def test_key_matches_vectors() -> None:
    for v in load_vectors():
        key = token.derive_token_key(v["creator_identity_file"]["walletKey"], v["creator_inbox_id"])
        assert key.hex() == v["decoded"]["token"]["key_hex"]
        # An uppercase inbox id is normalised (upstream would derive another key).
        assert (
            token.derive_token_key(v["creator_identity_file"]["walletKey"], v["creator_inbox_id"].upper())
            == key
        )


def test_vector_plaintexts() -> None:
    for v in load_vectors():
        assert token.encode_plaintext(v["conversation_id"]).hex() == v["decoded"]["token"]["plaintext_hex"]


@pytest.mark.parametrize(
    ("conversation_id", "prefix", "size"),
    [
        ("0123456789abcdef0123456789abcdef", b"\x02\x20", 63),
        ("12345678-1234-4234-8234-1234567890ab", b"\x01", 46),
        ("x", b"\x02\x01", 32),
        ("é" * 200, b"\x02\x00\x01\x90", 1 + 12 + 4 + 400 + 16),
        ("a" * 255, b"\x02\xff", 1 + 12 + 257 + 16),
        ("a" * 256, b"\x02\x00\x01\x00", 1 + 12 + 260 + 16),
        ("a" * 65535, b"\x02\x00\xff\xff", 1 + 12 + 65539 + 16),
    ],
)
def test_plaintext_forms_round_trip(conversation_id: str, prefix: bytes, size: int) -> None:
    assert token.encode_plaintext(conversation_id).startswith(prefix)
    sealed = token.encrypt_conversation_token(conversation_id, VECTOR_A_KEY, VECTOR_A_INBOX, nonce=NONCE)
    assert len(sealed) == size
    assert sealed[:13] == b"\x01" + NONCE
    assert token.decrypt_conversation_token(sealed, VECTOR_A_KEY, VECTOR_A_INBOX) == conversation_id.lower()


def test_random_nonce_differs() -> None:
    a = token.encrypt_conversation_token("abc", VECTOR_A_KEY, VECTOR_A_INBOX)
    b = token.encrypt_conversation_token("abc", VECTOR_A_KEY, VECTOR_A_INBOX)
    assert a != b


def test_encrypt_refusals() -> None:
    with pytest.raises(InviteArgumentError):
        token.encode_plaintext("")
    with pytest.raises(InviteArgumentError):
        token.encode_plaintext("a" * 65536)
    with pytest.raises(InviteArgumentError):
        token.encrypt_conversation_token("abc", VECTOR_A_KEY, "")
    with pytest.raises(InviteArgumentError):
        token.encrypt_conversation_token("abc", VECTOR_A_KEY, VECTOR_A_INBOX, nonce=b"123")


def _sealed(plaintext: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    key = token.derive_token_key(VECTOR_A_KEY, VECTOR_A_INBOX)
    return b"\x01" + NONCE + ChaCha20Poly1305(key).encrypt(NONCE, plaintext, VECTOR_A_INBOX.encode())


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"short", "shorter than 32"),
        (b"\x02" + bytes(40), "unknown token version"),
        (b"\x01" + bytes(40), "wrong key or altered"),
        (_sealed(b"\x03abc"), "unknown plaintext form"),
        (_sealed(b"\x02\x05abc"), "length does not match"),
        (_sealed(b"\x02\x02abc"), "length does not match"),
        (_sealed(b"\x02\x00\x00\x00"), "length does not match"),
        (_sealed(b"\x01" + bytes(15)), "17 bytes"),
        (_sealed(b"\x02\x02\xff\xfe"), "not UTF-8"),
    ],
)
def test_decrypt_refusals(raw: bytes, match: str) -> None:
    with pytest.raises(InviteTokenUndecryptable, match=match):
        token.decrypt_conversation_token(raw, VECTOR_A_KEY, VECTOR_A_INBOX)


def test_aad_binds_inbox_id() -> None:
    sealed = token.encrypt_conversation_token("abc", VECTOR_A_KEY, VECTOR_A_INBOX)
    with pytest.raises(InviteTokenUndecryptable):
        token.decrypt_conversation_token(sealed, VECTOR_A_KEY, "00" * 32)
