"""Shared pieces of the benchmarks: the devnode process, raw libxmtp helpers, statistics, the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("RUST_LOG", "off")

import xmtp_bindings.xmtpv3 as ffi

from openclaw_convos.xmtp import BackendPool, Endpoint, Identity, IdentityKeys, XmtpClient
from openclaw_convos.xmtp import content as xc

REPO = Path(__file__).resolve().parent.parent
NODE_URL = "http://localhost:5556"
"""Where every benchmark's devnode listens: the convos-cli's ``--env local`` can reach only this."""


# ------------------------------------------------------------------------------------------- stats


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Figure:
    """One line of the results table: ours against a floor or a peer, measured in the same run."""

    key: str
    what: str
    ours: float
    other: float
    unit: str
    against: str
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float:
        """How many times worse we are (>1 = slower / bigger than the floor or peer)."""
        if self.ours != self.ours or self.other != self.other or not self.other or not self.ours:
            return float("nan")
        return self.other / self.ours if self.higher_is_better else self.ours / self.other


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(
            f"  {figure.key:<4} {figure.what:<46} ours {fmt(figure.ours)} {figure.unit:<6} "
            f"{figure.against} {fmt(figure.other)}  ratio {figure.ratio:.2f}",
            flush=True,
        )


def fmt(value: float) -> str:
    if value != value:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# ------------------------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count()), "python": platform.python_version(), "kernel": platform.release()}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        info["xmtp-bindings"] = version("xmtp-bindings")
    return info


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=20).stdout.strip()


def rss_kb(pid: int | None = None) -> int:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


def threads(pid: int | None = None) -> int:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    match = re.search(r"Threads:\s+(\d+)", status)
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------------------------------- devnode


@contextlib.contextmanager
def devnode_process(db_path: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A devnode in its own process on localhost:5556 (so it never shares our GIL)."""
    argv = [sys.executable, "-m", "openclaw_convos.devnode", "--port", "5556"]
    if db_path is not None:
        argv += ["--db", str(db_path)]
    env = dict(os.environ, RUST_LOG="off")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if b"listening" in line or not line:
            break
    if b"listening" not in line:
        proc.kill()
        raise RuntimeError(f"the devnode did not start on localhost:5556: {line!r}")
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------- clients


def pool() -> BackendPool:
    return BackendPool(Endpoint(NODE_URL))


async def new_client(folder: Path, name: str, backends: BackendPool | None = None) -> XmtpClient:
    identity = Identity(IdentityKeys.generate(), folder / f"{name}.db3")
    return await XmtpClient.open(identity, backends or pool())


class _Callback(ffi.FfiMessageCallback):
    def __init__(self, loop: asyncio.AbstractEventLoop, sink: Callable[[ffi.FfiMessage], None]) -> None:
        self._loop = loop
        self._sink = sink

    def on_message(self, message: ffi.FfiMessage) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._sink, message)

    def on_error(self, error: BaseException) -> None:
        pass

    def on_close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def raw_stream(client: XmtpClient, sink: Callable[[ffi.FfiMessage], None]) -> AsyncIterator[None]:
    """libxmtp's ``stream_all_messages`` on ``client``, each message handed to ``sink`` on the loop."""
    callback = _Callback(asyncio.get_running_loop(), sink)
    closer = await client.raw_conversations.stream_all_messages(callback, None)
    await closer.wait_for_ready()
    try:
        yield
    finally:
        closer.end()


def text_of(message: ffi.FfiMessage) -> str | None:
    try:
        decoded = xc.decode_standard(bytes(message.content))
    except Exception:
        return None
    if isinstance(decoded, xc.Text | xc.Reply):
        return decoded.text
    return None


class Pinger:
    """A user who sends ``ping-N`` and waits for it to come back from someone else (raw libxmtp)."""

    def __init__(self, client: XmtpClient, conversation_id: str) -> None:
        self.client = client
        conversation = client.conversation(conversation_id)
        assert conversation is not None
        self._raw = conversation._raw
        self.conversation_id = conversation_id
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._counter = 0

    def on_message(self, message: ffi.FfiMessage) -> None:
        if message.sender_inbox_id == self.client.inbox_id:
            return
        text = text_of(message)
        if text is not None:
            future = self._waiting.pop(text, None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

    async def ping(self, timeout: float = 30.0) -> float:
        """One round trip in seconds."""
        self._counter += 1
        text = f"ping-{id(self) % 100000}-{self._counter}"
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[text] = future
        started = time.perf_counter()
        await self._raw.send(xc.encode_text(text), ffi.FfiSendMessageOpts(should_push=True))
        done = await asyncio.wait_for(future, timeout)
        return done - started


async def measure_round_trips(pinger: Pinger, count: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        await pinger.ping()
    return [await pinger.ping() for _ in range(count)]


async def closed_loop(pingers: Sequence[Pinger], seconds: float) -> tuple[float, list[float]]:
    """Every pinger pings in a loop for ``seconds``; returns (round trips per second, latencies)."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def loop(p: Pinger) -> None:
        while time.perf_counter() < deadline:
            latencies.append(await p.ping(timeout=60))

    await asyncio.gather(*(loop(p) for p in pingers))
    return len(latencies) / (time.perf_counter() - started), latencies


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": quantile(values, 0.5) * 1000, "p99_ms": quantile(values, 0.99) * 1000}
