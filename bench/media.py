"""``python -m bench.media``: attachments through the whole gateway on a local devnode.

The gateway runs as ``openclaw-convos run`` in its own process (echo agent, S3 provider pointed
at a loopback ``rclone serve s3``). Alice, a simulated Convos user in this process, sends a
picture as the app does (encrypt, upload, remote attachment, then the caption) and waits until
she has downloaded and decrypted the echoed picture. Prints:

- the round-trip latency of a 1 MB picture (p50/max over ``--round-trips``), with a caption
  (the usual case) and without one (the gateway then waits ``caption_window`` for it);
- the gateway process's peak resident memory (``VmHWM``) before and after echoing one 25 MB
  attachment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RUST_LOG", "off")

from openclaw_convos.devnode import Devnode
from openclaw_convos.gateway.config import load_config
from openclaw_convos.gateway.service import configure_with_invite
from openclaw_convos.media import MediaConfig
from openclaw_convos.media.localstore import LocalObjectStore
from openclaw_convos.media.service import MediaService
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint
from openclaw_convos.xmtp import attachments as xa


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def round_trip(
    alice: SimulatedUser, media: MediaService, room: str, agent: str, data: bytes, caption: str | None
) -> float:
    assert media.uploader is not None
    mark = len(alice.seen)
    started = time.perf_counter()
    await alice.send_file(room, xa.InlineAttachment("photo.png", "image/png", data), media.uploader.upload)
    if caption:
        await alice.say(room, caption)
    back = await alice.wait_for(
        lambda s: s.sender_inbox_id == agent and s.kind == "attachment", after=mark, timeout=120
    )
    assert back.attachment is not None
    (file,) = await media.receive(back.attachment)
    elapsed = time.perf_counter() - started
    if file.content != data:
        raise AssertionError(f"echoed bytes differ ({file.note})")
    return elapsed


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-media-"))
    state = root / "state"
    async with Devnode(port=0, host="127.0.0.1") as node, LocalObjectStore(root / "objects") as store:
        pool = BackendPool(Endpoint(node.url))
        alice = await SimulatedUser.create("Alice", pool, root / "phones")
        await alice.start()
        room = await alice.create_conversation("bench")
        state.mkdir(mode=0o700)
        (state / "openclaw.json").write_text(
            json.dumps({"channels": {"convos": {"env": "local", "apiUrl": node.url}}}), encoding="utf-8"
        )
        env = {
            **os.environ,
            "OPENCLAW_STATE_DIR": str(state),
            "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json"),
        }
        env.update(store.environ())
        result = await configure_with_invite(
            load_config(environ=env, home=root), alice.invite(room), timeout=30
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "openclaw_convos",
            "run",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        media = MediaService.from_config(MediaConfig(), environ=store.environ(), env="local")
        try:
            await alice.say(room.id, "hi")
            hello = await alice.wait_for(
                lambda s: s.text == "hi" and s.sender_inbox_id != alice.inbox_id, timeout=60
            )
            agent = hello.sender_inbox_id
            del result
            one_mb = b"\x89PNG\r\n\x1a\n" + os.urandom(1024 * 1024 - 8)
            with_caption = [
                await round_trip(alice, media, room.id, agent, one_mb, "a caption")
                for _ in range(args.round_trips)
            ]
            without = [
                await round_trip(alice, media, room.id, agent, one_mb, None)
                for _ in range(max(2, args.round_trips // 3))
            ]
            before = vm_hwm_mib(proc.pid), vm_rss_mib(proc.pid)
            big = os.urandom(25 * 1024 * 1024 - 4096)
            big_s = await round_trip(alice, media, room.id, agent, big, "big one")
            after = vm_hwm_mib(proc.pid), vm_rss_mib(proc.pid)
        finally:
            await media.aclose()
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            await proc.wait()
            await alice.stop()

    def ms(values: list[float]) -> str:
        return f"p50 {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms (n={len(values)})"

    print(f"1 MB picture round trip, with caption: {ms(with_caption)}")
    print(f"1 MB picture round trip, no caption (waits caption_window 1 s): {ms(without)}")
    print(f"25 MB attachment round trip: {big_s:.2f} s")
    print(
        f"gateway process memory: peak (VmHWM) {before[0]:.0f} MiB before the 25 MB echo, {after[0]:.0f} MiB after "
        f"(+{after[0] - before[0]:.0f} MiB); RSS {before[1]:.0f} -> {after[1]:.0f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__)
    parser.add_argument("--round-trips", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
