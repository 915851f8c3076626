"""The creator's side of the join flow, with I/O: invites out, join requests in, members added.

The decisions are pure (:mod:`.join`); this module gathers what they need from libxmtp through
:mod:`openclaw_convos.xmtp` and carries them out, in the iOS order (protocol reference §10.2):
ledger, verification, conversation state, membership, tag, add, marker, profile snapshot, DM
consent. It also creates invites, and revokes (rotates the tag) and locks conversations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..errors import ConvosError
from ..xmtp import XmtpClient, XmtpConversation, XmtpMessage
from . import content as cc
from . import profiles as cp
from .invites import create_invite
from .join import (
    ConversationState,
    JoinAction,
    JoinDecision,
    add_members_failed,
    decide_join,
    verify_join_request,
)
from .links import Env, invite_url
from .metadata import decode_app_data, new_app_data, update_app_data
from .tags import new_invite_tag, same_tag

log = logging.getLogger("openclaw_convos.convos.creator")

_ERROR_DEDUPE_WINDOW = 50
_TYPED_REQUEST_WINDOW = 20


class JoinLedger(Protocol):
    """Persisted creator state: handled join requests, and single-use invites already used."""

    async def join_request_handled(self, message_id: str) -> str | None: ...
    async def mark_join_request(self, message_id: str, outcome: str) -> None: ...
    async def invite_used_by(self, invite_key: str) -> str | None: ...
    async def use_invite(self, invite_key: str, conversation_id: str, inbox_id: str) -> bool: ...


@dataclass
class MemoryLedger:
    """A :class:`JoinLedger` in memory (for simulated users and tests)."""

    handled: dict[str, str] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)

    async def join_request_handled(self, message_id: str) -> str | None:
        return self.handled.get(message_id)

    async def mark_join_request(self, message_id: str, outcome: str) -> None:
        self.handled[message_id] = outcome

    async def invite_used_by(self, invite_key: str) -> str | None:
        return self.used.get(invite_key)

    async def use_invite(self, invite_key: str, conversation_id: str, inbox_id: str) -> bool:
        current = self.used.setdefault(invite_key, inbox_id)
        return current == inbox_id


@dataclass(frozen=True, slots=True)
class JoinRequestMessage:
    """A join request as it arrived: in ``dm``, from ``sender_inbox_id``."""

    message_id: str
    sender_inbox_id: str
    sent_at_ns: int
    request: cc.JoinRequest | str  # typed request, or the slug sent as plain text


@dataclass(frozen=True, slots=True)
class JoinOutcome:
    decision: JoinDecision
    added: bool = False
    replied: bool = False


async def create_conversation(
    client: XmtpClient,
    *,
    name: str | None = None,
    description: str | None = None,
    image_url: str | None = None,
    emoji: str | None = None,
    profile_name: str | None = None,
) -> XmtpConversation:
    """A new group we administer, with a fresh invite tag in its appData and our profile."""
    conversation = await client.create_group(
        name=name,
        description=description,
        image_url=image_url,
        app_data=new_app_data(new_invite_tag(), emoji=emoji),
    )
    if profile_name:
        await conversation.send(
            cp.profile_update_content(cp.ProfileUpdate(name=profile_name, member_kind=cp.MemberKind.AGENT)),
            push=False,
        )
    return conversation


def invite_for(
    client: XmtpClient,
    conversation: XmtpConversation,
    *,
    env: Env = "production",
    name: str | None = None,
    description: str | None = None,
    image_url: str | None = None,
    emoji: str | None = None,
    expires_at: datetime | int | None = None,
    conversation_expires_at: datetime | int | None = None,
    single_use: bool = False,
) -> tuple[str, str]:
    """A signed invite for ``conversation`` (with its current tag): ``(slug, url)``."""
    meta = decode_app_data(conversation.app_data)
    slug = create_invite(
        client.identity.keys.wallet_key,
        client.inbox_id,
        conversation.id,
        meta.tag,
        name=name if name is not None else (conversation.name or None),
        description=description if description is not None else (conversation.description or None),
        image_url=image_url if image_url is not None else (conversation.image_url or None),
        emoji=emoji if emoji is not None else meta.emoji,
        expires_at=expires_at,
        conversation_expires_at=conversation_expires_at,
        single_use=single_use,
    )
    return slug, invite_url(slug, env if env != "local" else "dev")


async def revoke_invites(conversation: XmtpConversation) -> str:
    """Rotate the invite tag: every outstanding invite stops working. Returns the new tag."""
    tag = new_invite_tag()
    await conversation.set_app_data(update_app_data(conversation.app_data, tag=tag))
    return tag


async def lock(conversation: XmtpConversation, *, locked: bool = True) -> None:
    """Lock (rotate the tag, then deny adds) or unlock (allow adds again; old invites stay dead)."""
    if locked:
        await revoke_invites(conversation)
    await conversation.set_add_member_policy(allow=not locked)


def _decoded(message: XmtpMessage) -> cc.DecodedContent | None:
    try:
        return cc.decode_content(message.content)
    except ConvosError:
        return None


class Creator:
    """Processes join requests for the conversations ``client`` created, like the iOS creator."""

    def __init__(
        self,
        client: XmtpClient,
        ledger: JoinLedger,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_admit: Callable[[str, str], None] | None = None,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self._clock = clock
        self._on_admit = on_admit

    async def process(self, dm: XmtpConversation, request: JoinRequestMessage) -> JoinOutcome:
        """Decide on one join request and act on the decision."""
        if await self.ledger.join_request_handled(request.message_id) is not None:
            return JoinOutcome(JoinDecision(JoinAction.ALREADY_HANDLED, "in the handled ledger"))
        now = self._clock()
        verified = verify_join_request(
            request.request,
            creator_private_key=self.client.identity.keys.wallet_key,
            creator_inbox_id=self.client.inbox_id,
            now=now,
        )
        if isinstance(verified, JoinDecision):
            return await self._act(dm, request, verified, None)
        conversation = self.client.conversation(verified.conversation_id)
        if conversation is None:
            try:
                await self.client.sync_welcomes()
            except ConvosError as exc:
                log.info("sync for join request %s failed: %s", request.message_id, exc)
                return JoinOutcome(JoinDecision(JoinAction.IGNORE, "sync failed", invite=verified.invite))
            conversation = self.client.conversation(verified.conversation_id)
        state = await self._state(conversation) if conversation is not None else None
        single_use_key = verified.invite.digest.hex() if verified.invite.payload.single_use else None
        used: set[str] = set()
        if single_use_key is not None:
            user = await self.ledger.invite_used_by(single_use_key)
            if user is not None and user != request.sender_inbox_id:
                used.add(single_use_key)
        handled_seen = await self._marker_seen(dm, verified.invite.payload.tag, request.sent_at_ns)
        decision = decide_join(
            verified,
            state,
            joiner_inbox_id=request.sender_inbox_id,
            creator_inbox_id=self.client.inbox_id,
            now=now,
            handled_marker_seen=handled_seen,
            used_single_use=used,
        )
        return await self._act(dm, request, decision, conversation)

    async def _state(self, conversation: XmtpConversation) -> ConversationState | None:
        try:
            await conversation.sync()
        except ConvosError as exc:
            log.info("could not sync %s: %s", conversation.id, exc)
        consent = conversation.consent()
        if conversation.dm_peer_inbox_id is not None:
            return ConversationState(invite_tag=None, is_group=False, consent=consent)  # type: ignore[arg-type]
        try:
            meta = decode_app_data(conversation.app_data)
            tag: str | None = meta.tag or None
            expires = meta.expires_at_unix
        except ConvosError:
            tag, expires = None, None
        members = frozenset(m.inbox_id for m in await conversation.members())
        return ConversationState(
            invite_tag=tag,
            members=members,
            is_group=True,
            consent=consent,  # type: ignore[arg-type]
            locked=conversation.add_member_policy() == "deny",
            expires_at_unix=expires,
        )

    async def _recent(self, dm: XmtpConversation, limit: int) -> list[XmtpMessage]:
        return await dm.messages(limit=limit, descending=True, application_only=True)

    async def _marker_seen(self, dm: XmtpConversation, tag: str, since_ns: int) -> bool:
        for message in await self._recent(dm, _ERROR_DEDUPE_WINDOW):
            if message.sender_inbox_id != self.client.inbox_id or message.sent_at_ns < since_ns:
                continue
            decoded = _decoded(message)
            if isinstance(decoded, cc.InviteJoinHandled) and same_tag(decoded.invite_tag, tag):
                return True
        return False

    async def _error_already_sent(self, dm: XmtpConversation, tag: str, since_ns: int) -> bool:
        for message in await self._recent(dm, _ERROR_DEDUPE_WINDOW):
            if message.sender_inbox_id != self.client.inbox_id or message.sent_at_ns < since_ns:
                continue
            decoded = _decoded(message)
            if isinstance(decoded, cc.InviteJoinError) and same_tag(decoded.invite_tag, tag):
                return True
        return False

    async def _typed_request_recent(self, dm: XmtpConversation, joiner: str) -> bool:
        for message in await self._recent(dm, _TYPED_REQUEST_WINDOW):
            if message.sender_inbox_id == joiner and isinstance(_decoded(message), cc.JoinRequest):
                return True
        return False

    async def _send_marker(
        self, dm: XmtpConversation, decision: JoinDecision, request: JoinRequestMessage
    ) -> None:
        if await self._typed_request_recent(dm, request.sender_inbox_id):
            marker = decision.handled_marker(request.message_id, self._clock())
            await dm.send(cc.encode_content(marker), push=False)

    async def _act(
        self,
        dm: XmtpConversation,
        request: JoinRequestMessage,
        decision: JoinDecision,
        conversation: XmtpConversation | None,
    ) -> JoinOutcome:
        action = decision.action
        log.info(
            "join request %s from %s: %s (%s)",
            request.message_id,
            request.sender_inbox_id[:12],
            action,
            decision.log_reason,
        )
        if action is JoinAction.BLOCK_SENDER:
            dm.set_consent("denied")
        elif action is JoinAction.REPLY_ERROR:
            replied = await self._reply_error(dm, request, decision)
            await self.ledger.mark_join_request(request.message_id, action.value)
            return JoinOutcome(decision, replied=replied)
        elif action is JoinAction.ALREADY_MEMBER:
            await self._send_marker(dm, decision, request)
        elif action is JoinAction.ADMIT and conversation is not None:
            try:
                await conversation.add_members([request.sender_inbox_id])
            except ConvosError as exc:
                failed = add_members_failed(decision, type(exc).__name__)
                replied = await self._reply_error(dm, request, failed)
                return JoinOutcome(failed, replied=replied)
            await self.ledger.mark_join_request(request.message_id, action.value)
            if decision.single_use_key is not None:
                await self.ledger.use_invite(
                    decision.single_use_key, conversation.id, request.sender_inbox_id
                )
            dm.set_consent("allowed")
            await self._send_marker(dm, decision, request)
            await self._send_snapshot(conversation)
            if self._on_admit is not None:
                self._on_admit(conversation.id, request.sender_inbox_id)
            return JoinOutcome(decision, added=True)
        if action is not JoinAction.IGNORE:
            await self.ledger.mark_join_request(request.message_id, action.value)
        return JoinOutcome(decision)

    async def _reply_error(
        self, dm: XmtpConversation, request: JoinRequestMessage, decision: JoinDecision
    ) -> bool:
        tag = decision.invite_tag
        if tag is None or await self._error_already_sent(dm, tag, request.sent_at_ns):
            return False
        await dm.send(cc.encode_content(decision.error_reply(self._clock())), push=True)
        return True

    async def _send_snapshot(self, conversation: XmtpConversation) -> None:
        """Everyone's profiles into the group, so the newcomer sees names (ADR 005)."""
        try:
            messages = await conversation.messages(limit=500, descending=True, application_only=True)
            items = []
            for message in messages:
                decoded = _decoded(message)
                if isinstance(decoded, cp.ProfileUpdate | cp.ProfileSnapshot):
                    items.append((message.sender_inbox_id, decoded, message.sent_at_ns))
            names = cp.resolve_display_names(items)
            members = await conversation.members()
            snapshot = cp.ProfileSnapshot(
                profiles=tuple(
                    cp.MemberProfile(inbox_id=m.inbox_id, name=names.get(m.inbox_id))
                    for m in members
                    if names.get(m.inbox_id)
                )
            )
            await conversation.send(cp.profile_snapshot_content(snapshot), push=False)
        except ConvosError as exc:
            log.warning("profile snapshot for %s not sent: %s", conversation.id, exc)


def join_request_of(message: XmtpMessage) -> JoinRequestMessage | None:
    """The join request in a DM message: a typed ``join_request`` or a plain-text slug."""
    decoded = _decoded(message)
    if isinstance(decoded, cc.JoinRequest):
        return JoinRequestMessage(message.id, message.sender_inbox_id, message.sent_at_ns, decoded)
    if (
        isinstance(decoded, cc.Text)
        and decoded.text.strip()
        and not any(c.isspace() for c in decoded.text.strip())
    ):
        return JoinRequestMessage(
            message.id, message.sender_inbox_id, message.sent_at_ns, decoded.text.strip()
        )
    return None
