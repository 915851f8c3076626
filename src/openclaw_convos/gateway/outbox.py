"""The outbox: every send the gateway decides goes out through here, recorded with its message.

An inbound message's sends (the agent's chunks and reaction, a pairing code, the owner's notice,
an approval announcement, an apology) are stored in the same transaction as its decision
(:meth:`GatewayState.commit`). :meth:`Outbox.deliver` then sends them in order. When a send
fails, the message stays ``replying``; the retry (or the next start) calls :meth:`Outbox.resume`,
which sends what the conversations do not have yet: what was decided is sent, never decided again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..xmtp import XmtpMessage
from ..xmtp import content as xc
from ..xmtp import outbound as out
from .ports import ConversationPort
from .state import GatewayState, PlannedSend

log = logging.getLogger("openclaw_convos.gateway.outbox")

_RESUME_SLACK_NS = 1_000_000
"""Resume looks at our messages sent from 1 ms before the decision on."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a send goes: the conversation, and which of our inboxes sends there."""

    conversation: ConversationPort
    our_inbox_id: str


Router = Callable[[str], Route | None]


def planned(conversation_id: str, item: out.Outbound) -> PlannedSend:
    return PlannedSend(conversation_id, out.to_json(item))


class Outbox:
    def __init__(self, state: GatewayState, route: Router) -> None:
        self._state = state
        self._route = route
        self.sent = 0

    async def deliver(self, message_id: str, sends: Sequence[PlannedSend]) -> None:
        """Send every planned item in order, then mark the message finished."""
        await self._send(message_id, list(sends), skip=set())

    async def resume(self, message_id: str, planned_at: float) -> None:
        """Send the stored items of ``message_id`` that are not in their conversations yet."""
        sends = await self._state.outbox(message_id)
        present = await self._present(sends, int(planned_at * 1e9) - _RESUME_SLACK_NS)
        if present:
            log.info(
                "resuming message %s: %d of %d send(s) already out", message_id, len(present), len(sends)
            )
        await self._send(message_id, sends, skip=present)

    async def _send(self, message_id: str, sends: list[PlannedSend], skip: set[int]) -> None:
        for index, send in enumerate(sends):
            if index in skip:
                continue
            route = self._route(send.conversation_id)
            if route is None:
                log.warning(
                    "a send for message %s is dropped: conversation %s is no longer served",
                    message_id,
                    send.conversation_id,
                )
                continue
            await route.conversation.publish(out.from_json(send.item))
            self.sent += 1
        self._state.finished_soon(message_id)

    async def _present(self, sends: list[PlannedSend], after_ns: int) -> set[int]:
        """Indexes of ``sends`` already in their conversations, matched in order."""
        present: set[int] = set()
        by_conversation: dict[str, list[int]] = {}
        for index, send in enumerate(sends):
            by_conversation.setdefault(send.conversation_id, []).append(index)
        for conversation_id, indexes in by_conversation.items():
            route = self._route(conversation_id)
            if route is None:
                continue
            await route.conversation.sync()  # publishes what libxmtp still holds, if it can
            # Only what the node has counts as sent: libxmtp's local copy of a send that never
            # reached the node (the disk filled up mid-send) is sent again.
            ours = [
                m
                for m in await route.conversation.messages(after_ns=after_ns, application_only=True)
                if m.sender_inbox_id == route.our_inbox_id and m.delivery == "published"
            ]
            seen = [_fingerprint_message(m) for m in ours]
            position = 0
            for index in indexes:
                wanted = _fingerprint(out.from_json(sends[index].item))
                if wanted is None:
                    continue  # cannot be told apart (a read receipt): sent again, which is harmless
                try:
                    found = seen.index(wanted, position)
                except ValueError:
                    continue
                present.add(index)
                position = found + 1
        return present


def _fingerprint(item: out.Outbound) -> tuple[str, ...] | None:
    match item:
        case out.Text(text=text):
            return ("text", text)
        case out.Reply(reference_id=ref, text=text):
            return ("reply", ref, text)
        case out.Reaction(reference_id=ref, emoji=emoji, added=added):
            return ("reaction", ref, emoji, str(added))
        case out.RemoteFile(url=url):
            return ("attachment", url)
    return None


def _fingerprint_message(message: XmtpMessage) -> tuple[str, ...] | None:
    try:
        decoded = xc.decode_standard(message.content)
    except Exception:  # not ours to match: any undecodable message is simply not a match
        return None
    if isinstance(decoded, xc.Text):
        return ("text", decoded.text)
    if isinstance(decoded, xc.Reply):
        return ("reply", decoded.reference_id, decoded.text or "")
    if isinstance(decoded, xc.Reaction):
        return ("reaction", decoded.reference_id, decoded.emoji, str(decoded.added))
    if isinstance(decoded, xc.Attachment) and decoded.url is not None:
        return ("attachment", decoded.url)
    return None
