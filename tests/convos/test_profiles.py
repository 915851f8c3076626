"""Profile messages: wire examples, round trips, and display-name resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openclaw_convos.convos.content import Text, decode_content, encode_content
from openclaw_convos.convos.encoded import decode_envelope
from openclaw_convos.convos.errors import ContentArgumentError, ContentMalformed
from openclaw_convos.convos.metadata import LegacyProfile
from openclaw_convos.convos.profiles import (
    PROFILE_SNAPSHOT,
    PROFILE_UPDATE,
    MemberKind,
    MemberProfile,
    ProfileImage,
    ProfileSnapshot,
    ProfileUpdate,
    decode_profile_snapshot,
    decode_profile_update,
    encode_profile_snapshot,
    encode_profile_update,
    resolve_display_names,
)

A = "aa" * 32
B = "bb" * 32
C = "cc" * 32
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_wire_examples() -> None:
    update = ProfileUpdate(name="Alice", member_kind=MemberKind.AGENT)
    assert encode_profile_update(update) == b"\x0a\x05Alice\x18\x01"
    inbox = bytes(range(32))
    snapshot = ProfileSnapshot((MemberProfile(inbox.hex(), "Alice", member_kind=MemberKind.AGENT),))
    assert encode_profile_snapshot(snapshot) == b"\x0a\x2b\x0a\x20" + inbox + b"\x12\x05Alice\x20\x01"


def test_full_round_trip_through_content() -> None:
    image = ProfileImage("https://img", b"s" * 32, b"n" * 12)
    update = ProfileUpdate("Bob", image, MemberKind.AGENT, {"s": "v", "n": 1.5, "b": True})
    data = encode_content(update)
    envelope = decode_envelope(data)
    assert envelope.type == PROFILE_UPDATE and envelope.fallback is None
    assert decode_content(data) == update
    snapshot = ProfileSnapshot(
        (MemberProfile(A, "A", image, MemberKind.UNSPECIFIED, {"x": False}), MemberProfile(B))
    )
    data = encode_content(snapshot)
    assert decode_envelope(data).type == PROFILE_SNAPSHOT
    assert decode_content(data) == snapshot


def test_update_semantics() -> None:
    assert ProfileUpdate().clears_profile
    assert not ProfileUpdate(encrypted_image=ProfileImage("u", b"", b"")).clears_profile
    assert decode_profile_update(b"\x0a\x00").name is None  # a present but empty name is blank
    assert decode_profile_update(b"\x18\x05").member_kind == 5  # unknown kinds are kept
    assert ProfileUpdate(member_kind=MemberKind.AGENT).is_agent
    assert decode_profile_update(encode_profile_update(ProfileUpdate(metadata={"i": 3}))).metadata == {
        "i": 3.0
    }


def test_errors() -> None:
    with pytest.raises(ContentMalformed):
        decode_profile_update(b"\xff\xff")
    with pytest.raises(ContentMalformed):
        decode_profile_snapshot(b"\x0a\x05\x0a")
    with pytest.raises(ContentArgumentError, match="64 hex"):
        encode_profile_snapshot(ProfileSnapshot((MemberProfile("xyz"),)))
    with pytest.raises(ContentArgumentError, match="metadata"):
        encode_profile_update(ProfileUpdate(metadata={"bad": [1]}))  # type: ignore[dict-item]


def test_names_precedence() -> None:
    items = [
        (C, ProfileSnapshot((MemberProfile(A, "A from snapshot"), MemberProfile(B, "B from snapshot"))), T0),
        (A, ProfileUpdate("A herself"), T0 - timedelta(days=1)),  # older than the snapshot, still wins
        (C, Text("hello"), T0),
    ]
    legacy = [LegacyProfile(C, name="C legacy"), LegacyProfile(B, name="B legacy")]
    assert resolve_display_names(items, legacy) == {A: "A herself", B: "B from snapshot", C: "C legacy"}


def test_names_latest_update_wins_and_clears() -> None:
    ns = 1_000_000_000
    items = [
        (A, ProfileUpdate("Old"), 1 * ns),
        (A, ProfileUpdate("New"), 2 * ns),
        (B, ProfileUpdate("Bob"), 1 * ns),
        (B, ProfileUpdate(), 2 * ns),  # clears: no fallback to the snapshot
        (C, ProfileSnapshot((MemberProfile(B, "Bob in snapshot"),)), 3 * ns),
    ]
    assert resolve_display_names(items) == {A: "New"}


def test_names_blank_never_hides_known() -> None:
    image = ProfileImage("u", b"s" * 32, b"n" * 12)
    items = [
        (A, ProfileUpdate("Alice"), T0),
        (A, ProfileUpdate("   ", image), T0 + timedelta(seconds=1)),  # blank name with image: keep Alice
        (B, ProfileSnapshot((MemberProfile(C, "Carol"),)), T0),
        (B, ProfileSnapshot((MemberProfile(C, None), MemberProfile(C, " "))), T0 + timedelta(seconds=5)),
        (B, ProfileUpdate(encrypted_image=image), T0),  # image only, nothing else: no name
    ]
    assert resolve_display_names(items) == {A: "Alice", C: "Carol"}


def test_names_newest_snapshot_and_ties() -> None:
    items = [
        (C, ProfileSnapshot((MemberProfile(A, "first"),)), T0),
        (C, ProfileSnapshot((MemberProfile(A, "second"),)), T0),  # same time: later item wins
        (C, ProfileSnapshot((MemberProfile(A, "older"),)), T0 - timedelta(hours=1)),
    ]
    assert resolve_display_names(items) == {A: "second"}
    assert resolve_display_names([(A.upper(), ProfileUpdate("x"), T0)]) == {A: "x"}


def test_names_reject_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_display_names([(A, ProfileUpdate("x"), datetime(2026, 1, 1))])


def test_names_mix_datetimes_and_nanoseconds() -> None:
    ns = int(T0.timestamp()) * 1_000_000_000
    items = [
        (A, ProfileUpdate("by datetime, later"), T0 + timedelta(microseconds=2)),
        (A, ProfileUpdate("by ns, earlier"), ns + 1_000),
    ]
    assert resolve_display_names(items) == {A: "by datetime, later"}
    assert resolve_display_names(list(reversed(items))) == {A: "by datetime, later"}
