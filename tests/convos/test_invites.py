"""Invites against the official CLI's vectors and vector A: decode, verify, decrypt, re-create."""

from __future__ import annotations

import hashlib
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openclaw_convos.convos import framing
from openclaw_convos.convos.errors import (
    InviteArgumentError,
    InviteBadSignature,
    InviteConversationExpired,
    InviteCreatorUnknown,
    InviteExpired,
    InviteMalformed,
    InviteOwnInvite,
    InviteSignerNotCreator,
    InviteTokenUndecryptable,
    InviteTooLarge,
    InviteWrongCreator,
)
from openclaw_convos.convos.invites import (
    SignedInvite,
    check_signer_is_creator,
    create_invite,
    decode_slug,
    decrypt_conversation_id,
    encode_slug,
    parse_invite,
    recover_signer,
    verify_invite,
)
from openclaw_convos.convos.keys import (
    ethereum_address,
    inbox_id_for_address,
    public_key,
    sign_digest,
)
from openclaw_convos.convos.links import invite_url
from openclaw_convos.convos.proto import invite_pb2
from openclaw_convos.errors import ConvosError, InviteError

from .helpers import (
    VECTOR_A_CONVERSATION,
    VECTOR_A_INBOX,
    VECTOR_A_KEY,
    VECTOR_A_PUBLIC_KEY,
    VECTOR_A_SLUG,
    VECTOR_A_TAG,
    load_vectors,
    vector,
    vector_ids,
)

VECTORS = load_vectors()
IDS = vector_ids()
NOW = datetime(2026, 11, 24, 8, 26, tzinfo=UTC)  # when the vectors were made
OTHER_KEY = "0x" + "22" * 32


def _key(v: dict[str, Any]) -> str:
    return str(v["creator_identity_file"]["walletKey"])


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_decodes_exactly(v: dict[str, Any]) -> None:
    decoded = v["decoded"]
    for text in (v["slug"], v["url"], decoded["slug_no_separators"]):
        invite = parse_invite(text)
        assert invite.payload_bytes.hex() == decoded["payload_hex"]
        assert invite.signature.hex() == decoded["signature_hex"]
        assert invite.to_bytes().hex() == decoded["signed_invite_hex"]
        assert invite.compression == ("zlib" if decoded["compressed"] else "none")
    wire, _ = decode_slug(v["slug"])
    assert wire.hex() == decoded["signed_invite_hex"]
    payload = parse_invite(v["slug"]).payload
    expected = decoded["payload"]
    assert payload.conversation_token.hex() == expected["conversationToken"]
    assert payload.creator_inbox_id == expected["creatorInboxId"] == v["creator_inbox_id"]
    assert payload.tag == expected["tag"]
    assert payload.name == expected.get("name")
    assert payload.description == expected.get("description")
    assert payload.image_url == expected.get("imageURL")
    assert payload.emoji == expected.get("emoji")
    assert payload.expires_at_unix == expected.get("expiresAtUnix")
    assert payload.single_use is expected["expiresAfterUse"]
    assert payload.conversation_expires_at_unix is None
    assert len(payload.conversation_token) == v["official_inspect_invite"]["conversationTokenBytes"]


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_signer_and_inbox(v: dict[str, Any]) -> None:
    invite = parse_invite(v["url"])
    signer = recover_signer(invite)
    assert signer.address == v["creator_address"] == v["decoded"]["recovered_signer_address"]
    assert signer.public_key == public_key(_key(v))
    assert signer.fresh_inbox_id == v["creator_inbox_id"]
    assert inbox_id_for_address(v["creator_address"]) == v["creator_inbox_id"]
    assert ethereum_address(public_key(_key(v))) == v["creator_address"]


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_signer_is_checked_against_the_creator_inbox_addresses(v: dict[str, Any]) -> None:
    """The creator's inbox holds the vector's address: it verifies; a flipped byte does not."""
    invite = parse_invite(v["url"])
    signer = recover_signer(invite)
    check_signer_is_creator(invite, signer, {v["creator_address"].upper().replace("0X", "0x")}, network="dev")
    with pytest.raises(InviteSignerNotCreator, match="altered or forged"):
        check_signer_is_creator(invite, signer, {"0x" + "11" * 20}, network="dev")
    with pytest.raises(InviteCreatorUnknown, match="does not exist on the dev network"):
        check_signer_is_creator(invite, signer, None, network="dev")
    flipped = bytearray(invite.signature)
    for index in range(64):
        flipped[index] ^= 0x01
        try:
            other = recover_signer(
                SignedInvite(invite.payload, invite.payload_bytes, bytes(flipped), invite.slug)
            )
        except InviteBadSignature:
            flipped[index] ^= 0x01
            continue
        with pytest.raises(InviteSignerNotCreator):
            check_signer_is_creator(invite, other, {v["creator_address"]}, network="dev")
        break
    else:
        raise AssertionError("no flipped byte recovered a signer")


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_resigning_reproduces_signature(v: dict[str, Any]) -> None:
    invite = parse_invite(v["slug"])
    assert sign_digest(_key(v), hashlib.sha256(invite.payload_bytes).digest()) == invite.signature


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_token_decrypts(v: dict[str, Any]) -> None:
    invite = parse_invite(v["slug"])
    assert decrypt_conversation_id(invite, _key(v)) == v["conversation_id"]
    assert decrypt_conversation_id(invite, bytes.fromhex(_key(v)[2:])) == v["conversation_id"]


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_wrong_key_cannot_decrypt(v: dict[str, Any]) -> None:
    with pytest.raises(InviteTokenUndecryptable):
        decrypt_conversation_id(parse_invite(v["slug"]), OTHER_KEY)


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_recreated_from_inputs_byte_for_byte(v: dict[str, Any]) -> None:
    payload = v["decoded"]["payload"]
    slug = create_invite(
        _key(v),
        v["creator_inbox_id"],
        v["conversation_id"],
        payload["tag"],
        name=payload.get("name"),
        description=payload.get("description"),
        emoji=payload.get("emoji"),
        expires_at=payload.get("expiresAtUnix"),
        single_use=payload["expiresAfterUse"],
        token_nonce=bytes.fromhex(v["decoded"]["token"]["nonce_hex"]),
    )
    assert parse_invite(slug).to_bytes().hex() == v["decoded"]["signed_invite_hex"]
    if not v["decoded"]["compressed"]:
        assert slug == v["slug"]  # including the '*' after 300 characters


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_vector_verifies_for_joiner(v: dict[str, Any]) -> None:
    invite = parse_invite(v["url"])
    expired = v["official_inspect_invite"]["inviteExpired"]
    if expired:
        with pytest.raises(InviteExpired):
            verify_invite(invite, NOW + timedelta(hours=1))
    else:
        signer = verify_invite(invite, NOW, creator_address=v["creator_address"])
        assert signer.address == v["creator_address"]
        verify_invite(invite, NOW, creator_public_key=public_key(_key(v)))
        verify_invite(invite, NOW, creator_address=v["creator_address"].lower())


