"""Drive ``openclaw-convos bridge`` and ``setup`` as OpenClaw's plugin does: a child process, JSON lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ENGINE = [sys.executable, "-m", "openclaw_convos"]


async def run_setup(
    environ: Mapping[str, str], *args: str, timeout: float = 60.0
) -> tuple[int, dict[str, Any], str]:
    """``openclaw-convos setup ...``: exit code, the JSON result, stderr."""
    proc = await asyncio.create_subprocess_exec(
        *ENGINE,
        "setup",
        *args,
        env={**os.environ, **environ},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    text = out.decode().strip()
    return proc.returncode or 0, (json.loads(text) if text else {}), err.decode()


class Engine:
    """A running bridge engine: events read into a list, commands written as lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Event()
        self._readers = [
            asyncio.create_task(self._read_events(), name="test:engine:stdout"),
            asyncio.create_task(self._read_stderr(), name="test:engine:stderr"),
        ]

    @classmethod
    async def start(
        cls, environ: Mapping[str, str], config: dict[str, Any], account: str = "default"
    ) -> Engine:
        proc = await asyncio.create_subprocess_exec(
            *ENGINE,
            "bridge",
            env={**os.environ, **environ},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        engine = cls(proc)
        await engine.send({"type": "start", "protocol": 1, "accountId": account, "config": config})
        return engine

    async def _read_events(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.events.append(json.loads(line))
            self._changed.set()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()

    async def wait_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0, after: int = 0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[after:]:
                if predicate(event):
                    return event
            if self.proc.returncode is not None and not self._changed.is_set():
                raise AssertionError(f"engine exited {self.proc.returncode}; stderr: {self.stderr[-20:]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no such event; got {self.events[-5:]}; stderr {self.stderr[-10:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def close_stdin_and_wait(self, timeout: float = 10.0) -> float:
        """Close stdin; seconds until the process exited."""
        assert self.proc.stdin is not None
        began = time.monotonic()
        self.proc.stdin.close()
        await asyncio.wait_for(self.proc.wait(), timeout)
        return time.monotonic() - began

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        for task in self._readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def state_environ(state: Path) -> dict[str, str]:
    return {
        "OPENCLAW_STATE_DIR": str(state),
        "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json"),
        "RUST_LOG": "off",
    }
