"""The creator's decision on a join request, as pure functions (iOS order of checks).

A joiner asks to be added by sending, in a DM to the creator's inbox, a ``convos.org/join_request``
(its ``invite_slug``) and/or the slug as plain ``xmtp.org/text``. This module decides what to do;
the I/O layer (written on top of it) does the sending and adding. Interface:

1. The I/O layer picks candidate messages: DMs with consent ``unknown`` or ``allowed``, messages not
   sent by ourselves, of type join_request or text, within the 24 h catch-up window. It skips
   message ids already in its persisted handled-request ledger (check 1: no work, no reply).
2. :func:`verify_join_request` (checks 2-8) parses the slug and verifies it against our own key.
   It returns a :class:`JoinDecision` when the request ends here, else a
   :class:`VerifiedJoinRequest` carrying the conversation id from the token.
3. The I/O layer then gathers the conversation's :class:`ConversationState`: find the
   conversation locally, and if missing ``sync`` conversations once and retry (a sync failure:
   give up quietly, no reply); read consent; ``group.sync()``; read members and the appData tag.
   It also looks for a self-sent ``invite_join_handled`` marker in this DM for the invite's tag
   sent at or after the request's ``sentAt``.
4. :func:`decide_join` (checks 9-14 and ours) returns the final :class:`JoinDecision`.
   :func:`evaluate_join_request` runs 2-4 in one call for callers whose lookup is synchronous.
5. The I/O layer acts on :attr:`JoinDecision.action`:

   - ``IGNORE``: nothing (benign; never reply to what we could not verify);
   - ``BLOCK_SENDER``: set the DM's consent to denied (forged or mis-signed invite); no reply;
   - ``REPLY_ERROR``: send :meth:`JoinDecision.error_reply`, unless the last 50 DM messages hold
     a self-sent ``invite_join_error`` with the same tag at or after the request's ``sentAt``;
   - ``ALREADY_HANDLED``: add the message id to the ledger; no reply;
   - ``ALREADY_MEMBER``: add to the ledger and send :meth:`JoinDecision.handled_marker`;
   - ``ADMIT``: ``group.add_members([DM sender])`` (never an id from the payload). On failure,
     reply :func:`add_members_failed` (the error's type name only). On success: add to the ledger,
     record :attr:`JoinDecision.single_use_key` when set, set DM consent to allowed, send the
     marker, then send a ``profile_snapshot`` of all members into the group.

   Send the marker only if the joiner sent a typed ``join_request`` among the last 20 DM messages
   (older iOS builds need their own request to stay the DM's last message).

Where we differ from iOS (stricter): single-use invites are enforced (keyed by the SHA-256 of the
payload bytes, recorded after an admit); a locked conversation or one whose appData explode time
has passed is refused with ``conversation_expired``; high-S or recid > 3 signatures are ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..errors import InviteError
from .content import InviteJoinError, InviteJoinErrorType, InviteJoinHandled, JoinRequest, Text
from .errors import InviteArgumentError, InviteBadSignature
from .invites import SignedInvite, decrypt_conversation_id, parse_invite
from .keys import PrivateKeyLike, check_signature_shape, public_key, recover_public_key, same_public_key
from .tags import same_tag
from .timefmt import format_iso, from_unix, has_passed, require_aware

ConsentState = Literal["allowed", "unknown", "denied"]

REASON_KEY_UNAVAILABLE = "creator private key unavailable"
REASON_NOT_FOUND = "conversation not found in creator's local store after sync"
REASON_DM_TARGET = "invite target is a DM, not a group"
REASON_TAG_UNREADABLE = "creator could not read the group's invite tag"
REASON_TAG_REVOKED = "invite tag revoked or rotated since the invite was created"
REASON_LOCKED = "conversation is locked"
REASON_SINGLE_USE = "single-use invite has already been used"


class JoinAction(enum.StrEnum):
    """What the I/O layer must do; see the module docstring."""

    IGNORE = "ignore"
    BLOCK_SENDER = "block_sender"
    REPLY_ERROR = "reply_error"
    ALREADY_HANDLED = "already_handled"
    ALREADY_MEMBER = "already_member"
    ADMIT = "admit"


@dataclass(frozen=True, slots=True)
class JoinDecision:
    """The outcome for one join request. ``log_reason`` is for logs only, never sent."""

    action: JoinAction
    log_reason: str
    invite: SignedInvite | None = None
    conversation_id: str | None = None
    error_type: InviteJoinErrorType | None = None
    error_reason: str | None = None
    single_use_key: str | None = None

    @property
    def invite_tag(self) -> str | None:
        return None if self.invite is None else self.invite.payload.tag

    def error_reply(self, now: datetime) -> InviteJoinError:
        """The ``invite_join_error`` to send for a ``REPLY_ERROR`` decision."""
        if self.error_type is None or self.invite is None:
            raise InviteArgumentError("this decision has no error reply")
        return InviteJoinError(
            error_type=self.error_type,
            invite_tag=self.invite.payload.tag,
            timestamp=require_aware(now),
            reason=self.error_reason,
        )

    def handled_marker(self, handled_message_id: str, now: datetime) -> InviteJoinHandled:
        """The ``invite_join_handled`` marker for an ``ADMIT`` or ``ALREADY_MEMBER`` decision."""
        if self.invite is None:
            raise InviteArgumentError("this decision has no invite")
        return InviteJoinHandled(
            invite_tag=self.invite.payload.tag,
            handled_message_id=handled_message_id,
            timestamp=require_aware(now),
        )


@dataclass(frozen=True, slots=True)
class VerifiedJoinRequest:
    """A request whose invite is ours, correctly signed, and whose token opened."""

    invite: SignedInvite
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the I/O layer found about the target conversation (after syncing it).

    ``consent`` and ``invite_tag`` are ``None`` when they could not be read. ``members`` are
    inbox ids. ``expires_at_unix`` is the appData explode time.
    """

    invite_tag: str | None
    members: frozenset[str] = frozenset()
    is_group: bool = True
    consent: ConsentState | None = "allowed"
    locked: bool = False
    expires_at_unix: int | None = None


