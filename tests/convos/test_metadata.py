"""Group appData: decoding every format, and the safety rules of read-modify-write."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

import pytest

from openclaw_convos.convos import framing
from openclaw_convos.convos.errors import (
    MetadataArgumentError,
    MetadataMalformed,
    MetadataTooLarge,
    MetadataUnsafeWrite,
)
from openclaw_convos.convos.metadata import (
    APP_DATA_LIMIT,
    EncryptedImageRef,
    decode_app_data,
    new_app_data,
    update_app_data,
)
from openclaw_convos.convos.proto import conversation_custom_metadata_pb2 as pb

REAL = "CgpyU3dDeTZ1d1prMgTwn6Wr"  # tag rSwCy6uwZk + emoji 🥫, from a real group
# Fields the CLI writes that we do not declare: agentDm (8) and spaceUrl (9); plus an invented 42.
AGENT_DM = b"\x42\x12\x0a\x10" + bytes(range(16))
SPACE_URL = b"\x4a\x13https://space.test/"
FIELD_42 = b"\xd0\x02\x07"
UNKNOWN = AGENT_DM + SPACE_URL + FIELD_42


def _with_unknown(raw: bytes) -> str:
    return framing.b64url_encode(raw + UNKNOWN)


def test_real_value() -> None:
    meta = decode_app_data(REAL)
    assert (meta.tag, meta.emoji, meta.expires_at_unix, meta.source) == ("rSwCy6uwZk", "🥫", None, "protobuf")
    assert meta.raw == bytes.fromhex("0a0a") + b"rSwCy6uwZk" + bytes.fromhex("3204f09fa5ab")
    assert new_app_data("rSwCy6uwZk", emoji="🥫") == REAL


def test_empty_value() -> None:
    meta = decode_app_data("")
    assert (meta.tag, meta.source, meta.raw) == ("", "empty", b"")


def test_all_fields_decode() -> None:
    message = pb.ConversationCustomMetadata(tag="AbCdEf1234", expiresAtUnix=1_800_000_000, emoji="🍪")
    message.imageEncryptionKey = b"k" * 32
    message.encryptedGroupImage.url = "https://img"
    message.encryptedGroupImage.salt = b"s" * 32
    message.encryptedGroupImage.nonce = b"n" * 12
    profile = message.profiles.add()
    profile.inboxId = bytes(range(32))
    profile.name = "Old"
    profile.image = "https://old"
    meta = decode_app_data(framing.b64url_encode(message.SerializeToString()))
    assert meta.expires_at_unix == 1_800_000_000
    assert meta.image_encryption_key == b"k" * 32
    assert meta.encrypted_group_image == EncryptedImageRef("https://img", b"s" * 32, b"n" * 12)
    assert meta.profiles[0].inbox_id == bytes(range(32)).hex()
    assert meta.profiles[0].name == "Old" and meta.profiles[0].image == "https://old"


@pytest.mark.parametrize("wrap", ["raw", "zlib", "legacy"])
def test_compressed_forms(wrap: str) -> None:
    raw = pb.ConversationCustomMetadata(tag="AbCdEf1234", emoji="x" * 300).SerializeToString()
    if wrap == "raw":
        blob = framing.compress_frame(raw)
    elif wrap == "zlib":
        blob = b"\x1f" + len(raw).to_bytes(4, "big") + zlib.compress(raw)
    else:
        blob = zlib.compress(raw)
    meta = decode_app_data(framing.b64url_encode(blob))
    assert meta.emoji == "x" * 300
    assert meta.source == {"raw": "compressed_raw", "zlib": "compressed_zlib", "legacy": "legacy_zlib"}[wrap]


def test_legacy_json() -> None:
    meta = decode_app_data('{"tag":"AbCdEf1234","expiresAtUnix":1800000000}')
    assert (meta.tag, meta.expires_at_unix, meta.source) == ("AbCdEf1234", 1_800_000_000, "json")
    out = decode_app_data(update_app_data('{"tag":"AbCdEf1234"}', emoji="🥫"))
    assert (out.tag, out.emoji, out.source) == ("AbCdEf1234", "🥫", "protobuf")
    with pytest.raises(MetadataUnsafeWrite, match="profiles"):
        update_app_data('{"tag":"AbCdEf1234","profiles":[]}', emoji="🥫")


@pytest.mark.parametrize(
    "value",
    ["not base64!", "A", "{not json", "[1]", '{"tag":5}', '{"tag":"a","expiresAtUnix":"x"}', "_w", "Hw"],
)
def test_malformed(value: str) -> None:
    with pytest.raises(MetadataMalformed) as info:
        decode_app_data(value)
    assert "Nothing was changed" in str(info.value)


def test_unknown_fields_survive_every_update() -> None:
    current = _with_unknown(decode_app_data(REAL).raw)
    assert decode_app_data(current).tag == "rSwCy6uwZk"
    steps = [
        {"expires_at": 1_900_000_000},
        {"emoji": "🍪"},
        {"tag": "NewTag1234"},
        {"image_encryption_key": b"k" * 32},
        {"encrypted_group_image": EncryptedImageRef("https://i", b"s" * 32, b"n" * 12)},
        {"expires_at": None},
        {},
    ]
    for change in steps:
        current = update_app_data(current, **change)  # type: ignore[arg-type]
        raw = decode_app_data(current).raw
        for chunk in (AGENT_DM, SPACE_URL, FIELD_42):
            assert chunk in raw, change
    final = decode_app_data(current)
    assert (final.tag, final.emoji, final.expires_at_unix) == ("NewTag1234", "🍪", None)
    assert final.image_encryption_key == b"k" * 32


def test_unknown_fields_survive_compression() -> None:
    raw = pb.ConversationCustomMetadata(tag="AbCdEf1234", emoji="y" * 200).SerializeToString() + UNKNOWN
    current = framing.b64url_encode(framing.compress_frame(raw))
    out = update_app_data(current, emoji="z" * 200)
    assert framing.b64url_decode(out)[0] == 0x1F  # still compressed (it is smaller)
    assert UNKNOWN in decode_app_data(out).raw


def test_legacy_profiles_are_kept() -> None:
    message = pb.ConversationCustomMetadata(tag="AbCdEf1234")
    profile = message.profiles.add()
    profile.inboxId = bytes(32)
    profile.name = "Kept"
    profile.connections = "{}"
    out = decode_app_data(update_app_data(framing.b64url_encode(message.SerializeToString()), emoji="🍪"))
    assert out.profiles[0].name == "Kept" and out.profiles[0].connections == "{}"


def test_never_writes_zero_expiry() -> None:
    for bad in (0, -1, datetime(1970, 1, 1, tzinfo=UTC)):
        with pytest.raises(MetadataArgumentError, match="after 1970"):
            update_app_data(REAL, expires_at=bad)
    # A stored 0 reads as absent and is cleared by the next write.
    stored_zero = framing.b64url_encode(b"\x0a\x0aAbCdEf1234\x19" + bytes(8))
    assert decode_app_data(stored_zero).expires_at_unix is None
    out = update_app_data(stored_zero, emoji="🍪")
    assert b"\x19" not in decode_app_data(out).raw
    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert decode_app_data(update_app_data(REAL, expires_at=when)).expires_at_unix == int(when.timestamp())
    with pytest.raises(MetadataArgumentError, match="timezone-aware"):
        update_app_data(REAL, expires_at=datetime(2030, 1, 1))


def test_refuses_unsafe_writes() -> None:
    with pytest.raises(MetadataUnsafeWrite, match="does not decode"):
        update_app_data("not base64!", emoji="🍪")
    with pytest.raises(MetadataUnsafeWrite, match="no invite tag"):
        update_app_data("", emoji="🍪")
    tagless = framing.b64url_encode(pb.ConversationCustomMetadata(emoji="🍪").SerializeToString())
    with pytest.raises(MetadataUnsafeWrite, match="no invite tag"):
        update_app_data(tagless, emoji="🥫")
    # Setting a tag on a tagless (but decodable) value keeps the rest.
    assert decode_app_data(update_app_data(tagless, tag="AbCdEf1234")).emoji == "🍪"
    for bad_tag in ("", "short", "AbCdEf123!"):
        with pytest.raises(MetadataArgumentError, match="never cleared"):
            update_app_data(REAL, tag=bad_tag)
    with pytest.raises(MetadataArgumentError, match="32 bytes"):
        update_app_data(REAL, image_encryption_key=b"short")


def test_size_limit() -> None:
    with pytest.raises(MetadataTooLarge) as info:
        update_app_data(REAL, emoji=json.dumps([str(i) for i in range(3000)]))
    assert info.value.limit == APP_DATA_LIMIT
    # Just below the limit still works (incompressible data).
    out = update_app_data(REAL, emoji="".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(1500)))
    assert len(out) <= APP_DATA_LIMIT
    with pytest.raises(MetadataTooLarge):
        decode_app_data("A" * 70_000)


def test_small_values_are_not_compressed() -> None:
    out = new_app_data("AbCdEf1234", emoji="a" * 80)  # 94 bytes: not over 100
    assert framing.b64url_decode(out)[0] == 0x0A
    out = new_app_data("AbCdEf1234", emoji="a" * 200)
    assert framing.b64url_decode(out)[0] == 0x1F