def test_expired_vector_is_refused_with_expired() -> None:
    v = vector("invite-06-already-expired")
    invite = parse_invite(v["slug"])
    expires = invite.payload.expires_at_unix
    assert expires == 1795508857
    assert invite.payload.expires_at == datetime(2026, 11, 24, 8, 27, 37, tzinfo=UTC)
    verify_invite(invite, datetime.fromtimestamp(expires, UTC))  # the second itself is still valid
    with pytest.raises(InviteExpired, match="expired") as info:
        verify_invite(invite, datetime.fromtimestamp(expires + 1, UTC))
    assert "2026-11-24 08:27:37 UTC" in str(info.value)
    assert "ask the conversation's creator for a new one" in str(info.value)
    assert isinstance(info.value, InviteError)


def test_expiring_vector_valid_before_expiry() -> None:
    invite = parse_invite(vector("invite-03-expires-in-3600")["slug"])
    verify_invite(invite, NOW)
    with pytest.raises(InviteExpired):
        verify_invite(invite, NOW + timedelta(days=1))


def test_single_use_vector_flag() -> None:
    assert parse_invite(vector("invite-04-single-use")["slug"]).payload.single_use
    assert not parse_invite(vector("invite-01-create-name-description")["slug"]).payload.single_use


def test_wrong_creator_is_refused() -> None:
    v = vector("invite-01-create-name-description")
    invite = parse_invite(v["slug"])
    with pytest.raises(InviteWrongCreator):
        verify_invite(invite, NOW, creator_public_key=public_key(OTHER_KEY))
    with pytest.raises(InviteWrongCreator):
        verify_invite(invite, NOW, creator_address=ethereum_address(public_key(OTHER_KEY)))
    with pytest.raises(InviteArgumentError):
        verify_invite(invite, NOW, creator_address="not-an-address")


def test_own_invite_is_refused() -> None:
    v = vector("invite-01-create-name-description")
    with pytest.raises(InviteOwnInvite):
        verify_invite(parse_invite(v["slug"]), NOW, own_inbox_id=v["creator_inbox_id"].upper())


