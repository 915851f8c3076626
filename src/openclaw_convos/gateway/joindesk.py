"""The join desk: joins in both directions while the gateway runs.

As creator: one :class:`~openclaw_convos.joinflow.creator.Creator` per identity that owns
conversations, fed by the stream (join requests are inbound events) and by a periodic sweep for
requests a live stream can miss. As joiner: finishes joins that were still waiting for the
creator's approval when ``configure`` returned. The first joiner of an owner conversation made by
``invite create`` becomes the owner.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..convos.invites import parse_invite
from ..errors import ConvosError
from ..joinflow.creator import Creator, JoinRequestMessage
from ..joinflow.joiner import JoinStatus, wait_for_join
from .events import Inbound
from .ownership import Ownership
from .pairing import PairingStore, generate_code
from .ports import ConversationPort
from .state import GatewayState

if TYPE_CHECKING:
    from .runtime import Host

log = logging.getLogger("openclaw_convos.gateway.joins")

SWEEP_SECONDS = 300.0
"""How often each creator identity sweeps its DMs for join requests (the live stream does the rest)."""
SWEEP_JITTER = 0.25
"""Each wait is the interval spread by +-25 %, the first one anywhere in (0, interval]: identities
opened together do not all sweep (and hit the node) in the same second every 5 minutes."""


def sweep_delay(interval: float, first: bool, rand: Callable[[], float] = random.random) -> float:
    """The wait before a sweep: ``rand()`` in [0, 1) spreads it (see :data:`SWEEP_JITTER`)."""
    if first:
        return interval * (1.0 - rand())
    return interval * (1.0 + SWEEP_JITTER * (2.0 * rand() - 1.0))


class JoinDesk:
    def __init__(
        self,
        state: GatewayState,
        pairing: PairingStore,
        ownership: Ownership,
        *,
        display_name: str,
        update_identity: Callable[[Host, dict[str, Any]], None],
        report: Callable[[str, str], None],
        clock: Callable[[], str],
        sweep_interval: float = SWEEP_SECONDS,
        notify_owner: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._state = state
        self._pairing = pairing
        self._ownership = ownership
        self._display_name = display_name
        self._update_identity = update_identity
        self._report = report
        self._now_iso = clock
        self.sweep_interval = sweep_interval
        self._creators: dict[str, Creator] = {}
        self._admitted: list[tuple[Host, str, str]] = []
        self._notify_owner = notify_owner
        self._held: dict[str, tuple[Host, str, str]] = {}
        """code -> (host, conversation, joiner): joins of the owner conversation waiting for the owner."""
        self._approved: set[tuple[str, str]] = set()

    def creator(self, host: Host) -> Creator:
        creator = self._creators.get(host.stored.id)
        if creator is None:

            def admitted(conversation_id: str, inbox_id: str) -> None:
                self._admitted.append((host, conversation_id, inbox_id))

            async def gate(conversation_id: str, inbox_id: str, _request: JoinRequestMessage) -> bool:
                return await self._owner_allows(host, conversation_id, inbox_id)

            creator = self._creators[host.stored.id] = Creator(
                host.client,  # type: ignore[arg-type]  # the creator needs the real client
                self._state,
                on_admit=admitted,
                gate=gate,
            )
        return creator

    async def _owner_allows(self, host: Host, conversation_id: str, inbox_id: str) -> bool:
        """Joins of the owner conversation (it shows every pairing notice and code) by anyone but
        the owner wait for the owner's ``admit CODE`` (issue 14, item 4). Before there is an owner,
        the first joiner becomes it (reverse setup)."""
        ownership = self._ownership
        if conversation_id != ownership.conversation_id or not ownership.owners:
            return True
        if ownership.is_owner(inbox_id) or (conversation_id, inbox_id) in self._approved:
            return True
        if any(held[2] == inbox_id and held[1] == conversation_id for held in self._held.values()):
            return False  # already asked; the owner was told once
        code = generate_code(self._held)
        self._held[code] = (host, conversation_id, inbox_id)
        log.info("join of the owner conversation by %s held for the owner's approval", inbox_id[:12])
        if self._notify_owner is not None:
            await self._notify_owner(
                f"{inbox_id} asks to join this conversation, where every pairing request and code "
                f"is posted. Reply `admit {code}` here to let them in, or ignore it."
            )
        return False

    async def admit(self, code: str) -> str | None:
        """The owner's ``admit CODE``: add the held joiner now; their inbox id, or None."""
        held = self._held.pop(code.strip().upper(), None)
        if held is None:
            return None
        host, conversation_id, inbox_id = held
        self._approved.add((conversation_id, inbox_id))
        outcomes = await self.creator(host).sweep()
        if any(o.added for o in outcomes):
            await self._after_admits()
        return inbox_id

    async def on_join_request(self, host: Host, conversation: ConversationPort, event: Inbound) -> None:
        """A join request in a DM to one of our identities: the iOS creator's checks, then add."""
        if not event.is_dm or not event.join_slug:
            return
        creator = self.creator(host)
        message = host.client.message(event.message_id)
        if message is not None:
            outcome = await creator.handle(message)  # keeps a typed request's profile
        else:
            request = JoinRequestMessage(
                event.message_id, event.sender_inbox_id, event.sent_at_ns, event.join_slug
            )
            outcome = await creator.process(conversation, request)  # type: ignore[arg-type]
        if outcome is not None and outcome.added:
            await self._after_admits()

    async def sweep_forever(self, host: Host, stopping: Callable[[], bool]) -> None:
        """Now and then, catch up on join requests a live stream can miss (a brand-new DM).

        The first sweep waits one interval: at start the stream's catch-up has just synced every
        conversation and handed every join request since the cursor to :meth:`on_join_request`,
        which is all a sweep would do (it cost two node requests and a read of every DM per
        identity at start-up).
        """
        first = True
        while not stopping():
            await asyncio.sleep(sweep_delay(self.sweep_interval, first))
            first = False
            try:
                outcomes = await self.creator(host).sweep()
                if any(o.added for o in outcomes):
                    await self._after_admits()
            except asyncio.CancelledError:
                raise
            except ConvosError as exc:
                log.info("join-request sweep of %s failed: %s", host.stored.id, exc)

    async def finish_join(self, host: Host, stopping: Callable[[], bool]) -> None:
        """Wait for a join that was still pending when ``configure`` returned."""
        assert host.stored.invite_slug is not None
        try:
            invite = parse_invite(host.stored.invite_slug)
            while not stopping():
                result = await wait_for_join(
                    host.client,  # type: ignore[arg-type]  # the joiner needs the real client
                    invite,
                    timeout=600.0,
                    poll=2.0,
                    profile_name=self._display_name,
                )
                if result.status is JoinStatus.PENDING:
                    continue
                if result.status is JoinStatus.REFUSED:
                    self._report(host.stored.id, result.message)
                    log.error("join of identity %s refused: %s", host.stored.id, result.message)
                    return
                assert result.conversation_id is not None
                self._update_identity(host, {"conversation_id": result.conversation_id, "invite_slug": None})
                if host.stored.role == "owner":
                    # ``configure --invite``'s join of the owner conversation is complete: only
                    # now does the invite's creator become the owner (issue 14, item 2)
                    await self._ownership.add(invite.payload.creator_inbox_id)
                if host.stored.role == "owner" and self._ownership.conversation_id is None:
                    self._ownership.set_conversation(result.conversation_id)
                await self._state.set_activity(f"identity:{host.stored.id}", result.conversation_id)
                await self._state.set_activity(f"profile:{result.conversation_id}", self._display_name)
                log.info("joined conversation %s (identity %s)", result.conversation_id, host.stored.id)
                return
        except asyncio.CancelledError:
            raise
        except ConvosError as exc:
            self._report(host.stored.id, f"pending join: {exc}")
            log.error("pending join of identity %s failed: %s", host.stored.id, exc)

    async def _after_admits(self) -> None:
        while self._admitted:
            _host, conversation_id, inbox_id = self._admitted.pop(0)
            await self._on_member_admitted(conversation_id, inbox_id)
        await self._state.set_activity("last_join_at", self._now_iso())

    async def _on_member_admitted(self, conversation_id: str, inbox_id: str) -> None:
        """The first joiner of the owner conversation becomes the owner (reverse setup)."""
        if conversation_id == self._ownership.conversation_id and not self._ownership.owners:
            await self._ownership.add(inbox_id)
            await self._pairing.add_allow_from(inbox_id)
            log.info("%s joined the owner conversation and is now the owner", inbox_id)