def _ignore(reason: str, invite: SignedInvite | None = None) -> JoinDecision:
    return JoinDecision(JoinAction.IGNORE, reason, invite=invite)


def _reply(
    error_type: InviteJoinErrorType,
    reason: str,
    invite: SignedInvite,
    conversation_id: str | None = None,
) -> JoinDecision:
    return JoinDecision(
        JoinAction.REPLY_ERROR,
        reason,
        invite=invite,
        conversation_id=conversation_id,
        error_type=error_type,
        error_reason=reason,
    )


def _slug_of(request: JoinRequest | Text | str) -> str | None:
    if isinstance(request, JoinRequest):
        return request.invite_slug
    if isinstance(request, Text):
        return request.text
    if isinstance(request, str):
        return request
    return None


def _expired_at(seconds: int) -> str:
    return f"conversation expired at {format_iso(from_unix(seconds))}"


def verify_join_request(
    request: JoinRequest | Text | str,
    *,
    creator_private_key: PrivateKeyLike | None,
    creator_inbox_id: str,
    now: datetime,
) -> VerifiedJoinRequest | JoinDecision:
    """Checks 2-8 of the iOS creator: expiry, creator id, key, signature, conversation expiry, token."""
    require_aware(now)
    slug = _slug_of(request)
    if not slug:
        return _ignore("not a join request")
    try:
        invite = parse_invite(slug)
    except InviteError:
        return _ignore("the text is not an invite")
    payload = invite.payload
    # 2. Invite expiry, before verification: silent.
    if payload.expires_at_unix is not None and has_passed(payload.expires_at_unix, now):
        return _ignore("invite expired", invite)
    # 3-4. The invite must be ours (parse_invite already refused an empty creator id).
    if payload.creator_inbox_id != creator_inbox_id.lower():
        return _ignore("invite made by another creator", invite)
    # 5. The key: iOS replies generic_failure when it is unavailable.
    if creator_private_key is None:
        return _reply(InviteJoinErrorType.GENERIC_FAILURE, REASON_KEY_UNAVAILABLE, invite)
    try:
        own_key = public_key(creator_private_key)
    except InviteError:
        return _ignore("the creator key is unusable", invite)
    # 6. Signature: encoding problems are benign; a signature by another key is a forgery.
    try:
        check_signature_shape(invite.signature)
    except InviteBadSignature as exc:
        return _ignore(f"malformed signature: {exc.detail}", invite)
    try:
        signer = recover_public_key(invite.digest, invite.signature)
    except InviteBadSignature:
        return JoinDecision(
            JoinAction.BLOCK_SENDER, "no signer recoverable from the signature", invite=invite
        )
    if not same_public_key(signer, own_key):
        return JoinDecision(JoinAction.BLOCK_SENDER, "invite not signed by our key", invite=invite)
    # 7. Conversation expiry, only now that the invite is verified.
    if payload.conversation_expires_at_unix is not None and has_passed(
        payload.conversation_expires_at_unix, now
    ):
        reason = _expired_at(payload.conversation_expires_at_unix)
        return _reply(InviteJoinErrorType.CONVERSATION_EXPIRED, reason, invite)
    # 8. Token.
    try:
        conversation_id = decrypt_conversation_id(invite, creator_private_key)
    except InviteError:
        return _ignore("the conversation token does not decrypt", invite)
    return VerifiedJoinRequest(invite=invite, conversation_id=conversation_id)