def _resigned(invite: SignedInvite, payload: bytes | None = None, signature: bytes | None = None) -> str:
    wire = invite_pb2.SignedInvite(
        payload=invite.payload_bytes if payload is None else payload,
        signature=invite.signature if signature is None else signature,
    ).SerializeToString()
    return encode_slug(wire)


def test_tampered_payload_fails_signature_check() -> None:
    v = vector("invite-01-create-name-description")
    invite = parse_invite(v["slug"])
    tampered = invite.payload_bytes.replace(b"Harness Test", b"Harness Pest")
    forged = parse_invite(_resigned(invite, payload=tampered))
    assert forged.payload.name == "Harness Pest"
    # The signature still recovers to *some* key, but not the creator's.
    with pytest.raises(InviteWrongCreator):
        verify_invite(forged, NOW, creator_address=v["creator_address"])
    assert recover_signer(forged).address != v["creator_address"]


def test_signature_shape_errors() -> None:
    invite = parse_invite(VECTOR_A_SLUG)
    bad_recid = invite.signature[:64] + bytes([27])
    with pytest.raises(InviteBadSignature, match="recovery id"):
        verify_invite(parse_invite(_resigned(invite, signature=bad_recid)), NOW)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(invite.signature[32:64], "big")
    high_s = invite.signature[:32] + (n - s).to_bytes(32, "big") + bytes([invite.signature[64] ^ 1])
    with pytest.raises(InviteBadSignature, match="high-S"):
        verify_invite(parse_invite(_resigned(invite, signature=high_s)), NOW)
    zero_r = bytes(32) + invite.signature[32:]
    with pytest.raises(InviteBadSignature):
        verify_invite(parse_invite(_resigned(invite, signature=zero_r)), NOW)
    with pytest.raises(InviteMalformed, match="64 bytes"):
        parse_invite(_resigned(invite, signature=invite.signature[:64]))


def test_conversation_expiry() -> None:
    slug = create_invite(
        VECTOR_A_KEY,
        VECTOR_A_INBOX,
        VECTOR_A_CONVERSATION,
        VECTOR_A_TAG,
        conversation_expires_at=NOW + timedelta(minutes=5),
    )
    invite = parse_invite(slug)
    assert invite.payload.conversation_expires_at == NOW + timedelta(minutes=5)
    verify_invite(invite, NOW)
    with pytest.raises(InviteConversationExpired, match="can no longer be joined"):
        verify_invite(invite, NOW + timedelta(minutes=6))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ConvosError, match="timezone-aware"):
        verify_invite(parse_invite(VECTOR_A_SLUG), datetime(2026, 1, 1))


# --- vector A ---


def test_vector_a() -> None:
    invite = parse_invite(VECTOR_A_SLUG)
    assert len(VECTOR_A_SLUG) == 259
    assert len(invite.payload_bytes) == 125
    assert len(invite.to_bytes()) == 194
    assert invite.to_bytes()[:2] == bytes([0x0A, 0x7D])
    token = invite.payload.conversation_token
    assert len(token) == 63
    assert token[:13].hex() == "017869d826058faa354fa60700"
    assert invite.signature[64] == 1
    assert recover_signer(invite).public_key == VECTOR_A_PUBLIC_KEY
    assert public_key(VECTOR_A_KEY) == VECTOR_A_PUBLIC_KEY
    assert sign_digest(VECTOR_A_KEY, invite.digest) == invite.signature
    assert decrypt_conversation_id(invite, VECTOR_A_KEY) == VECTOR_A_CONVERSATION
    payload = invite.payload
    assert (payload.creator_inbox_id, payload.tag, payload.name, payload.emoji) == (
        VECTOR_A_INBOX,
        VECTOR_A_TAG,
        "Test",
        "🥫",
    )
    # Field order 1, 2, 3, 4, 9, 10 with field 9 present as 48 00.
    assert b"\x48\x00\x52\x04\xf0\x9f\xa5\xab" in invite.payload_bytes
    verify_invite(invite, NOW, creator_public_key=VECTOR_A_PUBLIC_KEY)
    # The inbox id is a dummy: not the one of the key.
    assert recover_signer(invite).fresh_inbox_id != VECTOR_A_INBOX


def test_vector_a_recreated_byte_for_byte() -> None:
    nonce = parse_invite(VECTOR_A_SLUG).payload.conversation_token[1:13]
    slug = create_invite(
        VECTOR_A_KEY,
        VECTOR_A_INBOX,
        VECTOR_A_CONVERSATION,
        VECTOR_A_TAG,
        name="Test",
        emoji="🥫",
        token_nonce=nonce,
    )
    assert slug == VECTOR_A_SLUG


