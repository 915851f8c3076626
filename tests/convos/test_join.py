"""The creator's decision on join requests, check by check in the iOS order."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import coincurve
import pytest

from openclaw_convos.convos.content import InviteJoinErrorType, JoinRequest, Text
from openclaw_convos.convos.errors import InviteArgumentError
from openclaw_convos.convos.invites import create_invite, encode_slug, parse_invite
from openclaw_convos.convos.join import (
    REASON_DM_TARGET,
    REASON_KEY_UNAVAILABLE,
    REASON_LOCKED,
    REASON_NOT_FOUND,
    REASON_SINGLE_USE,
    REASON_TAG_REVOKED,
    REASON_TAG_UNREADABLE,
    ConversationState,
    JoinAction,
    JoinDecision,
    VerifiedJoinRequest,
    add_members_failed,
    decide_join,
    evaluate_join_request,
    verify_join_request,
)
from openclaw_convos.convos.keys import sign_digest
from openclaw_convos.convos.proto import invite_pb2
from openclaw_convos.convos.token import encrypt_conversation_token

from .helpers import VECTOR_A_SLUG, vector

V = vector("invite-01-create-name-description")
KEY = V["creator_identity_file"]["walletKey"]
INBOX = V["creator_inbox_id"]
CONVERSATION = V["conversation_id"]
TAG = "0tUO5RKp20"
JOINER = "dd" * 32
OTHER_KEY = "0x" + "22" * 32
NOW = datetime(2026, 11, 24, 8, 26, tzinfo=UTC)
GOOD = ConversationState(invite_tag=TAG, members=frozenset({INBOX}))


def _verify(
    request: JoinRequest | Text | str, key: str | None = KEY, now: datetime = NOW
) -> VerifiedJoinRequest | JoinDecision:
    return verify_join_request(request, creator_private_key=key, creator_inbox_id=INBOX, now=now)


def _decision(request: JoinRequest | Text | str, key: str | None = KEY, now: datetime = NOW) -> JoinDecision:
    result = _verify(request, key, now)
    assert isinstance(result, JoinDecision), result
    return result


def _verified(slug: str = V["slug"]) -> VerifiedJoinRequest:
    result = _verify(JoinRequest(slug))
    assert isinstance(result, VerifiedJoinRequest), result
    return result


def _decide(state: ConversationState | None, slug: str = V["slug"], **kwargs: object) -> JoinDecision:
    return decide_join(
        _verified(slug),
        state,
        joiner_inbox_id=kwargs.pop("joiner", JOINER),  # type: ignore[arg-type]
        creator_inbox_id=INBOX,
        now=kwargs.pop("now", NOW),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def _signed(payload: bytes, key: str = KEY) -> str:
    signature = sign_digest(key, hashlib.sha256(payload).digest())
    return encode_slug(invite_pb2.SignedInvite(payload=payload, signature=signature).SerializeToString())


def _payload_of(slug: str) -> invite_pb2.InvitePayload:
    message = invite_pb2.InvitePayload()
    message.ParseFromString(parse_invite(slug).payload_bytes)
    return message


# --- phase 1: checks 2-8 ---


def test_valid_request_verifies() -> None:
    for request in (JoinRequest(V["slug"]), Text(V["slug"]), V["url"], Text(f"  {V['url']}\n")):
        result = _verify(request)
        assert isinstance(result, VerifiedJoinRequest)
        assert result.conversation_id == CONVERSATION


@pytest.mark.parametrize("request_", [Text("hello there"), JoinRequest(""), "0x" + "ab" * 32, Text("")])
def test_non_invites_are_ignored(request_: JoinRequest | Text | str) -> None:
    decision = _decision(request_)
    assert decision.action is JoinAction.IGNORE
    assert decision.invite is None


def test_expired_invite_ignored_before_verification() -> None:
    expired = vector("invite-06-already-expired")
    later = NOW + timedelta(hours=1)
    assert isinstance(_verify(JoinRequest(expired["slug"])), VerifiedJoinRequest)  # before its expiry
    decision = _decision(JoinRequest(expired["slug"]), now=later)
    assert (decision.action, decision.log_reason) == (JoinAction.IGNORE, "invite expired")
    # Even when forged: no reply, no block.
    message = _payload_of(expired["slug"])
    message.name = "forged"
    forged = _decision(_signed(message.SerializeToString(), OTHER_KEY), now=later)
    assert forged.action is JoinAction.IGNORE


def test_other_creators_invite_ignored() -> None:
    decision = _decision(VECTOR_A_SLUG)
    assert (decision.action, decision.log_reason) == (JoinAction.IGNORE, "invite made by another creator")


def test_missing_key_replies_generic_failure() -> None:
    decision = _decision(V["slug"], key=None)
    assert decision.action is JoinAction.REPLY_ERROR
    reply = decision.error_reply(NOW)
    assert (reply.error_type, reply.reason, reply.invite_tag) == (
        InviteJoinErrorType.GENERIC_FAILURE,
        REASON_KEY_UNAVAILABLE,
        TAG,
    )


def test_forged_signature_blocks_sender() -> None:
    message = _payload_of(V["slug"])
    message.name = "Evil"
    decision = _decision(_signed(message.SerializeToString(), OTHER_KEY))
    assert decision.action is JoinAction.BLOCK_SENDER
    # A tampered payload with the original signature recovers another key: also blocked.
    original = parse_invite(V["slug"])
    tampered = encode_slug(
        invite_pb2.SignedInvite(
            payload=message.SerializeToString(), signature=original.signature
        ).SerializeToString()
    )
    assert _decision(tampered).action is JoinAction.BLOCK_SENDER


def _unrecoverable_r() -> bytes:
    digest = parse_invite(V["slug"]).digest
    for x in range(1, 1000):
        r = x.to_bytes(32, "big")
        try:
            coincurve.PublicKey.from_signature_and_message(
                r + (1).to_bytes(32, "big") + b"\x00", digest, hasher=None
            )
        except ValueError:
            return r
    raise AssertionError("no unrecoverable r found")


def test_unrecoverable_signature_blocks_sender() -> None:
    original = parse_invite(V["slug"])
    signature = _unrecoverable_r() + (1).to_bytes(32, "big") + b"\x00"
    slug = encode_slug(
        invite_pb2.SignedInvite(payload=original.payload_bytes, signature=signature).SerializeToString()
    )
    assert _decision(slug).action is JoinAction.BLOCK_SENDER


def test_malformed_signature_is_benign() -> None:
    original = parse_invite(V["slug"])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(original.signature[32:64], "big")
    for signature in (
        original.signature[:64] + b"\x1b",  # recid 27
        original.signature[:32] + (n - s).to_bytes(32, "big") + bytes([original.signature[64] ^ 1]),  # high S
    ):
        slug = encode_slug(
            invite_pb2.SignedInvite(payload=original.payload_bytes, signature=signature).SerializeToString()
        )
        assert _decision(slug).action is JoinAction.IGNORE


def test_conversation_expired_replies_after_verification() -> None:
    slug = create_invite(KEY, INBOX, CONVERSATION, TAG, conversation_expires_at=NOW - timedelta(seconds=1))
    decision = _decision(slug)
    assert decision.action is JoinAction.REPLY_ERROR
    assert decision.error_type is InviteJoinErrorType.CONVERSATION_EXPIRED
    assert (
        decision.error_reason
        == f"conversation expired at {(NOW - timedelta(seconds=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    # A forged one with the same expiry is blocked, never answered.
    message = _payload_of(slug)
    assert _decision(_signed(message.SerializeToString(), OTHER_KEY)).action is JoinAction.BLOCK_SENDER


def test_undecryptable_token_ignored() -> None:
    message = _payload_of(V["slug"])
    message.conversationToken = encrypt_conversation_token(CONVERSATION, OTHER_KEY, INBOX)
    decision = _decision(_signed(message.SerializeToString()))
    assert (decision.action, decision.log_reason) == (
        JoinAction.IGNORE,
        "the conversation token does not decrypt",
    )


def test_unusable_key_ignored() -> None:
    assert _decision(V["slug"], key="0x1234").action is JoinAction.IGNORE


# --- phase 2: checks 9-14 and ours ---


def test_admit() -> None:
    decision = _decide(GOOD)
    assert decision.action is JoinAction.ADMIT
    assert decision.conversation_id == CONVERSATION
    assert decision.single_use_key is None
    marker = decision.handled_marker("message-1", NOW)
    assert (marker.invite_tag, marker.handled_message_id, marker.timestamp) == (TAG, "message-1", NOW)
    with pytest.raises(InviteArgumentError):
        decision.error_reply(NOW)


@pytest.mark.parametrize(
    ("state", "error_type", "reason"),
    [
        (None, InviteJoinErrorType.CONVERSATION_NOT_FOUND, REASON_NOT_FOUND),
        (
            ConversationState(invite_tag=TAG, consent="denied"),
            InviteJoinErrorType.CONSENT_NOT_ALLOWED,
            "creator consent state is 'denied'",
        ),
        (
            ConversationState(invite_tag=TAG, is_group=False),
            InviteJoinErrorType.GENERIC_FAILURE,
            REASON_DM_TARGET,
        ),
        (ConversationState(invite_tag=None), InviteJoinErrorType.CONVERSATION_EXPIRED, REASON_TAG_UNREADABLE),
        (
            ConversationState(invite_tag="Rotated123"),
            InviteJoinErrorType.CONVERSATION_EXPIRED,
            REASON_TAG_REVOKED,
        ),
        (
            ConversationState(invite_tag=TAG, locked=True),
            InviteJoinErrorType.CONVERSATION_EXPIRED,
            REASON_LOCKED,
        ),
        (
            ConversationState(invite_tag=TAG, expires_at_unix=int(NOW.timestamp()) - 60),
            InviteJoinErrorType.CONVERSATION_EXPIRED,
            "conversation expired at 2026-11-24T08:25:00Z",
        ),
    ],
)
def test_error_replies(state: ConversationState | None, error_type: InviteJoinErrorType, reason: str) -> None:
    decision = _decide(state)
    assert decision.action is JoinAction.REPLY_ERROR
    reply = decision.error_reply(NOW)
    assert (reply.error_type, reply.reason, reply.invite_tag, reply.timestamp) == (
        error_type,
        reason,
        TAG,
        NOW,
    )


def test_unknown_consent_is_allowed_and_unreadable_is_ignored() -> None:
    assert _decide(ConversationState(invite_tag=TAG, consent="unknown")).action is JoinAction.ADMIT
    assert _decide(ConversationState(invite_tag=TAG, consent=None)).action is JoinAction.IGNORE


def test_marker_then_membership_order() -> None:
    member = ConversationState(invite_tag="Rotated123", members=frozenset({JOINER.upper()}))
    assert _decide(member, handled_marker_seen=True).action is JoinAction.ALREADY_HANDLED
    # Already a member wins over a rotated tag (no spurious error).
    decision = _decide(member)
    assert decision.action is JoinAction.ALREADY_MEMBER
    assert decision.handled_marker("m", NOW).invite_tag == TAG


def test_request_from_ourselves_ignored() -> None:
    assert _decide(GOOD, joiner=INBOX.upper()).action is JoinAction.IGNORE


def test_single_use_enforced() -> None:
    slug = vector("invite-04-single-use")["slug"]
    first = _decide(GOOD, slug)
    assert first.action is JoinAction.ADMIT
    assert first.single_use_key == parse_invite(slug).digest.hex()
    used = {first.single_use_key}
    again = _decide(GOOD, slug, joiner="ee" * 32, used_single_use=used)
    assert (again.action, again.error_reason) == (JoinAction.REPLY_ERROR, REASON_SINGLE_USE)
    # The joiner who used it retrying is simply already a member.
    joined = ConversationState(invite_tag=TAG, members=frozenset({JOINER}))
    assert _decide(joined, slug, used_single_use=used).action is JoinAction.ALREADY_MEMBER
    # Reusable invites ignore the ledger.
    assert _decide(GOOD, used_single_use=used).action is JoinAction.ADMIT


def test_add_members_failed() -> None:
    decision = add_members_failed(_decide(GOOD), "XmtpError")
    assert decision.action is JoinAction.REPLY_ERROR
    reply = decision.error_reply(NOW)
    assert (reply.error_type, reply.reason) == (
        InviteJoinErrorType.GENERIC_FAILURE,
        "addMembers failed (XmtpError)",
    )
    with pytest.raises(InviteArgumentError):
        add_members_failed(JoinDecision(JoinAction.IGNORE, "x"), "E")


def test_evaluate_in_one_call() -> None:
    seen: list[str] = []

    def lookup(conversation_id: str) -> ConversationState | None:
        seen.append(conversation_id)
        return GOOD

    common: dict[str, Any] = {
        "creator_private_key": KEY,
        "creator_inbox_id": INBOX,
        "joiner_inbox_id": JOINER,
        "now": NOW,
    }
    decision = evaluate_join_request(JoinRequest(V["slug"]), lookup=lookup, **common)
    assert decision.action is JoinAction.ADMIT and seen == [CONVERSATION]
    handled = evaluate_join_request(Text(V["slug"]), lookup=lookup, handled_tags={TAG}, **common)
    assert handled.action is JoinAction.ALREADY_HANDLED
    ignored = evaluate_join_request(Text("hi"), lookup=lookup, **common)
    assert ignored.action is JoinAction.IGNORE and len(seen) == 2
