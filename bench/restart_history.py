"""Restart time and peak memory of ``openclaw-convos run`` after MB of handled owner history.

    python -m bench.restart_history prepare ROOT 24     # a devnode (own process, file database),
                                                        # Alice's owner conversation, 24 MB of her
                                                        # messages handled by a silent agent
    python -m bench.restart_history forget ROOT         # what a running gateway does every ten
                                                        # minutes: forget handled messages beyond
                                                        # the newest 1,000 per conversation
    python -m bench.restart_history measure ROOT SRC    # `run` from the src/ folder SRC (e.g. an
                                                        # older commit's, from `git archive`)

``measure`` prints seconds until "Convos gateway running" and the process's peak RSS (VmHWM).
Not part of ``bench/run``: a one-off comparison for the catch-up cursors and the bounded local
store (issue 15).

Measured 2026-12-03 on the 2-core machine, messages of 8 KB, two runs each:

- 0.1 MB of history (12 messages): 0.5 s, peak 80 MiB.
- 24 MB (3,000 messages), before the local store was bounded (6426d7c): 1.8 / 1.4 s, peak 171 /
  170 MiB (with the DM cursor fix of 647bc63; before that fix 7.1 / 3.5 s and 175 / 170 MiB).
- 24 MB and 48 MB (6,000 messages) after ``forget`` (the newest 1,000 stay): 0.9 / 1.0 s and
  1.2 / 0.8 s, peak 117 / 115 and 116 / 116 MiB: no longer growing with the history. The 36 MiB
  over the tiny case come from the 1,000 kept messages of 8 KB (about 8 MB), which libxmtp's
  listing reads and sorts with their bodies; chat-sized messages keep it near the tiny case.

Where the growth was: libxmtp lists conversations (``list``, ``sync_all``) through its
``conversation_list`` view, which numbers every stored message of every conversation with its
decrypted body to find each one's last message: +48 MiB and 0.15 s per listing at 24 MB (the
gateway lists at start, in each catch-up and in every join sweep).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RUST_LOG", "off")

MESSAGE_BYTES = 8000


class Silent:
    """An agent that answers nothing (the history is the owner's messages alone)."""

    name = "silent"

    async def respond(self, turn: Any) -> Any:
        from openclaw_convos.agents import AgentReply

        return AgentReply()

    async def aclose(self) -> None:
        return None


async def _start_node(root: Path) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openclaw_convos.devnode", "--port", "0", "--db", str(root / "node.sqlite3"),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    return proc, line.split("listening on ", 1)[1].split()[0]


def _point_config(root: Path, url: str) -> dict[str, str]:
    """Point the prepared config at the node's new port; the environment that selects it."""
    state = root / "state"
    config = state / "openclaw.json"
    data = json.loads(config.read_text())
    data["channels"]["convos"]["apiUrl"] = url
    config.write_text(json.dumps(data))
    return {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(config)}


async def _stop(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    await proc.wait()


async def prepare(root: Path, mb: float) -> None:
    from openclaw_convos.gateway.config import load_config
    from openclaw_convos.gateway.service import configure_with_invite, open_gateway
    from openclaw_convos.simuser import SimulatedUser
    from openclaw_convos.xmtp import BackendPool, Endpoint

    root.mkdir(parents=True, exist_ok=True)
    node, url = await _start_node(root)
    state = root / "state"
    state.mkdir(exist_ok=True)
    config = state / "openclaw.json"
    config.write_text(json.dumps({"channels": {"convos": {"env": "local", "apiUrl": url}}}))
    environ = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(config)}
    alice = await SimulatedUser.create("Alice", BackendPool(Endpoint(url)), root / "phones")
    await alice.start()
    room = await alice.create_conversation("Alice & agent")
    await configure_with_invite(load_config(environ=environ, home=root), alice.invite(room), timeout=30)

    count = int(mb * 1_000_000 / MESSAGE_BYTES)
    started = time.monotonic()
    async with open_gateway(load_config(environ=environ, home=root), Silent()) as gateway:
        for n in range(count):
            await alice.say(room.id, f"{n:06d} " + "x" * (MESSAGE_BYTES - 7))
        while (await gateway.state.counts()).get("done", 0) < count:  # noqa: ASYNC110 - a database count
            await asyncio.sleep(0.5)
    print(f"{count} messages ({mb:g} MB) handled in {time.monotonic() - started:.0f} s")
    await alice.stop()
    await _stop(node)


async def forget(root: Path) -> None:
    from openclaw_convos.gateway.config import load_config
    from openclaw_convos.gateway.service import open_gateway

    node, url = await _start_node(root)
    environ = _point_config(root, url)

    started = time.monotonic()
    async with open_gateway(load_config(environ=environ, home=root), Silent()) as gateway:
        count = await gateway.forget_old_messages()
    print(f"forgot {count} messages in {time.monotonic() - started:.1f} s")
    await _stop(node)


async def measure(root: Path, src: str) -> dict[str, Any]:
    node, url = await _start_node(root)
    env = dict(
        os.environ,
        **_point_config(root, url),
        PYTHONPATH=src,
        HOME=str(root),
    )
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openclaw_convos", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    while line := (await asyncio.wait_for(proc.stdout.readline(), 300)).decode():
        if "Convos gateway running" in line:
            break
    took = time.monotonic() - started
    await asyncio.sleep(3)
    status = Path(f"/proc/{proc.pid}/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024  # type: ignore[union-attr]
    await _stop(proc)
    await _stop(node)
    result = {"src": src, "start_s": round(took, 2), "peak_rss_mib": peak}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        asyncio.run(prepare(Path(sys.argv[2]), float(sys.argv[3])))
    elif sys.argv[1] == "forget":
        asyncio.run(forget(Path(sys.argv[2])))
    else:
        asyncio.run(measure(Path(sys.argv[2]), sys.argv[3]))
