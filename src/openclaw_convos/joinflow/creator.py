"""The creator's side of the join flow, with I/O: invites out, join requests in, members added.

The decisions are pure (:mod:`.join`); this module gathers what they need from libxmtp through
:mod:`openclaw_convos.xmtp` and carries them out, in the iOS order (protocol reference §10.2):
ledger, verification, conversation state, membership, tag, add, marker, profile snapshot, DM
consent. It also creates invites, and revokes (rotates the tag) and locks conversations.

Requests reach :meth:`Creator.process` from a live stream (:meth:`Creator.handle` takes any
message) and from :meth:`Creator.sweep`, the catch-up pass over recent DMs that picks up requests
that arrived while we were offline or that the stream missed (a join request arrives in a
brand-new DM). Both may run at once: one identity's requests are processed one at a time.

Where the I/O differs from the iOS creator (on purpose):

- requests older than the catch-up window (24 h) are ignored on every path, not only in sweeps;
- requests in a DM whose consent is ``denied`` are ignored (iOS never looks at such DMs);
- the DM is synced before the marker and error-reply look-ups, so markers and replies sent by
  another installation of ours count;
- the profile snapshot also names the joiner with the profile of its typed join request, and
  carries each member's kind and image from their own latest update;
- the typed+text pair is one attempt: a plain-text slug right after the same sender's typed
  request for the same slug is de-duplicated from the typed request's ``sentAt``, so a reply or
  marker we sent before the copy arrived still retires it (iOS compares with the copy's own
  ``sentAt`` and can answer twice);
- ``already member`` sends the marker but no new profile snapshot (no duplicate snapshots);
- a failed ``addMembers`` is not recorded in the ledger, so a later sweep retries it (the
  error-reply de-duplication keeps that to one reply per attempt).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..convos import content as cc
from ..convos import profiles as cp
from ..convos.errors import MetadataUnsafeWrite
from ..convos.invites import create_invite
from ..convos.join import (
    ConversationState,
    JoinAction,
    JoinDecision,
    add_members_failed,
    decide_join,
    verify_join_request,
)
from ..convos.links import Env, invite_url
from ..convos.metadata import IMAGE_KEY_LENGTH, decode_app_data, new_app_data, update_app_data
from ..convos.tags import new_invite_tag, same_tag
from ..errors import ConvosError
from ..xmtp import XmtpClient, XmtpConversation, XmtpMessage

log = logging.getLogger("openclaw_convos.joinflow.creator")

_ERROR_DEDUPE_WINDOW = 50
_TYPED_REQUEST_WINDOW = 20
_PROFILE_SCAN = 500
_PAIR_WINDOW_NS = 60 * 1_000_000_000
CATCH_UP_WINDOW_S = 24 * 3600
"""The iOS ``maxCatchUpWindow``: join requests older than this are never processed."""


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
    held: bool = False
    """Every check allowed it, but the gate held it (no add, no reply, asked again later)."""


async def create_conversation(
    client: XmtpClient,
    *,
    name: str | None = None,
    description: str | None = None,
    image_url: str | None = None,
    emoji: str | None = None,
    profile_name: str | None = None,
    agent: bool = True,
    creator_owned: bool = True,
) -> XmtpConversation:
    """A new group we administer, with a fresh invite tag in its appData and our profile.

    ``creator_owned`` (the default) gives it :data:`~openclaw_convos.xmtp.client.CREATOR_OWNED_POLICY`:
    only admins change membership and metadata. Its appData then already holds the group image
    key (which the Convos app otherwise writes lazily, as any member), so members never need to
    write appData.
    """
    app_data = new_app_data(new_invite_tag(), emoji=emoji)
    if creator_owned:
        app_data = update_app_data(app_data, image_encryption_key=secrets.token_bytes(IMAGE_KEY_LENGTH))
    conversation = await client.create_group(
        name=name,
        description=description,
        image_url=image_url,
        app_data=app_data,
        creator_owned=creator_owned,
    )
    if profile_name:
        await conversation.send(
            cp.profile_update_content(
                cp.ProfileUpdate(
                    name=profile_name, member_kind=cp.MemberKind.AGENT if agent else cp.MemberKind.UNSPECIFIED
                )
            ),
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


async def revoke_invites(conversation: XmtpConversation, *, own_inbox_id: str | None = None) -> str:
    """Rotate the invite tag: every outstanding invite stops working. Returns the new tag.

    Read-modify-write on freshly synced appData (reference §8.3), so fields other members wrote
    since our last sync are kept. appData that does not decode (garbage another member wrote) is
    never carried over: when ``own_inbox_id`` is the group's super admin (we created it), it is
    replaced by fresh metadata with the new tag; otherwise the write is refused.
    """
    await conversation.sync()
    tag = new_invite_tag()
    try:
        value = update_app_data(conversation.app_data, tag=tag)
    except MetadataUnsafeWrite:
        if own_inbox_id is None or not conversation.is_super_admin(own_inbox_id):
            raise
        log.warning(
            "appData of %s does not decode (written by another member); writing fresh metadata",
            conversation.id,
        )
        value = update_app_data(new_app_data(tag), image_encryption_key=secrets.token_bytes(IMAGE_KEY_LENGTH))
    await conversation.set_app_data(value)
    return tag


async def secure(conversation: XmtpConversation, own_inbox_id: str) -> list[str]:
    """Give a conversation we created the permissions of :func:`create_conversation` (older
    conversations kept libxmtp's defaults); the policies changed. Nothing when we are not its
    super admin."""
    await conversation.sync()
    if not conversation.is_super_admin(own_inbox_id):
        return []
    changed = await conversation.restrict_to_admins()
    if changed:
        log.info("restricted %s of %s to admins", ", ".join(changed), conversation.id)
    return changed


def readable_tag(conversation: XmtpConversation) -> str | None:
    """The current invite tag, or None when appData does not decode or has none."""
    try:
        return decode_app_data(conversation.app_data).tag or None
    except ConvosError:
        return None


async def lock(
    conversation: XmtpConversation, *, locked: bool = True, own_inbox_id: str | None = None
) -> None:
    """Lock (rotate the tag, then deny adds) or unlock (adds by admins again; old invites stay dead)."""
    if locked:
        await revoke_invites(conversation, own_inbox_id=own_inbox_id)
    await conversation.set_add_member_policy(allow=not locked, admins_only=True)


def _decoded(message: XmtpMessage) -> cc.DecodedContent | None:
    try:
        return cc.decode_content(message.content)
    except ConvosError:
        return None


class Creator:
    """Processes join requests for the conversations ``client`` created, like the iOS creator.

    ``window_s``: requests sent longer ago than this are ignored (the iOS 24 h catch-up window).
    ``on_admit(conversation_id, inbox_id)`` is called after each member we add.
    ``gate(conversation_id, inbox_id, request)``, when given, is asked before each add that every
    check allows: False holds the request (no add, no reply, not marked handled, so a later
    sweep or :meth:`process` asks again), e.g. until the owner approves a join of the owner
    conversation.
    """

    def __init__(
        self,
        client: XmtpClient,
        ledger: JoinLedger,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_admit: Callable[[str, str], None] | None = None,
        gate: Callable[[str, str, JoinRequestMessage], Awaitable[bool]] | None = None,
        window_s: float = CATCH_UP_WINDOW_S,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self._clock = clock
        self._on_admit = on_admit
        self._gate = gate
        self.window_s = window_s
        self._lock = asyncio.Lock()
        """Join requests are processed one at a time: a sweep and the live stream, or two DMs
        racing for one single-use invite, cannot both admit (keep one Creator per inbox)."""

    def _now_ns(self) -> int:
        return int(self._clock().timestamp() * 1_000_000_000)

    async def handle(self, message: XmtpMessage) -> JoinOutcome | None:
        """Process ``message`` if it is a join request in one of our DMs (for stream consumers)."""
        request = join_request_of(message)
        if request is None:
            return None
        dm = self.client.conversation(message.conversation_id)
        if dm is None or dm.dm_peer_inbox_id is None:
            return None
        return await self.process(dm, request)

    async def sweep(self, *, window_s: float | None = None, sync: bool = True) -> list[JoinOutcome]:
        """Catch up: process the join requests of the last ``window_s`` seconds in every DM.

        Fetches new conversations and messages first (``sync=False`` skips that when the caller
        has just synced, e.g. a stream's catch-up), then reads every DM whose consent is
        ``unknown`` or ``allowed``, oldest request first. Requests already in the ledger cost
        nothing; a blocked sender ends its DM's scan. Run it after (re)starting and now and then,
        next to the live stream: a request in a brand-new DM can slip past a stream.
        """
        window = self.window_s if window_s is None else window_s
        if sync:
            try:
                await self.client.sync_all()
            except ConvosError as exc:
                log.info("sync before the join-request sweep failed: %s", exc)
        since_ns = self._now_ns() - int(window * 1_000_000_000)
        outcomes: list[JoinOutcome] = []
        for dm in await self.client.list_conversations():
            if dm.dm_peer_inbox_id is None or dm.consent() == "denied":
                continue
            try:
                messages = await dm.messages(after_ns=since_ns, application_only=True)
            except ConvosError as exc:
                log.info("could not read DM %s during the sweep: %s", dm.id, exc)
                continue
            for message in messages:
                request = join_request_of(message)
                if request is None or request.sender_inbox_id == self.client.inbox_id:
                    continue
                try:
                    outcome = await self.process(dm, request)
                except ConvosError as exc:
                    log.warning("join request %s not processed: %s", request.message_id, exc)
                    continue
                outcomes.append(outcome)
                if outcome.decision.action is JoinAction.BLOCK_SENDER:
                    break
        return outcomes

    async def process(self, dm: XmtpConversation, request: JoinRequestMessage) -> JoinOutcome:
        """Decide on one join request and act on the decision."""
        async with self._lock:
            return await self._process(dm, request)

    async def _process(self, dm: XmtpConversation, request: JoinRequestMessage) -> JoinOutcome:
        if request.sender_inbox_id.lower() == self.client.inbox_id.lower():
            return _ignored("our own message")
        if dm.dm_peer_inbox_id is None:
            return _ignored("not in a DM")
        if dm.consent() == "denied":
            return _ignored("the DM is blocked")
        if request.sent_at_ns < self._now_ns() - int(self.window_s * 1_000_000_000):
            return _ignored("older than the catch-up window")
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
            outcome = await self._act(dm, request, verified, None)
            if verified.action is JoinAction.IGNORE:
                # junk (not an invite, expired, another creator's, a bad signature) stays junk:
                # recorded, so a restart's sweep does not verify it again
                await self.ledger.mark_join_request(request.message_id, verified.action.value)
            return outcome
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
        await self._sync_dm(dm)
        attempt_ns = await self._attempt_ns(dm, request)
        handled_seen = await self._marker_seen(dm, verified.invite.payload.tag, attempt_ns)
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

    async def _sync_dm(self, dm: XmtpConversation) -> None:
        """Fetch the DM's new messages: markers and replies from our other installations count."""
        try:
            await dm.sync()
        except ConvosError as exc:
            log.info("could not sync DM %s: %s", dm.id, exc)

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

    async def _attempt_ns(self, dm: XmtpConversation, request: JoinRequestMessage) -> int:
        """When the attempt ``request`` belongs to was sent: the typed+text pair is one attempt.

        A plain-text slug whose sender's previous message (within a minute) is a typed
        ``join_request`` for the same slug is that request's copy, so the marker and error-reply
        look-ups start at the typed request. Otherwise a reply we sent for the typed request before
        the copy's ``sentAt`` (the creator can be that fast) would not count, and the copy would
        get a second reply.
        """
        if not isinstance(request.request, str):
            return request.sent_at_ns
        slug = _bare_slug(request.request)
        for message in await self._recent(dm, _TYPED_REQUEST_WINDOW):
            if (
                message.id == request.message_id
                or message.sender_inbox_id != request.sender_inbox_id
                or message.sent_at_ns > request.sent_at_ns
            ):
                continue
            decoded = _decoded(message)
            if (
                isinstance(decoded, cc.JoinRequest)
                and _bare_slug(decoded.invite_slug) == slug
                and request.sent_at_ns - message.sent_at_ns <= _PAIR_WINDOW_NS
            ):
                return message.sent_at_ns
            break
        return request.sent_at_ns

    async def _self_sent_since(
        self,
        dm: XmtpConversation,
        kind: type[cc.InviteJoinHandled | cc.InviteJoinError],
        tag: str,
        since_ns: int,
    ) -> bool:
        """Whether we sent a ``kind`` message for ``tag`` at or after ``since_ns`` (last 50 DM messages)."""
        for message in await self._recent(dm, _ERROR_DEDUPE_WINDOW):
            if message.sender_inbox_id != self.client.inbox_id or message.sent_at_ns < since_ns:
                continue
            decoded = _decoded(message)
            if isinstance(decoded, kind) and same_tag(decoded.invite_tag, tag):
                return True
        return False

    async def _marker_seen(self, dm: XmtpConversation, tag: str, since_ns: int) -> bool:
        return await self._self_sent_since(dm, cc.InviteJoinHandled, tag, since_ns)

    async def _error_already_sent(self, dm: XmtpConversation, tag: str, since_ns: int) -> bool:
        return await self._self_sent_since(dm, cc.InviteJoinError, tag, since_ns)

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
            if self._gate is not None and not await self._gate(
                conversation.id, request.sender_inbox_id, request
            ):
                log.info(
                    "join request %s held: %s needs approval",
                    request.message_id,
                    request.sender_inbox_id[:12],
                )
                return JoinOutcome(
                    JoinDecision(JoinAction.IGNORE, "held for approval", invite=decision.invite), held=True
                )
            return await self._admit(dm, request, decision, conversation)
        if action is not JoinAction.IGNORE:
            await self.ledger.mark_join_request(request.message_id, action.value)
        return JoinOutcome(decision)

    async def _admit(
        self,
        dm: XmtpConversation,
        request: JoinRequestMessage,
        decision: JoinDecision,
        conversation: XmtpConversation,
    ) -> JoinOutcome:
        try:
            await conversation.add_members([request.sender_inbox_id])
        except ConvosError as exc:
            failed = add_members_failed(decision, type(exc).__name__)
            replied = await self._reply_error(dm, request, failed)
            return JoinOutcome(failed, replied=replied)
        await self.ledger.mark_join_request(request.message_id, decision.action.value)
        if decision.single_use_key is not None and not await self.ledger.use_invite(
            decision.single_use_key, conversation.id, request.sender_inbox_id
        ):
            log.warning("single-use invite for %s was used twice (another process?)", conversation.id)
        dm.set_consent("allowed")
        await self._send_marker(dm, decision, request)
        await self._send_snapshot(conversation, request)
        if self._on_admit is not None:
            self._on_admit(conversation.id, request.sender_inbox_id)
        return JoinOutcome(decision, added=True)

    async def _reply_error(
        self, dm: XmtpConversation, request: JoinRequestMessage, decision: JoinDecision
    ) -> bool:
        tag = decision.invite_tag
        if tag is None or await self._error_already_sent(dm, tag, await self._attempt_ns(dm, request)):
            return False
        await dm.send(cc.encode_content(decision.error_reply(self._clock())), push=True)
        return True

    async def _send_snapshot(self, conversation: XmtpConversation, request: JoinRequestMessage) -> None:
        """Everyone's profiles into the group, so the newcomer sees names (ADR 005)."""
        try:
            messages = await conversation.messages(
                limit=_PROFILE_SCAN, descending=True, application_only=True
            )
            members = await conversation.members()
            snapshot = snapshot_of(
                [(m.sender_inbox_id, _decoded(m), m.sent_at_ns) for m in messages],
                [m.inbox_id for m in members],
                joiner=(request.sender_inbox_id, request.request),
            )
            await conversation.send(cp.profile_snapshot_content(snapshot), push=False)
        except ConvosError as exc:
            log.warning("profile snapshot for %s not sent: %s", conversation.id, exc)


def _bare_slug(text: str) -> str:
    return "".join(ch for ch in text if ch != "*" and not ch.isspace())


def _ignored(reason: str) -> JoinOutcome:
    return JoinOutcome(JoinDecision(JoinAction.IGNORE, reason))


def snapshot_of(
    items: list[tuple[str, object, int]],
    member_ids: list[str],
    *,
    joiner: tuple[str, cc.JoinRequest | str] | None = None,
) -> cp.ProfileSnapshot:
    """The ``profile_snapshot`` for ``member_ids`` from a group's decoded ``(sender, content, sent_at_ns)``.

    Names follow :func:`~.profiles.resolve_display_names`; each entry's kind and image come from
    the member's own latest update, else from the newest snapshot entry. A joiner not named yet
    gets the profile of its typed join request (as iOS stores it).
    """
    names = cp.resolve_display_names(items)
    latest: dict[str, tuple[int, cp.ProfileUpdate | cp.MemberProfile]] = {}
    for sender, content, sent_at in items:
        if isinstance(content, cp.ProfileUpdate):
            key = sender.lower()
            current = latest.get(key)
            if current is None or not isinstance(current[1], cp.ProfileUpdate) or sent_at >= current[0]:
                latest[key] = (sent_at, content)
        elif isinstance(content, cp.ProfileSnapshot):
            for entry in content.profiles:
                key = entry.inbox_id.lower()
                current = latest.get(key)
                if current is None or (isinstance(current[1], cp.MemberProfile) and sent_at >= current[0]):
                    latest[key] = (sent_at, entry)
    kinds: dict[str, int] = {}
    if joiner is not None:
        joiner_id, request = joiner[0].lower(), joiner[1]
        profile = request.profile if isinstance(request, cc.JoinRequest) else None
        if profile is not None and profile.name and profile.name.strip() and joiner_id not in names:
            names[joiner_id] = profile.name
            if profile.member_kind == "agent":
                kinds[joiner_id] = cp.MemberKind.AGENT
    profiles = []
    for member_id in (m.lower() for m in member_ids):
        name = names.get(member_id)
        if not name:
            continue
        source = latest.get(member_id)
        image = source[1].encrypted_image if source is not None else None
        kind = kinds.get(
            member_id, source[1].member_kind if source is not None else cp.MemberKind.UNSPECIFIED
        )
        profiles.append(
            cp.MemberProfile(inbox_id=member_id, name=name, encrypted_image=image, member_kind=kind)
        )
    return cp.ProfileSnapshot(profiles=tuple(profiles))


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
