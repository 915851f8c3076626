"""Hypothesis properties: decoders only ever raise our own errors; encode -> decode is the identity."""

from __future__ import annotations

import contextlib
import json
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_convos.convos import framing, token
from openclaw_convos.convos.content import (
    EXPLODE_SETTINGS,
    INVITE_JOIN_ERROR,
    INVITE_JOIN_HANDLED,
    JOIN_REQUEST,
    TEXT,
    TYPING_INDICATOR,
    ExplodeSettings,
    InviteJoinError,
    InviteJoinErrorType,
    InviteJoinHandled,
    JoinRequest,
    JoinRequestProfile,
    Text,
    TypingIndicator,
    decode_content,
    encode_content,
)
from openclaw_convos.convos.encoded import ContentTypeId, decode_envelope, encode_envelope
from openclaw_convos.convos.invites import (
    create_invite,
    decode_slug,
    decrypt_conversation_id,
    parse_invite,
    verify_invite,
)
from openclaw_convos.convos.join import JoinDecision, evaluate_join_request, verify_join_request
from openclaw_convos.convos.links import extract_invite_code
from openclaw_convos.convos.metadata import decode_app_data, new_app_data, update_app_data
from openclaw_convos.convos.profiles import (
    PROFILE_SNAPSHOT,
    PROFILE_UPDATE,
    MemberProfile,
    ProfileImage,
    ProfileSnapshot,
    ProfileUpdate,
    decode_profile_snapshot,
    decode_profile_update,
    resolve_display_names,
)
from openclaw_convos.convos.proto import invite_pb2
from openclaw_convos.errors import ConvosError

from .helpers import VECTOR_A_INBOX, VECTOR_A_KEY, VECTOR_A_SLUG, vector

NOW = datetime(2026, 11, 24, 8, 26, tzinfo=UTC)
V = vector("invite-01-create-name-description")
SETTINGS = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
_DASHED_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def only_our_errors(call: Callable[[], object]) -> None:
    """Run ``call``; any exception other than a ConvosError fails the test."""
    with contextlib.suppress(ConvosError):
        call()


# --- strategies ---

tags = st.from_regex(r"\A[A-Za-z0-9]{10}\Z")
inbox_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
optional_text = st.one_of(st.none(), st.text(min_size=1, max_size=80))
whole_seconds = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
convos_types = st.sampled_from(
    [
        JOIN_REQUEST,
        INVITE_JOIN_ERROR,
        INVITE_JOIN_HANDLED,
        TYPING_INDICATOR,
        EXPLODE_SETTINGS,
        TEXT,
        PROFILE_UPDATE,
        PROFILE_SNAPSHOT,
    ]
)
type_ids = st.one_of(
    convos_types,
    st.builds(
        ContentTypeId,
        st.text(min_size=1, max_size=12),
        st.text(min_size=1, max_size=12),
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
    ),
)
images = st.builds(ProfileImage, st.text(max_size=30), st.binary(max_size=40), st.binary(max_size=16))
metadata_values = st.one_of(st.text(max_size=20), st.floats(allow_nan=False), st.booleans())
member_kinds = st.sampled_from([0, 1, 2, 99])


# --- decoders never raise anything but ConvosError ---


@SETTINGS
@given(st.text(max_size=400))
def test_text_into_invite_decoders(text: str) -> None:
    only_our_errors(lambda: parse_invite(text))
    only_our_errors(lambda: extract_invite_code(text))
    only_our_errors(lambda: decode_slug(text))
    only_our_errors(lambda: decode_app_data(text))
    only_our_errors(lambda: update_app_data(text, emoji="x"))
    only_our_errors(lambda: framing.b64url_decode(text))


@SETTINGS
@given(st.binary(max_size=600))
def test_bytes_into_slug_decoders(data: bytes) -> None:
    for blob in (data, b"\x1f" + data, b"\x78" + data, b"\x1f" + len(data).to_bytes(4, "big") + data):
        slug = framing.b64url_encode(blob)
        only_our_errors(lambda slug=slug: parse_invite(slug))  # type: ignore[misc]
        only_our_errors(lambda slug=slug: decode_app_data(slug))  # type: ignore[misc]
        only_our_errors(lambda slug=slug: update_app_data(slug, tag="AbCdEf1234"))  # type: ignore[misc]
    packed = framing.b64url_encode(b"\x1f" + len(data).to_bytes(4, "big") + zlib.compress(data))
    only_our_errors(lambda: parse_invite(packed))
    only_our_errors(lambda: decode_app_data(packed))


