"""``openclaw-convos bridge``: the engine that OpenClaw's Convos plugin runs as a child process.

Lifecycle: the plugin writes ``start`` (protocol version, account, its ``channels.convos``
settings); the engine takes the state folder's gateway lock, opens every identity of the account
with the normal runtime (:func:`~openclaw_convos.gateway.service.open_gateway`) and answers
``ready``. Each admitted message becomes a ``turn`` event (see :class:`.agent.BridgeAgent`);
commands send, react, show typing, report status and join. The engine stops when stdin closes,
on ``stop`` or on SIGTERM/SIGINT: streams close, running turns get a short grace, and
unfinished messages stay recorded, to be handled after the next start (exactly once).

In bridge mode the runtime's pipeline is ``claim -> route -> admit -> turn`` with our own ``admit``
(:func:`use_openclaw_access`): every sender that is not one of our own identities reaches
OpenClaw, which applies ``dmPolicy`` and pairing; the standalone owner console (``approve CODE``,
pairing notices) is off, and attachments are described, not downloaded, before OpenClaw admits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..errors import ConfigError, ConvosError
from ..gateway.config import LoadedConfig, parse_convos_config
from ..gateway.paths import StatePaths, resolve_state_paths
from ..gateway.pipeline import Context
from ..gateway.runtime import Gateway
from .agent import BridgeAgent
from .protocol import (
    MAX_LINE,
    PROTOCOL_VERSION,
    BridgeProtocolError,
    Command,
    JoinCommand,
    ReactCommand,
    SendCommand,
    StartCommand,
    StatusCommand,
    StopCommand,
    TurnDoneCommand,
    TypingCommand,
    encode_event,
    parse_command,
)

log = logging.getLogger("openclaw_convos.bridge")

__all__ = ["START_TIMEOUT", "STOP_GRACE", "account_paths", "loaded_for", "serve"]

START_TIMEOUT = 30.0
"""How long the engine waits for the ``start`` command."""
STOP_GRACE = 1.5
"""How long running turns may still finish when the engine stops (OpenClaw allows 5 s in all)."""
TURN_TIMEOUT = 600.0
"""The runtime's limit for one OpenClaw turn (OpenClaw's agent may use tools for a while)."""
PLUGIN_ONLY_KEYS = frozenset({"engineCommand"})


def account_paths(base: StatePaths, account_id: str) -> StatePaths:
    """Where an account's identities and state live: the state folder itself for ``default``
    (as the standalone gateway), ``<state>/convos/accounts/<id>/`` for the others."""
    if account_id == "default":
        return base
    if not account_id or "/" in account_id or account_id.startswith("."):
        raise ConfigError(f"account id {account_id!r} cannot name a folder")
    root = base.data_dir / "accounts" / account_id
    return StatePaths(state_dir=root, config_path=base.config_path, credentials_dir=root / "credentials")


def loaded_for(start: StartCommand, environ: Mapping[str, str]) -> LoadedConfig:
    """The engine's config: the plugin's resolved ``channels.convos`` (account merged in)."""
    section = {k: v for k, v in start.config.items() if k not in PLUGIN_ONLY_KEYS and k != "accounts"}
    convos = parse_convos_config(section, environ=environ)
    paths = account_paths(resolve_state_paths(environ), start.account_id)
    return LoadedConfig(convos=convos, paths=paths, exists=True, environ=environ)


class _Output:
    """Events to the plugin, one JSON line each, on the protocol pipe (never on fd 1)."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def emit(self, line: str) -> None:
        if not self._transport.is_closing():
            self._transport.write(line.encode("utf-8") + b"\n")

    def event(self, name: str, /, **fields: Any) -> None:
        self.emit(encode_event(name, **fields))


async def _open_pipes(stdin_fd: int, stdout_fd: int) -> tuple[asyncio.StreamReader, _Output]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE + 2)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(stdin_fd, "rb", buffering=0)
    )
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(stdout_fd, "wb", buffering=0))
    return reader, _Output(transport)