def test_vector_a_urls() -> None:
    assert invite_url(VECTOR_A_SLUG) == f"https://popup.convos.org/v2?i={VECTOR_A_SLUG}"
    assert invite_url(VECTOR_A_SLUG, "dev") == f"https://dev.convos.org/v2?i={VECTOR_A_SLUG}"
    assert invite_url(VECTOR_A_SLUG, "local") == f"https://dev.convos.org/v2?i={VECTOR_A_SLUG}"
    with pytest.raises(InviteArgumentError):
        invite_url(VECTOR_A_SLUG, "staging")  # type: ignore[arg-type]
    with pytest.raises(InviteArgumentError):
        invite_url("a b")


@pytest.mark.parametrize("kind", ["raw", "zlib"])
def test_vector_a_compressed_variants(kind: str) -> None:
    wire = parse_invite(VECTOR_A_SLUG).to_bytes()
    body = framing.raw_deflate(wire) if kind == "raw" else zlib.compress(wire)
    slug = framing.b64url_encode(b"\x1f" + len(wire).to_bytes(4, "big") + body)
    invite = parse_invite(slug)
    assert invite.compression == kind
    assert invite.to_bytes() == wire
    assert decrypt_conversation_id(invite, VECTOR_A_KEY) == VECTOR_A_CONVERSATION
    verify_invite(invite, NOW, creator_public_key=VECTOR_A_PUBLIC_KEY)


def test_vector_a_legacy_node_sdk_zlib() -> None:
    wire = parse_invite(VECTOR_A_SLUG).to_bytes()
    invite = parse_invite(framing.b64url_encode(zlib.compress(wire)))
    assert invite.compression == "legacy_zlib"
    assert invite.to_bytes() == wire


# --- our own invites ---


def test_round_trip_all_fields() -> None:
    slug = create_invite(
        VECTOR_A_KEY,
        VECTOR_A_INBOX.upper(),
        "f03cb17dc83e8a11882ced576c943c72",
        "Zz09aAbB12",
        name="Name",
        description="Desc",
        image_url="https://example.com/i.png",
        emoji="🍪",
        expires_at=NOW + timedelta(hours=1),
        conversation_expires_at=2_000_000_000,
        single_use=True,
    )
    invite = parse_invite(slug)
    p = invite.payload
    assert p.creator_inbox_id == VECTOR_A_INBOX
    assert (p.tag, p.name, p.description, p.image_url, p.emoji) == (
        "Zz09aAbB12",
        "Name",
        "Desc",
        "https://example.com/i.png",
        "🍪",
    )
    assert p.expires_at_unix == int((NOW + timedelta(hours=1)).timestamp())
    assert p.conversation_expires_at_unix == 2_000_000_000
    assert p.single_use
    assert decrypt_conversation_id(invite, VECTOR_A_KEY) == "f03cb17dc83e8a11882ced576c943c72"
    assert verify_invite(invite, NOW).public_key == VECTOR_A_PUBLIC_KEY


def test_public_preview_can_be_left_out() -> None:
    slug = create_invite(
        VECTOR_A_KEY,
        VECTOR_A_INBOX,
        VECTOR_A_CONVERSATION,
        VECTOR_A_TAG,
        name="Secret",
        description="d",
        image_url="u",
        emoji="🥫",
        include_public_preview=False,
    )
    p = parse_invite(slug).payload
    assert (p.name, p.description, p.image_url, p.emoji) == (None, None, None, "🥫")


def test_compressed_round_trip_and_separators() -> None:
    description = "Convos harness compression vector. " * 40
    plain = create_invite(
        VECTOR_A_KEY, VECTOR_A_INBOX, VECTOR_A_CONVERSATION, VECTOR_A_TAG, description=description
    )
    packed = create_invite(
        VECTOR_A_KEY,
        VECTOR_A_INBOX,
        VECTOR_A_CONVERSATION,
        VECTOR_A_TAG,
        description=description,
        compress=True,
    )
    assert len(packed) < len(plain)
    body = plain.replace("*", "")
    assert plain == "*".join(body[i : i + 300] for i in range(0, len(body), 300))
    assert plain.count("*") == (len(body) - 1) // 300
    invite = parse_invite(packed)
    assert invite.compression == "raw"  # the iOS format
    assert invite.payload.description == description
    assert framing.b64url_decode(packed.replace("*", ""))[0] == 0x1F


def test_compression_skipped_when_not_smaller() -> None:
    slug = create_invite(VECTOR_A_KEY, VECTOR_A_INBOX, VECTOR_A_CONVERSATION, VECTOR_A_TAG, compress=True)
    assert parse_invite(slug).compression == "none"


