"""(a) echo round trip, (b) against convos-cli ``agent serve``, (c) throughput with 1/10/100 conversations.

The pinging users are raw libxmtp clients in this process; the echoing side runs in a process of its
own (``bench.echo_side``): raw clients that send every text straight back (the floor), our gateway
with the EchoAgent, or the convos-cli's ``agent serve`` driven by a trivial echo loop (the peer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.interop.peer import CliInstall, CliUser

from bench.common import (
    REPO,
    Figure,
    Pinger,
    Results,
    closed_loop,
    measure_round_trips,
    new_client,
    pool,
    quantile,
    raw_stream,
)
from openclaw_convos.convos.invites import parse_invite
from openclaw_convos.gateway.config import load_config
from openclaw_convos.gateway.identities import IdentityStore
from openclaw_convos.joinflow.joiner import JoinStatus, request_join, wait_for_join
from openclaw_convos.xmtp import XmtpClient

CONVERSATIONS = (1, 10, 100)
PROFILE: Path | None = None
"""When set, the gateway of (a)/(c) runs under ``py-spy record`` into this file."""
PROFILE_FORMAT = "speedscope"


@dataclass
class Side:
    proc: asyncio.subprocess.Process
    hello: dict[str, Any]
    lines: list[str] = field(default_factory=list)

    async def close(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        last: dict[str, Any] = {}
        try:
            async with asyncio.timeout(60):
                while line := await self.proc.stdout.readline():
                    with contextlib.suppress(json.JSONDecodeError):
                        last = json.loads(line)
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        return last


async def start_side(*args: str, timeout: float = 300.0, profile: Path | None = None) -> Side:
    argv = [sys.executable, "-m", "bench.echo_side", *args]
    if profile is not None:
        spy = str(Path(sys.executable).parent / "py-spy")
        argv = [spy, "record", "-r", "250", "-o", str(profile), "-f", PROFILE_FORMAT, "--", *argv]
    logs = os.environ.get("BENCH_SIDE_LOGS")  # a folder: keep each side's stderr there
    stderr = None
    if logs:
        Path(logs).mkdir(parents=True, exist_ok=True)
        stderr = open(Path(logs) / f"{args[0]}-{len(os.listdir(logs))}.stderr", "wb")  # noqa: SIM115, ASYNC230
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise RuntimeError(f"bench.echo_side {' '.join(args)} ended before it was ready")
            if line.startswith(b"{"):
                return Side(proc, json.loads(line))


@contextlib.asynccontextmanager
async def streaming(pingers: list[Pinger]) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for p in pingers:
            await stack.enter_async_context(raw_stream(p.client, p.on_message))
        yield


async def _users(folder: Path, count: int) -> list[XmtpClient]:
    backends = pool()
    limit = asyncio.Semaphore(16)

    async def one(i: int) -> XmtpClient:
        async with limit:
            return await new_client(folder, f"user{i}", backends)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _groups(users: list[XmtpClient], peers: list[str]) -> list[str]:
    limit = asyncio.Semaphore(16)

    async def one(user: XmtpClient, peer: str) -> str:
        async with limit:
            return (await user.create_group([peer], name="bench")).id

    return list(await asyncio.gather(*(one(u, p) for u, p in zip(users, peers, strict=True))))


@contextlib.asynccontextmanager
async def raw_world(root: Path, count: int) -> AsyncIterator[list[Pinger]]:
    side = await start_side("raw", str(root / "echo"), str(count))
    users = await _users(root / "users", count)
    groups = await _groups(users, side.hello["inboxes"])
    pingers = [Pinger(u, g) for u, g in zip(users, groups, strict=True)]
    try:
        async with streaming(pingers):
            yield pingers
    finally:
        await side.close()
        for u in users:
            u.close()


async def prepare_gateway_state(root: Path, users: list[XmtpClient]) -> list[str]:
    """A state folder with one identity per user, each in a group with that user (dmPolicy open)."""
    state = root / "state"
    state.mkdir(parents=True, exist_ok=True)
    config = {
        "channels": {"convos": {"enabled": True, "env": "local", "dmPolicy": "open", "allowFrom": ["*"]}}
    }
    (state / "openclaw.json").write_text(json.dumps(config))
    loaded = load_config(
        environ={"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json")},
        home=root,
    )
    store = IdentityStore(loaded.paths.identities_dir("local"), loaded.paths.xmtp_db_dir("local"))
    backends = pool()
    limit = asyncio.Semaphore(16)

    async def one(user: XmtpClient) -> str:
        async with limit:
            stored = store.create(role="creator", label="bench")
            client = await XmtpClient.open(store.xmtp_identity(stored), backends)
            stored = store.update(stored, inbox_id=client.inbox_id)
            group = await user.create_group([client.inbox_id], name="bench")
            store.update(stored, conversation_id=group.id)
            client.close()
            return group.id

    return list(await asyncio.gather(*(one(u) for u in users)))


@contextlib.asynccontextmanager
async def gateway_world(root: Path, count: int, profile: Path | None = None) -> AsyncIterator[list[Pinger]]:
    users = await _users(root / "users", count)
    groups = await prepare_gateway_state(root, users)
    side = await start_side("gateway", str(root), profile=profile)
    assert side.hello["identities"] == count, side.hello
    pingers = [Pinger(u, g) for u, g in zip(users, groups, strict=True)]
    try:
        async with streaming(pingers):
            yield pingers
    finally:
        await side.close()
        for u in users:
            u.close()


@contextlib.asynccontextmanager
async def cli_world(root: Path, install: CliInstall) -> AsyncIterator[Pinger]:
    """convos-cli ``agent serve`` with an echo loop: every ``message`` event is sent back as ``send``."""
    agent = CliUser(install, root / "cli-agent", "Echo")
    serve = await agent.start("agent", "serve", "--name", "bench", "--profile-name", "Echo", stdin=True)
    queue: asyncio.Queue[str] = asyncio.Queue()

    def on_event(event: dict[str, Any]) -> None:
        if (
            event.get("event") == "message"
            and not event.get("catchup")
            and isinstance(event.get("content"), str)
        ):
            queue.put_nowait(event["content"])

    serve.on_event = on_event

    async def echo_loop() -> None:
        while True:
            text = await queue.get()
            await serve.send({"type": "send", "text": text})

    echo = asyncio.create_task(echo_loop())
    user = (await _users(root / "cli-user", 1))[0]
    try:
        ready = await serve.wait_for(lambda e: e.get("event") == "ready", timeout=90)
        invite = parse_invite(ready["inviteSlug"])
        await request_join(user, invite, profile_name="pinger")
        joined = await wait_for_join(user, invite, timeout=60, poll=0.2)
        assert joined.status is JoinStatus.JOINED, joined
        assert joined.conversation_id is not None
        pinger = Pinger(user, joined.conversation_id)
        async with streaming([pinger]):
            yield pinger
    finally:
        echo.cancel()
        await serve.send({"type": "stop"})
        await serve.stop(timeout=15)
        user.close()


def _ms(values: list[float], q: float) -> float:
    return quantile(values, q) * 1000


async def interleaved_round_trips(
    pingers: dict[str, Pinger], count: int, block: int = 10
) -> dict[str, list[float]]:
    """``count`` sequential round trips per side, in alternating blocks (so load changes hit all alike)."""
    out: dict[str, list[float]] = {name: [] for name in pingers}
    for pinger in pingers.values():
        await measure_round_trips(pinger, 0, warmup=10)
    names = list(pingers)
    for index in range(max(1, count // block)):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            out[name] += await measure_round_trips(pingers[name], block, warmup=0)
    return out


async def warm_up(pingers: list[Pinger], rounds: int = 2) -> None:
    """A few round trips in every conversation first: the first messages of a new member carry an
    extra commit (its key update) and welcome processing, which would otherwise land in the window."""
    limit = asyncio.Semaphore(10)

    async def one(pinger: Pinger) -> None:
        async with limit:
            for _ in range(rounds):
                await pinger.ping(timeout=120)

    await asyncio.gather(*(one(p) for p in pingers))


async def interleaved_throughput(
    worlds: dict[str, list[Pinger]], seconds: float, halves: int = 2
) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for pingers in worlds.values():
        await warm_up(pingers)
    for k in CONVERSATIONS:
        rates: dict[str, list[float]] = {name: [] for name in worlds}
        for half in range(halves):
            names = list(worlds) if half % 2 == 0 else list(reversed(worlds))
            for name in names:
                rate, _ = await closed_loop(worlds[name][:k], seconds / halves)
                rates[name].append(rate)
        out[k] = {name: sum(r) / len(r) for name, r in rates.items()}
    return out


async def run(
    results: Results, root: Path, install: CliInstall | None, *, round_trips: int, seconds: float
) -> dict[str, Any]:
    """All echoing sides run at once; the measurements alternate between them."""
    biggest = max(CONVERSATIONS)
    setup: dict[str, float] = {}
    async with contextlib.AsyncExitStack() as stack:
        started = time.monotonic()
        raw = await stack.enter_async_context(raw_world(root / "raw", biggest))
        setup["raw"] = time.monotonic() - started
        started = time.monotonic()
        ours = await stack.enter_async_context(gateway_world(root / "gateway", biggest, profile=PROFILE))
        setup["gateway"] = time.monotonic() - started
        single = await stack.enter_async_context(gateway_world(root / "gateway1", 1))
        sides = {"raw": raw[0], "gateway": ours[0], "gateway1": single[0]}
        if install is not None:
            started = time.monotonic()
            sides["cli"] = await stack.enter_async_context(cli_world(root / "cli", install))
            setup["cli"] = time.monotonic() - started
        rtt = await interleaved_round_trips(sides, round_trips)
        throughput = await interleaved_throughput({"raw": raw, "gateway": ours}, seconds)

    for q, label in ((0.5, "p50"), (0.99, "p99")):
        results.add(
            Figure(
                f"a.{label}",
                f"echo round trip via gateway, {label}",
                _ms(rtt["gateway"], q),
                _ms(rtt["raw"], q),
                "ms",
                "raw libxmtp echo",
                note=f"{round_trips} sequential round trips, 1 of {biggest} conversations active",
            )
        )
    if "cli" in rtt:
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            results.add(
                Figure(
                    f"b.{label}",
                    f"echo round trip vs convos-cli agent serve, {label}",
                    _ms(rtt["gateway1"], q),
                    _ms(rtt["cli"], q),
                    "ms",
                    "convos-cli agent serve",
                    note="one conversation, one identity each",
                )
            )
    for k in CONVERSATIONS:
        results.add(
            Figure(
                f"c.{k}",
                f"throughput, {k} concurrent conversation(s)",
                throughput[k]["gateway"],
                throughput[k]["raw"],
                "rt/s",
                "raw libxmtp echo",
                higher_is_better=True,
                note=f"closed loop, {seconds:g}s per side, round trips per second",
            )
        )
    return {"setup_s": setup, "rtt": rtt, "throughput": throughput}