async def _read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next non-empty line; None at end of input."""
    while True:
        try:
            line = await reader.readline()
        except ValueError as exc:  # longer than the limit
            raise BridgeProtocolError(f"command line longer than {MAX_LINE} bytes") from exc
        if not line:
            return None
        if line.strip():
            return line


async def serve(stdin_fd: int, stdout_fd: int, stop: asyncio.Event, environ: Mapping[str, str]) -> int:
    """Run the engine until stdin closes, ``stop`` is set, or a ``stop`` command; 0 on a clean stop."""
    from ..gateway.service import open_gateway

    reader, out = await _open_pipes(stdin_fd, stdout_fd)
    out.event("hello", protocol=PROTOCOL_VERSION, engineVersion=__version__)
    try:
        first = await asyncio.wait_for(_read_line(reader), START_TIMEOUT)
    except TimeoutError:
        out.event("fatal", message=f"no start command within {START_TIMEOUT:.0f}s")
        return 2
    if first is None:
        return 0
    try:
        start = parse_command(first)
        if not isinstance(start, StartCommand):
            raise BridgeProtocolError("the first command must be start")
        loaded = loaded_for(start, environ)
    except ConvosError as exc:
        out.event("fatal", message=str(exc))
        return 3
    agent = BridgeAgent(out.emit)
    gateway = open_gateway(loaded, agent, turn_timeout=TURN_TIMEOUT)
    use_openclaw_access(gateway)
    agent.is_own = lambda inbox: _is_own(gateway, inbox)
    agent.is_owner = gateway.ownership.is_owner
    session = _Session(gateway, agent, out, loaded)
    try:
        await gateway.start()  # takes the state folder's gateway lock
    except ConvosError as exc:
        out.event("fatal", message=str(exc))
        return 3
    try:
        out.event("ready", protocol=PROTOCOL_VERSION, accountId=start.account_id, **session.snapshot())
        await session.run(reader, stop)
    finally:
        await session.close()
        await gateway.stop(drain_timeout=STOP_GRACE)
    out.event("stopped")
    return 0


def _is_own(gateway: Gateway, inbox_id: str) -> bool:
    return any(h.client.inbox_id == inbox_id for h in gateway.hosts.values())


def use_openclaw_access(gateway: Gateway) -> None:
    """Bridge mode's pipeline: OpenClaw decides who may talk (``dmPolicy``, allow lists,
    pairing), so ``admit`` only keeps our own identities out; the owner console (``command``:
    ``approve CODE``) is left out because OpenClaw owns pairing; and ``media`` is left out because
    attachments must not be downloaded before OpenClaw has admitted the sender (the turn describes
    them instead)."""
    pipeline = gateway.pipeline

    async def admit(ctx: Context) -> None:
        if _is_own(gateway, ctx.event.sender_inbox_id):
            ctx.decide(ignored=True)

    pipeline.steps = [pipeline.claim, pipeline.route, admit, pipeline.turn]


class _Session:
    """Commands of one running engine; each network command runs in its own named task."""

    def __init__(self, gateway: Any, agent: BridgeAgent, out: _Output, loaded: LoadedConfig) -> None:
        from ..gateway.runtime import Gateway

        assert isinstance(gateway, Gateway)
        self.gateway = gateway
        self.agent = agent
        self.out = out
        self.loaded = loaded
        self._tasks: set[asyncio.Task[None]] = set()

    def snapshot(self) -> dict[str, Any]:
        conversations = []
        for host in self.gateway.hosts.values():
            stored = host.stored
            conversations.append(
                {
                    "conversationId": stored.conversation_id,
                    "identityId": stored.id,
                    "inboxId": host.client.inbox_id,
                    "role": stored.role,
                    "stream": host.stream.state,
                    "joinPending": stored.conversation_id is None and stored.invite_slug is not None,
                }
            )
        return {
            "health": self.gateway.health,
            "conversations": conversations,
            "problems": dict(self.gateway.problems),
            "env": self.loaded.convos.env,
        }

    async def run(self, reader: asyncio.StreamReader, stop: asyncio.Event) -> None:
        stopped = asyncio.create_task(stop.wait(), name="convos:bridge:stop")
        try:
            while True:
                line_task = asyncio.create_task(_read_line(reader), name="convos:bridge:stdin")
                done, _ = await asyncio.wait({line_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if stopped in done:
                    line_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, BridgeProtocolError):
                        await line_task
                    return
                try:
                    line = line_task.result()
                except BridgeProtocolError as exc:
                    self.out.event("error", message=str(exc))
                    return
                if line is None:  # stdin closed: the plugin is gone
                    return
                try:
                    command = parse_command(line)
                except BridgeProtocolError as exc:
                    self.out.event("error", message=str(exc))
                    continue
                if isinstance(command, StopCommand):
                    return
                self.handle(command)
        finally:
            stopped.cancel()

    def handle(self, command: Command) -> None:
        if isinstance(command, TurnDoneCommand):
            if not self.agent.complete(command):
                self.out.event("error", message=f"turn {command.turn_id} is not waiting")
            return
        if isinstance(command, StartCommand):
            self.out.event("error", message="already started")
            return
        kind = type(command).__name__.removesuffix("Command").lower()
        task = asyncio.create_task(self._run(command), name=f"convos:bridge:{kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, command: Command) -> None:
        request_id = getattr(command, "request_id", None)
        try:
            if isinstance(command, SendCommand):
                ids = await self._send(command)
                self.out.event("sent", id=request_id, conversationId=command.conversation_id, messageIds=ids)
            elif isinstance(command, ReactCommand):
                message_id = await self._react(command)
                self.out.event("reacted", id=request_id, messageId=message_id)
            elif isinstance(command, TypingCommand):
                await self._typing(command)
            elif isinstance(command, StatusCommand):
                self.out.event("status", id=request_id, **self.snapshot())
            elif isinstance(command, JoinCommand):
                self.out.event("join", id=request_id, **await self._join(command))
        except asyncio.CancelledError:
            raise
        except ConvosError as exc:
            self.out.event("error", id=request_id, message=str(exc))
        except Exception as exc:
            log.exception("bridge command %s failed", type(command).__name__)
            self.out.event("error", id=request_id, message=f"unexpected {type(exc).__name__}: {exc}")

    def _conversation(self, conversation_id: str) -> Any:
        host = self.gateway.host_for_conversation(conversation_id)
        conversation = host.client.conversation(conversation_id) if host is not None else None
        if host is None or conversation is None:
            raise ConfigError(f"no identity of this account is in conversation {conversation_id}")
        return host, conversation

    async def _send(self, command: SendCommand) -> list[str]:
        from ..gateway.chunking import chunk_text
        from ..xmtp import outbound as out

        host, conversation = self._conversation(command.conversation_id)
        ids = []
        for index, chunk in enumerate(chunk_text(command.text, self.loaded.convos.text_chunk_limit)):
            item: out.Outbound = out.Text(chunk)
            if index == 0 and command.reply_to:
                target = host.client.message(command.reply_to)
                item = out.Reply(
                    command.reply_to, target.sender_inbox_id if target is not None else None, chunk
                )
            ids.append(await conversation.publish(item))
        return ids

    async def _react(self, command: ReactCommand) -> str:
        from ..xmtp import outbound as out

        host, conversation = self._conversation(command.conversation_id)
        target = host.client.message(command.message_id)
        reference_inbox = target.sender_inbox_id if target is not None else ""
        reaction = out.Reaction(command.message_id, reference_inbox, command.emoji, added=not command.remove)
        return str(await conversation.publish(reaction))

    async def _typing(self, command: TypingCommand) -> None:
        from ..xmtp import outbound as out

        _host, conversation = self._conversation(command.conversation_id)
        await conversation.publish(out.Typing(command.active))

    async def _join(self, command: JoinCommand) -> dict[str, Any]:
        from ..joinflow.joiner import check_invite, request_join
        from ..xmtp import XmtpClient

        invite = check_invite(command.invite_url, now=datetime.now(UTC))
        store = self.gateway.identities
        stored = store.create(role="member", label=invite.payload.name or "member")
        stored = store.update(stored, invite_slug=invite.slug)
        host = await self.gateway.add_identity(stored)
        client = host.client
        if not isinstance(client, XmtpClient):
            raise ConfigError("joining needs a libxmtp client")
        await request_join(client, invite, profile_name=self.gateway.settings.display_name)
        return {"status": "pending", "identityId": stored.id, "name": invite.payload.name}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)


def protocol_fds() -> tuple[int, int]:
    """Keep the protocol on a private copy of stdout; point fd 1 at stderr so nothing else
    (a native library's print) can corrupt the event stream."""
    protocol_out = os.dup(1)
    os.dup2(2, 1)
    return 0, protocol_out
