"""Keccak-256, Ethereum addresses, inbox ids and recoverable signatures."""

from __future__ import annotations

import hashlib

import pytest

from openclaw_convos.convos import keys
from openclaw_convos.convos.errors import InviteArgumentError, InviteBadSignature
from openclaw_convos.convos.keccak import keccak256

from .helpers import VECTOR_A_KEY, VECTOR_A_PUBLIC_KEY


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
        (
            b"The quick brown fox jumps over the lazy dog",
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
        ),
    ],
)
def test_keccak_known_answers(data: bytes, digest: str) -> None:
    assert keccak256(data).hex() == digest


def test_keccak_block_boundaries() -> None:
    # Lengths around the 136-byte rate must all differ and not crash.
    digests = {keccak256(b"a" * n) for n in (134, 135, 136, 137, 271, 272, 273)}
    assert len(digests) == 7
    assert keccak256(b"") != hashlib.sha3_256(b"").digest()


def test_address_of_known_key() -> None:
    # The well-known address of private key 1 (the generator point).
    assert (
        keys.ethereum_address(keys.public_key(b"\x00" * 31 + b"\x01"))
        == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    )
    compressed = keys.normalize_public_key(VECTOR_A_PUBLIC_KEY)
    assert keys.ethereum_address(compressed) == keys.ethereum_address(VECTOR_A_PUBLIC_KEY)


def test_private_key_forms() -> None:
    raw = bytes.fromhex("11" * 32)
    assert keys.private_key_bytes(VECTOR_A_KEY) == raw
    assert keys.private_key_bytes("11" * 32) == raw
    assert keys.private_key_bytes(bytearray(raw)) == raw  # type: ignore[arg-type]
    for bad in ("0x11", "zz" * 32, bytes(32), b"\xff" * 32, 5):
        with pytest.raises(InviteArgumentError):
            keys.private_key_bytes(bad)  # type: ignore[arg-type]


def test_sign_and_recover() -> None:
    digest = hashlib.sha256(b"payload").digest()
    signature = keys.sign_digest(VECTOR_A_KEY, digest)
    assert len(signature) == 65 and signature[64] in (0, 1)
    assert keys.sign_digest(VECTOR_A_KEY, digest) == signature  # RFC 6979: deterministic
    assert keys.recover_public_key(digest, signature) == VECTOR_A_PUBLIC_KEY
    assert keys.same_public_key(keys.normalize_public_key(VECTOR_A_PUBLIC_KEY)[:], VECTOR_A_PUBLIC_KEY)
    with pytest.raises(InviteArgumentError):
        keys.sign_digest(VECTOR_A_KEY, b"short")
    with pytest.raises(InviteBadSignature):
        keys.recover_public_key(digest, signature[:64])
    with pytest.raises(InviteArgumentError):
        keys.normalize_public_key(b"\x04" + bytes(64))


def test_inbox_id_for_address() -> None:
    with pytest.raises(InviteArgumentError):
        keys.inbox_id_for_address("0x1234")
