"""What ``run`` does beside the gateway: keeps the health record complete and tells systemd.

Every tick (about a second) the supervisor
- records the problems of single conversations (``gateway.problems``, plus the node's own below)
  in the state database, where ``status``, ``doctor`` and the health checks read them, and logs
  each new one once;
- every ``node_check_seconds``, and whenever the streams are back after an outage, asks the node
  about one of our inboxes: a node that answers but no longer knows it has lost its data
  (restarted on an empty database), and nothing of ours works there any more; that is a problem
  of every conversation, said once in the log and in ``status``;
- every 15 s looks at each conversation in its identity's database: removed from it, exploded
  (expired), or the owner conversation without any owner left in it;
- tells systemd (``Type=notify``) the health in one line and pings its watchdog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConvosError
from ..gateway.health import PROBLEMS_KEY, encode_problems
from .sdnotify import Notifier

if TYPE_CHECKING:
    from ..gateway.metrics import GatewayMetrics
    from ..gateway.runtime import Gateway

log = logging.getLogger("openclaw_convos.cli.run")

NODE_KEY = "node"
NODE_CHECK_SECONDS = 60.0
CONVERSATION_CHECK_SECONDS = 15.0


class Supervisor:
    def __init__(
        self,
        gateway: Gateway,
        notifier: Notifier,
        *,
        node_check_seconds: float = NODE_CHECK_SECONDS,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.notifier = notifier
        self.node_check_seconds = node_check_seconds
        self._clock = clock
        self._node_problem: str | None = None
        self._next_node_check = clock() + min(node_check_seconds, 5.0)
        self._saved: dict[str, str] | None = None
        self._last_ping = float("-inf")
        self._last_health: str | None = None
        self._conversation_problems: dict[str, str] = {}
        self._next_conversation_check = clock() + 2.0
        self._reconnects = 0

    @property
    def problems(self) -> dict[str, str]:
        problems = dict(self.gateway.problems)
        problems.update(self._conversation_problems)
        if self._node_problem:
            problems[NODE_KEY] = self._node_problem
        return problems

    async def check_conversations(self) -> None:
        """Removed, exploded, owner left: read from each identity's local database (no request)."""
        from ..convos.metadata import decode_app_data
        from ..gateway.health import conversation_problem

        owners = self.gateway.ownership.owners
        found: dict[str, str] = {}
        for host in list(self.gateway.hosts.values()):
            conversation_id = host.stored.conversation_id
            conversation = host.client.conversation(conversation_id) if conversation_id else None
            if conversation is None or conversation_id is None:
                continue
            try:
                try:
                    expires = decode_app_data(conversation.app_data).expires_at_unix
                except ConvosError:
                    expires = None
                members = frozenset(m.inbox_id for m in await conversation.members())
                problem = conversation_problem(
                    conversation_id,
                    active=conversation.is_active(),
                    expires_at_unix=expires,
                    now_unix=time.time(),
                    is_owner_conversation=conversation_id == self.gateway.owner_conversation_id,
                    owners=owners,
                    members=members,
                )
            except ConvosError as exc:
                log.debug("conversation %s not checked: %s", conversation_id, exc)
                continue
            if problem is not None:
                found[f"conversation:{conversation_id}"] = problem
        self._conversation_problems = found

    async def tick(self) -> None:
        health = self.gateway.health
        reconnects = sum(h.stream.reconnects for h in self.gateway.hosts.values())
        if reconnects != self._reconnects or (health == "healthy" and self._last_health != "healthy"):
            # back after an outage: did the node come back empty?
            self._next_node_check = min(self._next_node_check, self._clock() + 1.0)
        if health != self._last_health:
            log.info("health: %s (was %s)", health, self._last_health or "starting")
        self._last_health, self._reconnects = health, reconnects
        if self._clock() >= self._next_conversation_check:
            self._next_conversation_check = self._clock() + CONVERSATION_CHECK_SECONDS
            await self.check_conversations()
        if self._clock() >= self._next_node_check:
            self._next_node_check = self._clock() + self.node_check_seconds
            await self.check_node_data()
        problems = self.problems
        if problems != self._saved:
            for key, problem in problems.items():
                if (self._saved or {}).get(key) != problem:
                    log.error("problem with %s: %s", key, problem)
            try:
                await self.gateway.state.set_activity(PROBLEMS_KEY, encode_problems(problems))
                self._saved = problems
            except ConvosError as exc:
                log.warning("problems not recorded: %s", exc)
        self.notify()
        if self.metrics is not None:
            await self.measure(self.metrics, problems)

    async def measure(self, metrics: GatewayMetrics, problems: dict[str, str]) -> None:
        from ..gateway.metrics import Snapshot

        hosts = list(self.gateway.hosts.values())
        try:
            messages = await self.gateway.state.counts()
            pairing = len(await self.gateway.pairing.read_pending())
        except ConvosError as exc:
            log.debug("metrics not read: %s", exc)
            messages, pairing = dict(metrics.snapshot.messages), metrics.snapshot.pairing_requests
        health = self.gateway.health
        metrics.update(
            Snapshot(
                taken_at=time.monotonic(),
                health=health,
                ok=health == "healthy",
                messages=messages,
                pairing_requests=pairing,
                identities=len(hosts),
                conversations=sum(1 for h in hosts if h.stored.conversation_id),
                problems=len(problems),
                reconnects=sum(h.stream.reconnects for h in hosts),
            )
        )

    async def check_node_data(self) -> None:
        """Does the node still know our inboxes? (One request.)"""
        joined = [h for h in self.gateway.hosts.values() if h.stored.conversation_id and h.stored.inbox_id]
        if not joined:
            return
        host = min(joined, key=lambda h: h.stored.created_at)
        inbox_id = host.stored.inbox_id
        assert inbox_id is not None
        try:
            state = await self.gateway.pool.inbox_state(inbox_id, timeout=10.0)
        except ConvosError:
            self._next_node_check = min(self._next_node_check, self._clock() + 5.0)
            return  # unreachable: the streams' health says so; ask again soon
        if state is None:
            self._node_problem = (
                f"node data lost: the XMTP node at {self.gateway.pool.endpoint.url} no longer knows inbox "
                f"{inbox_id} (identity {host.stored.id}); it was probably restarted on an empty database. "
                "Nothing is received or sent there: restore the node's data, or point the gateway at the "
                "right node (env/apiUrl), or set it up again (`openclaw-convos configure`)"
            )
        elif self._node_problem:
            log.info("the XMTP node knows inbox %s again", inbox_id)
            self._node_problem = None

    def status_line(self) -> str:
        health = self.gateway.health
        count = sum(1 for h in self.gateway.hosts.values() if h.stored.conversation_id)
        problems = self.problems
        line = f"{health}: {count} conversation(s)"
        if problems:
            first = next(iter(problems.values()))
            line += f"; {len(problems)} problem(s): {first[:120]}"
        return line

    def notify(self) -> None:
        if not self.notifier.enabled:
            return
        fields = {"STATUS": self.status_line()}
        interval = self.notifier.watchdog_interval
        if interval is not None and self._clock() - self._last_ping >= interval:
            fields["WATCHDOG"] = "1"
            self._last_ping = self._clock()
        self.notifier.send(**fields)
