"""``run``: the gateway in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ..agents.base import Agent
from ..errors import ConfigError, ConvosError
from ..gateway.config import LoadedConfig, update_convos_config
from ..gateway.metrics import GatewayMetrics, HttpEndpoint, parse_listen_address
from .console import Console
from .context import add_network_options, load, require_configured
from .control import ControlServer, control_dir
from .errors import EXIT_OK
from .runtime_info import agent_description, stop_on_signals
from .sdnotify import Notifier
from .supervise import Supervisor

if TYPE_CHECKING:
    from ..gateway.runtime import Gateway

log = logging.getLogger("openclaw_convos.cli.run")


async def _record_owner_conversation(loaded: LoadedConfig, conversation_id: str) -> None:
    """A pending owner join finished: write ``ownerConversationId`` once, as configure would have."""
    await asyncio.to_thread(
        update_convos_config, loaded.paths.config_path, {"ownerConversationId": conversation_id}
    )
    log.info("owner conversation %s saved to %s", conversation_id, loaded.paths.config_path)


OWNER_CONFIG_RETRY_SECONDS = 10.0
OWNER_FACT = "owner_conversation_id"


class _OwnerRecord:
    """A pending owner join completed while running: the facts go to the state database first
    (the owner, the owner conversation), then to the config file. A config that cannot be written
    at that moment (being edited, unreadable) is retried every 10 s while the gateway serves on;
    the owner conversation is never lost with it."""

    def __init__(self, loaded: LoadedConfig, *, saved: bool) -> None:
        self.loaded = loaded
        self.saved = saved
        self.promoted = saved
        self._next_try = 0.0
        self._warned = False

    async def step(self, gateway: Gateway) -> None:
        conversation_id = gateway.owner_conversation_id
        if self.saved or not conversation_id:
            return
        if not self.promoted:
            await _promote_owner(gateway)
            await gateway.state.set_activity(OWNER_FACT, conversation_id)
            self.promoted = True
        if time.monotonic() < self._next_try:
            return
        try:
            await _record_owner_conversation(self.loaded, conversation_id)
        except ConfigError as exc:
            self._next_try = time.monotonic() + OWNER_CONFIG_RETRY_SECONDS
            if not self._warned:
                self._warned = True
                log.error(
                    "the owner conversation %s is joined and kept in the state database, but %s cannot "
                    "be written (%s); still serving, retrying every %.0f s",
                    conversation_id,
                    self.loaded.paths.config_path,
                    exc,
                    OWNER_CONFIG_RETRY_SECONDS,
                )
            return
        self.saved = True


async def _promote_owner(gateway: Gateway) -> None:
    """The owner conversation's pending join completed: now its invite's creator is the owner."""
    from ..gateway.service import promote_pending_owner

    owner = gateway.owner_conversation_id
    host = gateway.host_for_conversation(owner) if owner else None
    if host is None:
        return
    inbox_id = await promote_pending_owner(gateway.state, host.stored.id)
    if inbox_id is not None:
        await gateway.add_owner(inbox_id)
        log.info("%s is the owner: the owner conversation's join is complete", inbox_id)


async def cmd_run(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    debug = bool(getattr(args, "debug", False)) or loaded.convos.debug
    _log_level(debug, getattr(args, "log_format", "text"))
    stored = require_configured(loaded)
    _raise_file_limit(console, len(stored))
    stop = asyncio.Event()
    stop_on_signals(stop)
    http: tuple[str, int] | None = None
    if args.http:
        http = parse_listen_address(args.http)
    notifier = Notifier()
    notifier.send(READY="1", STATUS="starting: opening identities and streams")
    starting = asyncio.create_task(_ping_while_starting(notifier), name="convos:sd-notify")
    metrics: GatewayMetrics | None = None
    endpoint: HttpEndpoint | None = None
    try:
        from ..gateway.service import open_gateway

        agent: Agent | None = None
        if http is not None:
            from ..agents import build_agent

            metrics = GatewayMetrics()
            # the same backend open_gateway would build, counted
            backend = build_agent(
                loaded.convos.agent,
                environ=loaded.environ,
                work_dir=loaded.paths.media_dir,
                max_bytes=loaded.convos.media.max_bytes,
            )
            agent = metrics.wrap(backend)
            endpoint = HttpEndpoint(metrics, *http)
            endpoint.start()
            console.say(f"Health and metrics on {endpoint.url} (/healthz, /readyz, /metrics)")
        gateway = open_gateway(loaded, agent)
        if not loaded.convos.owner_conversation_id and not gateway.owner_conversation_id:
            # learned by an earlier run whose config write failed (see _OwnerRecord)
            known = await gateway.state.activity_value(OWNER_FACT)
            if known:
                gateway.owner_conversation_id = known
        console.say(
            f"Starting the Convos gateway (env {loaded.convos.env}, node {loaded.convos.endpoint().url})…"
        )
        if not await _start(gateway, stop, console):
            console.say("Stopped before the gateway finished starting.")
            notifier.send(STOPPING="1", STATUS="stopping")
            return EXIT_OK
        async with gateway:  # started: this only stops it at the end
            starting.cancel()
            supervisor = Supervisor(gateway, notifier, metrics=metrics)
            hosts = gateway.hosts.values()
            joined = sum(1 for h in hosts if h.stored.conversation_id)
            pending = sum(1 for h in hosts if not h.stored.conversation_id and h.stored.invite_slug)
            console.say(
                f"Convos gateway running: {joined} conversation(s)"
                + (f", {pending} join(s) waiting for approval" if pending else "")
                + f"; agent {agent_description(loaded)}; Ctrl-C stops it."
            )
            for key, problem in gateway.problems.items():
                console.warn(f"{key}: {problem}")
            server = ControlServer(control_dir(loaded.paths), gateway, loaded)
            control = asyncio.create_task(server.serve(stop), name="convos:control")
            owner = _OwnerRecord(loaded, saved=loaded.convos.owner_conversation_id is not None)
            owner_changed = asyncio.Event()
            unsubscribe = gateway.ownership.on_change(lambda _ownership: owner_changed.set())
            if gateway.owner_conversation_id:
                owner_changed.set()
            stopped = asyncio.create_task(stop.wait(), name="convos:stop")
            try:
                while not stop.is_set() and not control.done():
                    await supervisor.tick()  # health and the watchdog, once a second
                    changed = asyncio.create_task(owner_changed.wait(), name="convos:owner-changed")
                    await asyncio.wait(
                        {stopped, control, changed}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                    )
                    changed.cancel()
                    owner_changed.clear()
                    await owner.step(gateway)  # cheap once saved; retries a config write that failed
                if control.done() and not control.cancelled():
                    control.result()  # raise what ended it
            finally:
                unsubscribe()
                stopped.cancel()
                stop.set()
                control.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await control
            console.say("Stopping…")
            notifier.send(STOPPING="1", STATUS="stopping")
        console.say("Convos gateway stopped.")
    finally:
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        if endpoint is not None:
            endpoint.stop()
    return EXIT_OK


START_SAY_FIRST = 10.0
START_SAY_GROWTH = 3.0
_STOP_WAIT = 3.0


async def _start(gateway: Gateway, stop: asyncio.Event, console: Console) -> bool:
    """Start the gateway unless told to stop first; False when stop came before it was up.

    Start-up waits for every identity's first catch-up, which lasts as long as the node does not
    answer. Meanwhile one line says what it waits for, after 10 s, then 30 s, 90 s, ... and
    SIGTERM/Ctrl-C end the wait at once: the half-started gateway is closed within seconds.
    """
    task = asyncio.create_task(gateway.start(), name="convos:start")
    stopped = asyncio.create_task(stop.wait(), name="convos:start:stop")
    began = time.monotonic()
    since = time.strftime("%H:%M:%S")
    say_at = START_SAY_FIRST
    try:
        while True:
            timeout = max(0.0, began + say_at - time.monotonic())
            done, _pending = await asyncio.wait(
                {task, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                task.result()  # raise what stopped the start
                return True
            if stopped in done:
                task.cancel()
                await asyncio.wait({task}, timeout=_STOP_WAIT)
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(gateway.stop(drain_timeout=0.5), _STOP_WAIT)
                return False
            reason = await _waiting_for(gateway, since)
            console.warn(f"still starting after {time.monotonic() - began:.0f} s: {reason}")
            say_at *= START_SAY_GROWTH
    finally:
        stopped.cancel()


async def _waiting_for(gateway: Gateway, since: str) -> str:
    url = gateway.pool.endpoint.url
    try:
        await asyncio.wait_for(gateway.pool.probe(timeout=2.0), 3.0)
    except (ConvosError, TimeoutError):
        return (
            f"the XMTP node at {url} does not answer (since {since}); it starts serving once the node is "
            "back. Check the network and the node's URL (env/apiUrl); Ctrl-C or SIGTERM stops it"
        )
    opened = len(gateway.hosts)
    return f"the node at {url} answers; opening identities and catching up ({opened} open so far)"


def _raise_file_limit(console: Console, identities: int) -> None:
    """Each identity holds a few open files: take the hard limit, and say so if even that is short."""
    from ..limits import FILES_PER_IDENTITY, raise_open_file_limit

    limit = raise_open_file_limit()
    if limit.before != limit.after:
        log.info("open-file limit raised from %s to %s", limit.before, limit.after)
    fits = limit.identities
    if fits is not None and identities > fits:
        console.warn(
            f"{identities} identities need about {identities * FILES_PER_IDENTITY} open files but the "
            f"limit is {limit.after}: some will fail to open. Raise it (systemd LimitNOFILE=, "
            "docker --ulimit nofile=, ulimit -Hn)"
        )


async def _ping_while_starting(notifier: Notifier) -> None:
    """Keep systemd's watchdog fed while start-up waits (the log says for what)."""
    interval = notifier.watchdog_interval
    if interval is None:
        return
    while True:
        notifier.send(WATCHDOG="1")
        await asyncio.sleep(interval)


def _log_level(debug: bool, log_format: str = "text") -> None:
    from .logs import configure_logging

    configure_logging(debug, log_format)
    if not debug:
        # the foreground gateway tells what it does (joins, approvals, problems), never message bodies
        logging.getLogger("openclaw_convos").setLevel(logging.INFO)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="run the gateway in the foreground (Ctrl-C or SIGTERM stops it cleanly)",
        description="Serve every conversation of the configured identities until Ctrl-C or SIGTERM. "
        "Finishes pending joins, admits joiners of our invites, answers with the agent backend.",
    )
    add_network_options(p)
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        default=None,
        help="serve /healthz, /readyz and Prometheus /metrics there, e.g. 127.0.0.1:9464 (keep it on "
        "localhost or a private network: it needs no password)",
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or one JSON object per line",
    )
    p.set_defaults(handler=cmd_run)