def test_uuid_conversation_ids_round_trip() -> None:
    slug = create_invite(VECTOR_A_KEY, VECTOR_A_INBOX, "0A1B2C3D-0000-4000-8000-00000000ABCD", VECTOR_A_TAG)
    invite = parse_invite(slug)
    assert len(invite.payload.conversation_token) == 46
    assert decrypt_conversation_id(invite, VECTOR_A_KEY) == "0a1b2c3d-0000-4000-8000-00000000abcd"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tag": ""}, "tag"),
        ({"tag": "short"}, "tag"),
        ({"tag": "AbCdEf123!"}, "tag"),
        ({"creator_inbox_id": "xyz"}, "inbox id"),
        ({"creator_inbox_id": "ab" * 31}, "inbox id"),
        ({"conversation_id": ""}, "conversation id"),
        ({"creator_private_key": "0x1234"}, "private key"),
        ({"creator_private_key": bytes(32)}, "private key"),
        ({"expires_at": 0}, "after 1970"),
        ({"conversation_expires_at": -5}, "after 1970"),
        ({"expires_at": datetime(2030, 1, 1)}, "timezone-aware"),
        ({"expires_at": "tomorrow"}, "datetime or unix"),
        ({"token_nonce": b"short"}, "nonce"),
    ],
)
def test_create_invite_refuses_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "creator_private_key": VECTOR_A_KEY,
        "creator_inbox_id": VECTOR_A_INBOX,
        "conversation_id": VECTOR_A_CONVERSATION,
        "tag": VECTOR_A_TAG,
    }
    args.update(kwargs)
    with pytest.raises(InviteArgumentError, match=match):
        create_invite(**args)


# --- malformed input ---


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "not an invite!",
        "A",
        "AAAA",
        "https://example.com/",
        "https://popup.convos.org/v2?i=",
        framing.b64url_encode(b"\x0a\x03abc"),  # payload without a signature
        framing.b64url_encode(b"\xff\xff\xff"),
        framing.b64url_encode(b"\x1f\x00\x00\x00"),
        framing.b64url_encode(b"\x1f\x00\x00\x00\x05garbage"),
    ],
)
def test_malformed_invites(text: str) -> None:
    with pytest.raises(InviteMalformed) as info:
        parse_invite(text)
    assert "copy the whole invite link again" in str(info.value)


def test_payload_missing_fields() -> None:
    invite = parse_invite(VECTOR_A_SLUG)
    message = invite_pb2.InvitePayload()
    message.ParseFromString(invite.payload_bytes)
    for field in ("conversationToken", "creator_inbox_id", "tag"):
        broken = invite_pb2.InvitePayload()
        broken.CopyFrom(message)
        broken.ClearField(field)
        with pytest.raises(InviteMalformed, match="missing"):
            parse_invite(_resigned(invite, payload=broken.SerializeToString()))


def test_zero_timestamps_read_as_absent() -> None:
    invite = parse_invite(VECTOR_A_SLUG)
    message = invite_pb2.InvitePayload()
    message.ParseFromString(invite.payload_bytes)
    message.expiresAtUnix = 0
    message.conversationExpiresAtUnix = 0
    payload = message.SerializeToString()
    assert b"\x41" + bytes(8) in payload
    reparsed = parse_invite(_resigned(invite, payload=payload))
    assert reparsed.payload.expires_at_unix is None
    assert reparsed.payload.conversation_expires_at_unix is None


def test_too_long_text_is_refused() -> None:
    with pytest.raises(InviteTooLarge):
        parse_invite("A" * (64 * 1024 + 1))


def test_errors_are_invite_errors() -> None:
    for cls in (
        InviteMalformed,
        InviteTooLarge,
        InviteBadSignature,
        InviteWrongCreator,
        InviteExpired,
        InviteConversationExpired,
        InviteTokenUndecryptable,
        InviteOwnInvite,
        InviteArgumentError,
    ):
        assert issubclass(cls, InviteError)


def test_invite_tags() -> None:
    from openclaw_convos.convos.tags import is_valid_invite_tag, new_invite_tag, same_tag

    fresh = {new_invite_tag() for _ in range(50)}
    assert len(fresh) == 50
    assert all(is_valid_invite_tag(tag) for tag in fresh)
    for bad in ("", "AbCdEf123", "AbCdEf12345", "AbCdEf123-", "ÀbCdEf1234", "AbCdEf1234\n"):
        assert not is_valid_invite_tag(bad)
    assert same_tag("AbCdEf1234", "AbCdEf1234") and not same_tag("AbCdEf1234", "abcdef1234")
