"""The joiner's side of the join flow, with I/O (protocol reference §10.1).

:func:`request_join` decodes and checks the invite, opens a DM with its creator and sends a typed
``join_request`` plus the slug as plain text (for older creators). :func:`wait_for_join` then
waits for the welcome, recognises the group by its invite tag (not "the first new group"), and
turns the creator's ``invite_join_error`` replies into typed outcomes. A wait that times out is
``pending``: a later :func:`wait_for_join` (for example at the next ``run``) picks it up without
sending the request again.

Where this differs from the iOS joiner (on purpose): it sends the plain-text slug too (the CLI's
behaviour, for older creators); it recognises the group by tag among the groups it is an
*active* member of; and it takes an ``invite_join_error`` as the answer only when it was sent at
or after its newest typed request for the invite (an earlier refusal with the same tag does not
end a fresh attempt). It never resends on its own.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..convos import content as cc
from ..convos import profiles as cp
from ..convos.invites import (
    InviteSigner,
    SignedInvite,
    check_signer_is_creator,
    parse_invite,
    recover_signer,
    verify_invite,
)
from ..convos.metadata import decode_app_data
from ..convos.tags import same_tag
from ..errors import ConvosError
from ..xmtp import BackendPool, ConversationKind, XmtpClient, XmtpConversation

log = logging.getLogger("openclaw_convos.joinflow.joiner")


class JoinStatus(enum.StrEnum):
    JOINED = "joined"
    PENDING = "pending"  # no answer yet: the creator has to approve (or is offline)
    REFUSED = "refused"  # the creator answered with invite_join_error


@dataclass(frozen=True, slots=True)
class JoinResult:
    status: JoinStatus
    invite: SignedInvite
    conversation_id: str | None = None
    error: cc.InviteJoinError | None = None

    @property
    def message(self) -> str:
        """One line for a person."""
        name = f" “{self.invite.payload.name}”" if self.invite.payload.name else ""
        if self.status is JoinStatus.JOINED:
            return f"Joined the conversation{name} ({self.conversation_id})."
        if self.status is JoinStatus.PENDING:
            return (
                f"Join request sent for{name or ' the conversation'}. The conversation's creator must approve it "
                "in the Convos app; `openclaw-convos run` finishes the join once they do."
            )
        assert self.error is not None
        if self.error.error_type is cc.InviteJoinErrorType.GENERIC_FAILURE:
            return "The creator could not add us (Failed to join conversation). Try again, or ask for a new invite."
        return (
            "The creator refused the invite: this conversation is no longer available (the invite was revoked, "
            "the conversation is locked or expired, or a single-use invite was already used). Ask for a new invite."
        )


def check_invite(text: str, *, now: datetime, own_inbox_id: str | None = None) -> SignedInvite:
    """Parse and check an invite as a joiner would (raises a typed InviteError saying why not)."""
    invite = parse_invite(text)
    verify_invite(invite, now, own_inbox_id=own_inbox_id)
    return invite


async def verify_creator(
    pool: BackendPool, invite: SignedInvite, *, network: str, timeout: float = 10.0
) -> InviteSigner:
    """Check with the node that the invite's signer is an address of its creator's inbox.

    The creator inbox's association state comes from the node's identity API (libxmtp verifies
    the inbox's signed update log itself). Raises ``InviteSignerNotCreator`` (altered or forged),
    ``InviteCreatorUnknown`` (no such inbox on ``network``), or ``NodeUnreachable``.
    """
    signer = recover_signer(invite)
    state = await pool.inbox_state(invite.payload.creator_inbox_id, timeout=timeout)
    check_signer_is_creator(invite, signer, None if state is None else state.addresses, network=network)
    return signer


async def request_join(
    client: XmtpClient,
    invite: SignedInvite,
    *,
    profile_name: str | None = None,
    agent: bool = True,
    now: datetime | None = None,
) -> XmtpConversation:
    """Send the join request to the invite's creator; returns the DM it went into."""
    verify_invite(invite, now or datetime.now(UTC), own_inbox_id=client.inbox_id)
    dm = await client.find_or_create_dm(invite.payload.creator_inbox_id)
    profile = (
        cc.JoinRequestProfile(name=profile_name, member_kind="agent" if agent else None)
        if profile_name
        else None
    )
    request = cc.JoinRequest(invite_slug=invite.slug.replace("*", ""), profile=profile)
    await dm.send(cc.encode_content(request), push=True)
    await dm.send(cc.encode_text(invite.slug.replace("*", "")), push=True)
    return dm


def _find_group(groups: list[XmtpConversation], tag: str) -> XmtpConversation | None:
    """The group we are an active member of whose appData tag is ``tag``.

    A group we were removed from keeps its tag locally but is inactive: it does not count, so a
    removed member who asks again waits for the new add instead of "joining" the old copy.
    """
    for group in groups:
        if group.kind is not ConversationKind.GROUP or not group.is_active():
            continue
        try:
            if same_tag(decode_app_data(group.app_data).tag, tag):
                return group
        except ConvosError:
            continue
    return None


def _requested_tag(content: cc.DecodedContent) -> str | None:
    """The invite tag a join request of ours (typed or plain text) asked for."""
    if isinstance(content, cc.JoinRequest):
        slug = content.invite_slug
    elif isinstance(content, cc.Text):
        slug = content.text.strip()
    else:
        return None
    try:
        return parse_invite(slug).payload.tag
    except ConvosError:
        return None


async def _creator_error(
    client: XmtpClient, invite: SignedInvite, since_ns: int
) -> cc.InviteJoinError | None:
    """The creator's ``invite_join_error`` for our latest request with this invite, if any.

    Only a reply sent at or after our newest typed request for the invite's tag (else our newest
    plain-text one) answers it: a refusal of an earlier attempt does not end a fresh one.
    """
    creator = invite.payload.creator_inbox_id
    own = client.inbox_id.lower()
    tag = invite.payload.tag
    dm = None
    for conversation in await client.list_conversations():
        if conversation.dm_peer_inbox_id == creator:
            dm = conversation
            break
    if dm is None:
        return None
    try:
        await dm.sync()
    except ConvosError as exc:
        log.info("could not sync the DM with the creator: %s", exc)
    errors: list[tuple[int, cc.InviteJoinError]] = []
    attempt_ns: int | None = None
    text_ns: int | None = None
    for message in await dm.messages(after_ns=since_ns, descending=True, limit=50, application_only=True):
        try:
            decoded = cc.decode_content(message.content)
        except ConvosError:
            continue
        sender = message.sender_inbox_id.lower()
        if sender == creator:
            if isinstance(decoded, cc.InviteJoinError) and same_tag(decoded.invite_tag, tag):
                errors.append((message.sent_at_ns, decoded))
        elif sender == own:
            requested = _requested_tag(decoded)
            if requested is None or not same_tag(requested, tag):
                continue
            if isinstance(decoded, cc.JoinRequest):
                attempt_ns = message.sent_at_ns
                break
            if text_ns is None:
                text_ns = message.sent_at_ns
    threshold = attempt_ns if attempt_ns is not None else text_ns
    for sent_at_ns, error in errors:
        if threshold is None or sent_at_ns >= threshold:
            return error
    return None


async def wait_for_join(
    client: XmtpClient,
    invite: SignedInvite,
    *,
    timeout: float = 60.0,
    poll: float = 1.0,
    since_ns: int = 0,
    profile_name: str | None = None,
    agent: bool = True,
    progress: Callable[[float], None] | None = None,
) -> JoinResult:
    """Wait until we are in the invite's group, the creator refuses, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        try:
            await client.sync_all()
        except ConvosError as exc:
            log.info("sync while waiting to join failed: %s", exc)
        group = _find_group(await client.list_conversations(), invite.payload.tag)
        if group is not None:
            if profile_name:
                await group.send(
                    cp.profile_update_content(
                        cp.ProfileUpdate(
                            name=profile_name,
                            member_kind=cp.MemberKind.AGENT if agent else cp.MemberKind.UNSPECIFIED,
                        )
                    ),
                    push=False,
                )
            return JoinResult(JoinStatus.JOINED, invite, conversation_id=group.id)
        error = await _creator_error(client, invite, since_ns)
        if error is not None:
            return JoinResult(JoinStatus.REFUSED, invite, error=error)
        if time.monotonic() >= deadline:
            return JoinResult(JoinStatus.PENDING, invite)
        if progress is not None:
            progress(time.monotonic() - started)
        await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
