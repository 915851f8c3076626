"""300 identities under the common soft limit of 1,024 open files (about 6 files each): ``run``
raises its soft limit to the hard one and serves them all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time

import httpx
import pytest

from openclaw_convos.gateway.service import identity_store

from .harness import Node, Place

COUNT = 300


# The limit is set by a tiny launcher that then execs `run`: a preexec_fn would run Python in the
# forked child of a process with gRPC threads (the devnode), which can crash it before the exec.
_LAUNCH = "import os, resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2]))); os.execv(sys.executable, [sys.executable, *sys.argv[3:]])"


async def _run(place: Place, soft: int, hard: int) -> tuple[asyncio.subprocess.Process, str, list[str]]:
    env = {**os.environ, **place.environ, "RUST_LOG": "off", "HOME": str(place.root)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _LAUNCH, str(soft), str(hard), "-m", "openclaw_convos", "run", "--http", "127.0.0.1:0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    url = ""
    deadline = time.monotonic() + 120
    while "Convos gateway running" not in "".join(lines):
        line = (
            await asyncio.wait_for(proc.stdout.readline(), max(1.0, deadline - time.monotonic()))
        ).decode()
        assert line, "".join(lines)
        lines.append(line)
        if found := re.search(r"Health and metrics on (http://\S+)", line):
            url = found.group(1)
    return proc, url, lines


async def _metric(url: str, name: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(50):
            text = (await http.get(f"{url}/metrics")).text
            found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
            if found and float(found.group(1)) > 0:
                return float(found.group(1))
            await asyncio.sleep(0.2)
    raise AssertionError(f"{name} not reported")


async def _stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    return int(proc.returncode or 0)


@pytest.mark.slow
async def test_300_identities_under_a_soft_limit_of_1024_are_all_served(place: Place, node: Node) -> None:
    store = identity_store(place.load())
    for n in range(COUNT):
        store.create(role="creator", label=f"load {n}")

    # the usual case: soft 1,024, a higher hard limit: run takes it and serves every identity
    proc, url, _lines = await _run(place, 1024, 8192)
    assert await _metric(url, "convos_identities") == COUNT
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{url}/metrics")).text
    assert "convos_problems 0.0" in text
    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    assert fds > 1024, f"{fds} open files: the soft limit of 1,024 was raised and used"
    assert await _stop(proc) == 0
