"""Health that means something, seen from outside the real ``run`` process: ``status --check``
(the Docker health check), ``status --json``, ``doctor`` and systemd's notify socket, while the
node goes away, comes back, and comes back having lost its data."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .harness import Node, Place, setup_owner


class Systemd:
    """A datagram socket standing in for systemd's ``$NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.path = path
        self.seen: list[str] = []

    def read(self) -> list[str]:
        while True:
            try:
                self.seen.extend(self.sock.recv(65536).decode().splitlines())
            except BlockingIOError:
                return self.seen

    def last_status(self) -> str:
        return next((line for line in reversed(self.read()) if line.startswith("STATUS=")), "")

    async def status_becomes(self, start: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while not (line := self.last_status()).startswith(start):
            assert time.monotonic() < deadline, f"systemd was last told {line!r}, not {start!r}"
            await asyncio.sleep(0.2)
        return line


def cli(place: Place, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **place.environ, "RUST_LOG": "off", "HOME": str(place.root)}
    return subprocess.run(
        [sys.executable, "-m", "openclaw_convos", *args], capture_output=True, text=True, env=env, timeout=60
    )


async def check_until(place: Place, code: int, word: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        done = await asyncio.to_thread(cli, place, "status", "--check")
        if done.returncode == code and done.stdout.startswith(word):
            return done.stdout
        if time.monotonic() > deadline:
            raise AssertionError(f"status --check never said {word} ({code}): {done.stdout}{done.stderr}")
        await asyncio.sleep(0.5)


def status_json(place: Place) -> dict[str, Any]:
    done = cli(place, "status", "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.slow
async def test_health_check_follows_the_node_and_a_node_that_lost_its_data_is_reported(
    place: Place, node: Node, tmp_path: Path
) -> None:
    await setup_owner(place)
    assert (await asyncio.to_thread(cli, place, "status", "--check")).returncode == 1  # stopped
    systemd = Systemd(tmp_path / "notify")
    env = {
        **os.environ,
        **place.environ,
        "RUST_LOG": "off",
        "HOME": str(place.root),
        "NOTIFY_SOCKET": str(systemd.path),
        "WATCHDOG_USEC": "3000000",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openclaw_convos", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await check_until(place, 0, "healthy", 60)
        assert "READY=1" in systemd.read() and "WATCHDOG=1" in systemd.read()
        await systemd.status_becomes("STATUS=healthy: 1 conversation(s)")
        health = status_json(place)["health"]
        assert health["ok"] and health["heartbeatAgeSeconds"] < 30 and health["problems"] == {}

        await node.stop()
        line = await check_until(place, 1, "degraded", 30)
        assert "the XMTP node does not answer" in line and "doctor" in line
        await systemd.status_becomes("STATUS=degraded")
        doctor = await asyncio.to_thread(cli, place, "doctor")
        assert doctor.returncode == 1 and "degraded" in doctor.stdout

        await node.start()
        await check_until(place, 0, "healthy", 60)

        # the node comes back on an empty database: healthy streams, but nothing of ours exists there
        await node.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{node.db_path}{suffix}").unlink(missing_ok=True)
        await node.start()
        deadline = time.monotonic() + 60
        while "node" not in (problems := status_json(place)["health"]["problems"]):
            assert time.monotonic() < deadline, "the lost node data was not reported"
            await asyncio.sleep(0.5)
        assert problems["node"].startswith("node data lost: the XMTP node at ")
        assert "problem(s): node data lost" in await systemd.status_becomes(
            "STATUS=healthy: 1 conversation(s); 1 problem(s)"
        )
        doctor = await asyncio.to_thread(cli, place, "doctor")
        assert doctor.returncode == 1 and "node data lost" in doctor.stdout, doctor.stdout
        assert "does not know inbox" in doctor.stdout

        # SIGTERM while the node is down (after start): stopped within 5 s too
        await node.stop()
        await check_until(place, 1, "degraded", 30)
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        assert time.monotonic() - asked < 5.0, time.monotonic() - asked
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        seen = systemd.read()
        systemd.sock.close()
    assert proc.returncode == 0
    assert "STOPPING=1" in seen


@pytest.mark.slow
async def test_sigterm_ends_a_start_that_waits_for_an_unreachable_node(place: Place, node: Node) -> None:
    await setup_owner(place)
    await node.stop()
    env = {**os.environ, **place.environ, "RUST_LOG": "off", "HOME": str(place.root)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openclaw_convos", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not any("still starting after" in line for line in lines):
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, "".join(lines)
            lines.append(line)
        waiting = lines[-1]
        assert f"the XMTP node at {node.url} does not answer (since " in waiting, waiting
        assert "Convos gateway running" not in "".join(lines)
        # still starting: status says so, and the health check does not pass yet
        status = status_json(place)
        assert status["gateway"]["running"] and status["health"]["state"] == "starting"
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 10)
        code = await asyncio.wait_for(proc.wait(), 10)
        took = time.monotonic() - asked
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0 and took < 5.0, (code, took, rest)
    assert b"Stopped before the gateway finished starting." in rest
    assert not status_json(place)["gateway"]["running"]


async def test_removed_exploded_and_owner_left_show_in_status_json(place: Place, node: Node) -> None:
    from openclaw_convos.cli.sdnotify import Notifier
    from openclaw_convos.cli.supervise import Supervisor
    from openclaw_convos.convos.metadata import update_app_data
    from openclaw_convos.gateway.service import configure_with_invite, create_owned_conversation, open_gateway
    from openclaw_convos.joinflow.joiner import JoinStatus

    # the gateway holds the state folder's lock itself, so status sees it running
    async with open_gateway(place.load()) as gateway:
        supervisor = Supervisor(gateway, Notifier({}))

        async def problem_of(conversation_id: str, present: bool = True) -> str | None:
            deadline = time.monotonic() + 30
            while True:
                await supervisor.check_conversations()
                await supervisor.tick()
                problems = status_json(place)["health"]["problems"]
                found = problems.get(f"conversation:{conversation_id}")
                if (found is not None) == present:
                    return found
                assert time.monotonic() < deadline, problems
                await asyncio.sleep(0.5)

        # owner left: the gateway makes the owner conversation, Dave joins first (the owner), then leaves
        made = await create_owned_conversation(place.load(), name="Room", gateway=gateway)
        assert made.is_owner_conversation
        dave = await place.user("Dave")
        joined = await dave.join(made.url)
        assert joined.conversation_id == made.conversation_id, joined.message
        await dave.say(made.conversation_id, "hi")  # the owner's first message
        await problem_of(made.conversation_id, present=False)
        deadline = time.monotonic() + 20
        while not gateway.is_owner(dave.inbox_id):
            assert time.monotonic() < deadline, "Dave did not become the owner"
            await asyncio.sleep(0.2)
        await dave.conversation(made.conversation_id).leave()
        assert "the owner left the owner conversation" in (await problem_of(made.conversation_id) or "")

        # exploded and removed: Alice's conversation, which the agent joined
        alice = await place.user("Alice")
        room = (await alice.create_conversation("Alice & agent")).id
        configured = await configure_with_invite(
            place.load(), alice.invite(alice.conversation(room)), timeout=30
        )
        assert configured.join.status is JoinStatus.JOINED
        await gateway.add_identity(configured.identity)
        await problem_of(room, present=False)
        theirs = alice.conversation(room)
        await theirs.set_app_data(update_app_data(theirs.app_data, expires_at=int(time.time()) - 5))
        assert "exploded" in (await problem_of(room) or "")
        await theirs.set_app_data(update_app_data(theirs.app_data, expires_at=None))
        await problem_of(room, present=False)
        agent = gateway.host_for_conversation(room)
        assert agent is not None
        await theirs.remove_members([agent.client.inbox_id])
        assert (await problem_of(room) or "").startswith(f"removed from conversation {room[:8]}")
        doctor = await asyncio.to_thread(cli, place, "doctor")
        assert doctor.returncode == 1 and "removed from conversation" in doctor.stdout
        assert "the owner left" in doctor.stdout