@SETTINGS
@given(
    st.binary(max_size=200),
    st.binary(max_size=80),
    st.one_of(st.just(b""), st.binary(min_size=65, max_size=65)),
)
def test_structured_invites_never_crash(token_bytes: bytes, creator: bytes, signature: bytes) -> None:
    payload = invite_pb2.InvitePayload(
        conversationToken=token_bytes, creator_inbox_id=creator, tag="AbCdEf1234"
    )
    wire = invite_pb2.SignedInvite(
        payload=payload.SerializeToString(), signature=signature
    ).SerializeToString()

    def check() -> None:
        invite = parse_invite(framing.b64url_encode(wire))
        only_our_errors(lambda: verify_invite(invite, NOW))
        only_our_errors(lambda: decrypt_conversation_id(invite, VECTOR_A_KEY))

    only_our_errors(check)
    decision = verify_join_request(
        framing.b64url_encode(wire), creator_private_key=VECTOR_A_KEY, creator_inbox_id=creator.hex(), now=NOW
    )
    assert isinstance(decision, JoinDecision)


@SETTINGS
@given(st.binary(max_size=300))
def test_bytes_into_content_decoders(data: bytes) -> None:
    only_our_errors(lambda: decode_content(data))
    only_our_errors(lambda: decode_envelope(data))
    only_our_errors(lambda: decode_profile_update(data))
    only_our_errors(lambda: decode_profile_snapshot(data))
    only_our_errors(lambda: token.decode_plaintext(data))
    only_our_errors(lambda: token.decrypt_conversation_token(data, VECTOR_A_KEY, VECTOR_A_INBOX))