def decide_join(
    verified: VerifiedJoinRequest,
    state: ConversationState | None,
    *,
    joiner_inbox_id: str,
    creator_inbox_id: str,
    now: datetime,
    handled_marker_seen: bool = False,
    used_single_use: Collection[str] = frozenset(),
) -> JoinDecision:
    """Checks 9-14 of the iOS creator, then ours; ``state`` is None when the conversation was not found."""
    require_aware(now)
    invite, conversation_id = verified.invite, verified.conversation_id
    joiner = joiner_inbox_id.lower()
    if joiner == creator_inbox_id.lower():
        return _ignore("the request comes from ourselves", invite)
    # 9.
    if state is None:
        return _reply(InviteJoinErrorType.CONVERSATION_NOT_FOUND, REASON_NOT_FOUND, invite, conversation_id)
    # 10. Only "denied" refuses: secondary installations start with "unknown".
    if state.consent is None:
        return JoinDecision(
            JoinAction.IGNORE,
            "could not read the group's consent",
            invite=invite,
            conversation_id=conversation_id,
        )
    if state.consent == "denied":
        reason = f"creator consent state is '{state.consent}'"
        return _reply(InviteJoinErrorType.CONSENT_NOT_ALLOWED, reason, invite, conversation_id)
    # 11.
    if not state.is_group:
        return _reply(InviteJoinErrorType.GENERIC_FAILURE, REASON_DM_TARGET, invite, conversation_id)
    # 12.
    if handled_marker_seen:
        return JoinDecision(
            JoinAction.ALREADY_HANDLED,
            "a handled marker exists",
            invite=invite,
            conversation_id=conversation_id,
        )
    # 13.
    if joiner in {member.lower() for member in state.members}:
        return JoinDecision(
            JoinAction.ALREADY_MEMBER,
            "the joiner is already a member",
            invite=invite,
            conversation_id=conversation_id,
        )
    # 14.
    if state.invite_tag is None:
        return _reply(
            InviteJoinErrorType.CONVERSATION_EXPIRED, REASON_TAG_UNREADABLE, invite, conversation_id
        )
    if not same_tag(invite.payload.tag, state.invite_tag):
        return _reply(InviteJoinErrorType.CONVERSATION_EXPIRED, REASON_TAG_REVOKED, invite, conversation_id)
    # Ours: locked, exploded, single use.
    if state.locked:
        return _reply(InviteJoinErrorType.CONVERSATION_EXPIRED, REASON_LOCKED, invite, conversation_id)
    if state.expires_at_unix is not None and has_passed(state.expires_at_unix, now):
        reason = _expired_at(state.expires_at_unix)
        return _reply(InviteJoinErrorType.CONVERSATION_EXPIRED, reason, invite, conversation_id)
    single_use_key = invite.digest.hex() if invite.payload.single_use else None
    if single_use_key is not None and single_use_key in used_single_use:
        return _reply(InviteJoinErrorType.CONVERSATION_EXPIRED, REASON_SINGLE_USE, invite, conversation_id)
    # 15.
    return JoinDecision(
        JoinAction.ADMIT,
        "admit",
        invite=invite,
        conversation_id=conversation_id,
        single_use_key=single_use_key,
    )


def evaluate_join_request(
    request: JoinRequest | Text | str,
    *,
    creator_private_key: PrivateKeyLike | None,
    creator_inbox_id: str,
    joiner_inbox_id: str,
    now: datetime,
    lookup: Callable[[str], ConversationState | None],
    used_single_use: Collection[str] = frozenset(),
    handled_tags: Collection[str] = frozenset(),
) -> JoinDecision:
    """:func:`verify_join_request`, then ``lookup(conversation_id)``, then :func:`decide_join`.

    ``handled_tags``: the invite tags of self-sent ``invite_join_handled`` markers in this DM sent
    at or after the request's ``sentAt``.
    """
    verified = verify_join_request(
        request, creator_private_key=creator_private_key, creator_inbox_id=creator_inbox_id, now=now
    )
    if isinstance(verified, JoinDecision):
        return verified
    return decide_join(
        verified,
        lookup(verified.conversation_id),
        joiner_inbox_id=joiner_inbox_id,
        creator_inbox_id=creator_inbox_id,
        now=now,
        handled_marker_seen=verified.invite.payload.tag in handled_tags,
        used_single_use=used_single_use,
    )


def add_members_failed(decision: JoinDecision, error_type_name: str) -> JoinDecision:
    """The ``REPLY_ERROR`` decision after ``add_members`` failed (pass the error's type name only)."""
    if decision.invite is None:
        raise InviteArgumentError("this decision has no invite")
    return _reply(
        InviteJoinErrorType.GENERIC_FAILURE,
        f"addMembers failed ({error_type_name})",
        decision.invite,
        decision.conversation_id,
    )
