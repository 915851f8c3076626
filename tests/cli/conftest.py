"""Run ``openclaw-convos`` through its real entry point against a devnode, in a temp state folder.

``await cli("status", "--json")`` calls ``openclaw_convos.cli.main.main`` in a worker thread (so
simulated users keep running on the test's loop) with its own stdin/stdout/stderr;
``cli.spawn(...)`` starts ``python -m openclaw_convos.cli.main`` as a real process.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.cli.main import main
from openclaw_convos.devnode import Devnode
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint

_SCRUBBED = (
    "OPENCLAW_OAUTH_DIR",
    "OPENCLAW_PROFILE",
    "CLAWDBOT_STATE_DIR",
    "CLAWDBOT_CONFIG_PATH",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "CONVOS_UPLOAD_PROVIDER",
    "CONVOS_UPLOAD_PROVIDER_TOKEN",
    "CONVOS_UPLOAD_PROVIDER_GATEWAY",
    "CONVOS_S3_BUCKET",
    "CONVOS_S3_REGION",
    "CONVOS_S3_ENDPOINT",
    "CONVOS_API_KEY",
    "CONVOS_API_BASE_URL",
)
# main() swaps the process streams; one call at a time
_STREAMS = threading.Lock()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Cli:
    root: Path
    node: Devnode | None = None
    users: list[SimulatedUser] = field(default_factory=list)
    procs: list[Spawned] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "openclaw.json"

    @property
    def env(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        environ.update(
            {
                "OPENCLAW_STATE_DIR": str(self.state_dir),
                "OPENCLAW_CONFIG_PATH": str(self.config_path),
                "HOME": str(self.root / "home"),
                "RUST_LOG": "off",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return environ

    @property
    def net(self) -> list[str]:
        """``--env local --api-url <devnode>``."""
        assert self.node is not None
        return ["--env", "local", "--api-url", self.node.url]

    async def __call__(self, *args: str, stdin: str = "") -> Result:
        return await asyncio.to_thread(self.call, *args, stdin=stdin)

    def call(self, *args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        with _STREAMS:
            saved = sys.stdin, sys.stdout, sys.stderr
            sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
            finally:
                sys.stdin, sys.stdout, sys.stderr = saved
        return Result(code, out.getvalue(), err.getvalue())

    async def process(self, *args: str, stdin: str = "") -> Result:
        """The command as its own process, as a user runs it.

        Used for commands that reopen an identity another command of this test just had open:
        in one process, libxmtp occasionally refuses such a reopen ("PRAGMA key or salt has
        incorrect value") while the previous client winds down; separate processes never do.
        """
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "openclaw_convos.cli.main", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> Spawned:
        proc = Spawned(
            subprocess.Popen(
                [sys.executable, "-m", "openclaw_convos.cli.main", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env or self.env,
            )
        )
        self.procs.append(proc)
        return proc

    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.config_path.read_text())["channels"]["convos"]
        return data

    async def user(self, name: str, *, start: bool = True) -> SimulatedUser:
        assert self.node is not None
        user = await SimulatedUser.create(name, BackendPool(Endpoint(self.node.url)), self.root / "phones")
        if start:
            await user.start()
        self.users.append(user)
        return user


class Spawned:
    """A CLI process whose output is read all the time by a thread (a full pipe never blocks it)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for_line(self, marker: str, timeout: float = 20.0) -> str:
        """The output up to the first line containing ``marker``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(marker in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"{marker!r} not printed; got: {''.join(self.lines)!r}")
                self._changed.wait(min(remaining, 0.2))
            return "".join(self.lines)

    def stop(self, sig: int, timeout: float = 20.0) -> int:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pid {self.pid} did not stop on signal {sig}") from None
        self._reader.join(timeout=5)
        return code


async def eventually(check: Any, *, timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        await asyncio.sleep(0.1)


@pytest.fixture
def offline_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """A CLI with a temp state folder and no node."""
    cli = Cli(tmp_path)
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(cli.state_dir))
    monkeypatch.setenv("OPENCLAW_CONFIG_PATH", str(cli.config_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield cli
    for spawned in cli.procs:
        if spawned.proc.poll() is None:
            spawned.proc.kill()
        spawned.proc.wait()
        if spawned.proc.stdout is not None:
            spawned.proc.stdout.close()


@pytest.fixture
async def cli(offline_cli: Cli) -> AsyncIterator[Cli]:
    """A CLI with a temp state folder and a devnode of its own."""
    async with Devnode(port=0) as node:
        offline_cli.node = node
        try:
            yield offline_cli
        finally:
            for user in offline_cli.users:
                await user.stop()
            for spawned in offline_cli.procs:
                if spawned.proc.poll() is None:
                    spawned.proc.kill()