@SETTINGS
@given(type_ids, st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_body_under_any_type(type_id: ContentTypeId, body: bytes) -> None:
    only_our_errors(lambda: decode_content(encode_envelope(type_id, body)))


@SETTINGS
@given(st.dictionaries(st.sampled_from(["inviteSlug", "profile", "metadata", "x"]), json_values, max_size=4))
def test_json_join_requests(body: dict[str, Any]) -> None:
    data = encode_envelope(JOIN_REQUEST, json.dumps(body).encode())
    only_our_errors(lambda: decode_content(data))
    for key in ("errorType", "inviteTag", "timestamp", "reason", "isTyping", "expiresAt"):
        body[key] = body.get("x")
    for type_id in (INVITE_JOIN_ERROR, INVITE_JOIN_HANDLED, TYPING_INDICATOR, EXPLODE_SETTINGS):
        encoded = encode_envelope(type_id, json.dumps(body).encode())
        only_our_errors(lambda encoded=encoded: decode_content(encoded))  # type: ignore[misc]


@SETTINGS
@given(st.text(max_size=300), inbox_ids)
def test_join_evaluation_never_raises(text: str, joiner: str) -> None:
    for request in (text, Text(text), JoinRequest(text), f"https://popup.convos.org/v2?i={text}"):
        decision = evaluate_join_request(
            request,
            creator_private_key=V["creator_identity_file"]["walletKey"],
            creator_inbox_id=V["creator_inbox_id"],
            joiner_inbox_id=joiner,
            now=NOW,
            lookup=lambda _: None,
        )
        assert isinstance(decision, JoinDecision)


# --- encode -> decode identity ---


@SETTINGS
@given(
    tags,
    st.text(min_size=1, max_size=300),
    optional_text,
    optional_text,
    optional_text,
    optional_text,
    st.one_of(st.none(), st.integers(1, 2**63 - 1)),
    st.one_of(st.none(), st.integers(1, 2**63 - 1)),
    st.booleans(),
    st.booleans(),
)
def test_invite_round_trip(
    tag: str,
    conversation_id: str,
    name: str | None,
    description: str | None,
    image_url: str | None,
    emoji: str | None,
    expires: int | None,
    conversation_expires: int | None,
    single_use: bool,
    compress: bool,
) -> None:
    slug = create_invite(
        VECTOR_A_KEY,
        VECTOR_A_INBOX,
        conversation_id,
        tag,
        name=name,
        description=description,
        image_url=image_url,
        emoji=emoji,
        expires_at=expires,
        conversation_expires_at=conversation_expires,
        single_use=single_use,
        compress=compress,
    )
    invite = parse_invite(f"https://popup.convos.org/v2?i={slug}")
    p = invite.payload
    assert (p.tag, p.name, p.description, p.image_url, p.emoji) == (tag, name, description, image_url, emoji)
    assert (p.expires_at_unix, p.conversation_expires_at_unix, p.single_use) == (
        expires,
        conversation_expires,
        single_use,
    )
    expected_id = conversation_id.lower() if _DASHED_UUID.fullmatch(conversation_id) else conversation_id
    assert decrypt_conversation_id(invite, VECTOR_A_KEY) == expected_id
    assert invite.slug == slug
    assert all(len(part) <= 300 for part in slug.split("*"))


@SETTINGS
@given(tags, optional_text, st.one_of(st.none(), st.integers(1, 2**63 - 1)), tags)
def test_app_data_round_trip(tag: str, emoji: str | None, expires: int | None, new_tag: str) -> None:
    value = new_app_data(tag, emoji=emoji, expires_at=expires)
    meta = decode_app_data(value)
    assert (meta.tag, meta.emoji, meta.expires_at_unix) == (tag, emoji, expires)
    rotated = decode_app_data(update_app_data(value + "", tag=new_tag))
    assert (rotated.tag, rotated.emoji, rotated.expires_at_unix) == (new_tag, emoji, expires)


@SETTINGS
@given(
    st.one_of(
        st.builds(Text, st.text(max_size=100)),
        st.builds(
            JoinRequest,
            st.text(min_size=1, max_size=100),
            st.one_of(st.none(), st.builds(JoinRequestProfile, optional_text, optional_text, optional_text)),
            st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
        ),
        st.builds(
            InviteJoinError,
            st.sampled_from(list(InviteJoinErrorType)),
            st.text(max_size=20),
            whole_seconds,
            st.one_of(st.none(), st.text(max_size=500)),
        ),
        st.builds(InviteJoinHandled, st.text(max_size=20), st.text(max_size=40), whole_seconds),
        st.builds(TypingIndicator, st.booleans()),
        st.builds(ExplodeSettings, whole_seconds),
        st.builds(
            ProfileUpdate,
            optional_text,
            st.one_of(st.none(), images),
            member_kinds,
            st.dictionaries(st.text(max_size=10), metadata_values, max_size=3),
        ),
        st.builds(
            ProfileSnapshot,
            st.lists(
                st.builds(
                    MemberProfile,
                    inbox_ids,
                    optional_text,
                    st.one_of(st.none(), images),
                    member_kinds,
                    st.dictionaries(st.text(max_size=10), metadata_values, max_size=3),
                ),
                max_size=4,
            ).map(tuple),
        ),
    )
)
def test_content_round_trip(value: Any) -> None:
    decoded = decode_content(encode_content(value))
    assert decoded == value
    assert encode_content(decoded) == encode_content(value)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["aa" * 32, "bb" * 32]),
            st.one_of(
                st.builds(ProfileUpdate, optional_text, st.one_of(st.none(), images)),
                st.builds(
                    ProfileSnapshot,
                    st.lists(
                        st.builds(MemberProfile, st.sampled_from(["aa" * 32, "cc" * 32]), optional_text)
                    ).map(tuple),
                ),
                st.builds(Text, st.text(max_size=5)),
            ),
            st.integers(0, 10).map(lambda s: NOW + timedelta(seconds=s)),
        ),
        max_size=12,
    )
)
def test_display_names_are_known_names(items: list[tuple[str, object, datetime]]) -> None:
    names = resolve_display_names(items)
    offered = {getattr(c, "name", None) for _, c, _ in items} | {
        m.name for _, c, _ in items if isinstance(c, ProfileSnapshot) for m in c.profiles
    }
    assert set(names.values()) <= offered
    assert all(name.strip() for name in names.values())


def test_vector_a_still_parses_after_property_runs() -> None:
    assert parse_invite(VECTOR_A_SLUG).payload.tag == "AbCdEf1234"
