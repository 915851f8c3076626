"""Shared machinery for the fault, flood and security tests.

- :class:`Node`: a devnode on a fixed free loopback port with a file database, so it can be
  stopped (an outage) and started again at the same URL with everything kept;
- :class:`Place`: a state folder with an ``openclaw.json`` pointing at the node, simulated users;
- :class:`GatewayProcess`: the gateway in a subprocess (``gateway_runner.py``), which can be
  SIGKILLed; always cleaned up by :meth:`GatewayProcess.close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw_convos.devnode import Devnode
from openclaw_convos.gateway.service import configure_with_invite
from openclaw_convos.joinflow.joiner import JoinStatus
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, XmtpConversation

from ..statefolder import StateFolder

RUNNER = Path(__file__).with_name("gateway_runner.py")
ECHO_PREFIX = "echo: "


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """A devnode that keeps its port and database across stop/start."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.port = free_port()
        self._node: Devnode | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._node is not None

    async def start(self) -> None:
        assert self._node is None
        for attempt in range(20):
            node = Devnode(port=self.port, db_path=str(self.db_path))
            try:
                await node.start()
            except Exception:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)  # the port is still in TIME_WAIT or briefly taken
                continue
            self._node = node
            return

    async def stop(self) -> None:
        if self._node is not None:
            await self._node.stop()
            self._node = None


class ExternalNode:
    """A devnode in its own process (``python -m openclaw_convos.devnode``): for floods, where a
    node sharing the test process's GIL with the attackers would be the bottleneck."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.url = ""
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ExternalNode:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "openclaw_convos.devnode",
            "--port",
            "0",
            "--db",
            str(self.db_path),
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, RUST_LOG="off"),
        )
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 30)).decode()
        if "listening on " not in line:
            await self.__aexit__()
            raise RuntimeError(f"the devnode did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@dataclass
class Place(StateFolder):
    """A state folder (``root/state``) whose config points at ``url``, and the users around it."""

    root: Path
    url: str
    pool: BackendPool
    users: list[SimulatedUser] = field(default_factory=list)

    def config_api_url(self) -> str | None:
        return self.url

    async def user(self, name: str, *, start: bool = True) -> SimulatedUser:
        user = await SimulatedUser.create(name, self.pool, self.root / "phones")
        if start:
            await user.start()
        self.users.append(user)
        return user

    async def close(self) -> None:
        for user in self.users:
            with contextlib.suppress(Exception):
                await user.stop()
        self.users.clear()


async def setup_owner(place: Place, name: str = "Alice") -> tuple[SimulatedUser, str]:
    """``name`` creates a conversation in her app; ``configure --invite`` joins it as the owner channel."""
    owner = await place.user(name)
    room = await owner.create_conversation(f"{name} & agent")
    result = await configure_with_invite(place.load(), owner.invite(room), timeout=30)
    assert result.join.status is JoinStatus.JOINED, result.join.message
    return owner, room.id


async def conversation_texts(conversation: XmtpConversation, sender: str) -> list[str]:
    """Every text (or reply text) ``sender`` has in ``conversation``, read from the node after a sync."""
    from openclaw_convos.xmtp import content as xc

    await conversation.sync()
    out = []
    for message in await conversation.messages(application_only=True):
        if message.sender_inbox_id != sender:
            continue
        decoded = xc.decode_standard(message.content)
        if isinstance(decoded, xc.Text | xc.Reply):
            out.append(decoded.text or "")
    return out


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(step)


class GatewayProcess:
    """The gateway runner in a subprocess: start, wait for READY, SIGKILL or SIGTERM it."""

    def __init__(
        self,
        place: Place,
        out: Path,
        *,
        agent_delay: float = 0.0,
        extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.place = place
        self.out = out
        self.agent_delay = agent_delay
        self.extra = list(extra)
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.stderr_path = out / "stderr.log"
        self._drain: asyncio.Task[None] | None = None

    def argv(self) -> list[str]:
        return [
            sys.executable,
            str(RUNNER),
            "--url",
            self.place.url,
            "--state-dir",
            str(self.place.state_dir),
            "--config",
            str(self.place.config_path),
            "--out",
            str(self.out),
            "--agent-delay",
            str(self.agent_delay),
            *self.extra,
        ]

    async def spawn(self) -> None:
        assert self.proc is None or self.proc.returncode is not None
        self.out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["RUST_LOG"] = "off"
        env.update(self.env or {})
        stderr = os.open(self.stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv(), stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env
            )
        finally:
            os.close(stderr)
        self.starts += 1

    async def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the gateway process did not become ready")
            line = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            if not line:
                code = await self.proc.wait()
                raise RuntimeError(f"the gateway process exited ({code}): {self.stderr_tail()}")
            if line.startswith(b"READY "):
                self._drain = asyncio.create_task(self._drain_stdout(self.proc.stdout))
                return dict(json.loads(line[6:]))
            self._stdout_log(line)

    def _stdout_log(self, line: bytes) -> None:
        with open(self.out / "stdout.log", "ab") as handle:
            handle.write(line)

    async def _drain_stdout(self, stream: asyncio.StreamReader) -> None:
        """Keep reading what the process prints after READY (libxmtp logs go to stdout), so
        it never blocks on a full pipe; kept in ``stdout.log``."""
        while line := await stream.readline():
            self._stdout_log(line)

    async def start(self, timeout: float = 60.0) -> dict[str, Any]:
        await self.spawn()
        return await self.wait_ready(timeout)

    async def kill(self) -> None:
        """SIGKILL: no clean-up code runs in the gateway."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
            self.kills += 1
        await self._drained()

    async def _drained(self) -> None:
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain, 10)
            self._drain = None

    def stdout_text(self) -> str:
        path = self.out / "stdout.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def terminate(self, timeout: float = 30.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._drained()
        return int(self.proc.returncode or 0)

    async def run_to_exit(self, timeout: float = 60.0) -> tuple[int, str]:
        """Run until the process ends by itself (start-up failures); returns (exit code, stderr).

        stderr is a pipe here, not a file: a process under ``RLIMIT_FSIZE`` cannot grow files.
        """
        env = dict(os.environ)
        env["RUST_LOG"] = "off"
        env.update(self.env or {})
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        self.starts += 1
        try:
            _out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        except TimeoutError:
            await self.close()
            raise
        return int(self.proc.returncode or 0), err.decode(errors="replace")

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self._drained()

    def stderr_tail(self, lines: int = 20) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def status(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.out / "status.json").read_text()))
        except (OSError, ValueError):
            return None

    def turns(self) -> list[dict[str, Any]]:
        path = self.out / "turns.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
