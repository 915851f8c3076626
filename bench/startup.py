"""(d) start-up time and RSS with 1 to 1,000 identities, against raw libxmtp clients reopened.

Each measurement is a fresh process (``python -m bench.startup <mode> …``) that imports everything,
notes its RSS, then opens the identities and reports the time and the RSS after.

``gateway``: our :class:`Gateway` start (every client reopened, its stream opened and caught up, the
profile check). ``raw``: ``create_client`` on each database with the options the gateway uses
(``allow_offline``, a 2-connection pool, 8 clients per backend object, 16 at a time). ``raw+stream``:
the same plus ``stream_all_messages`` on each, the least a channel must do to hear messages.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import NODE_URL, REPO, Figure, Results, pool, rss_kb, threads
from openclaw_convos.errors import ConvosError
from openclaw_convos.xmtp import XmtpClient

COUNTS = (1, 10, 100, 500, 1000)


async def _gateway(state_root: Path, ids_dir: Path, db_dir: Path) -> dict[str, Any]:
    from openclaw_convos.agents import EchoAgent
    from openclaw_convos.gateway.identities import IdentityStore
    from openclaw_convos.gateway.pairing import PairingStore
    from openclaw_convos.gateway.runtime import Gateway, GatewaySettings
    from openclaw_convos.gateway.state import GatewayState
    from openclaw_convos.xmtp import Endpoint

    before = rss_kb()
    started = time.perf_counter()
    gateway = Gateway(
        GatewaySettings(endpoint=Endpoint(NODE_URL), dm_policy="open", allow_from=("*",)),
        EchoAgent(),
        IdentityStore(ids_dir, db_dir),
        GatewayState.open(state_root / "gateway.sqlite"),
        PairingStore(state_root / "credentials"),
    )
    await gateway.start()
    seconds = time.perf_counter() - started
    out = {
        "seconds": seconds,
        "rss_kb": rss_kb(),
        "base_kb": before,
        "threads": threads(),
        "opened": len(gateway.hosts),
        "problems": len(gateway.problems),
    }
    await gateway.stop()
    return out


async def _raw(ids_dir: Path, db_dir: Path, stream: bool) -> dict[str, Any]:
    import xmtp_bindings.xmtpv3 as ffi

    from bench.common import _Callback
    from openclaw_convos.gateway.identities import IdentityStore
    from openclaw_convos.xmtp.client import _identifier, ethereum_address

    store = IdentityStore(ids_dir, db_dir)
    stored = store.load_all()[0]
    before = rss_kb()
    started = time.perf_counter()
    backends: list[Any] = []
    limit = asyncio.Semaphore(8)
    loop = asyncio.get_running_loop()
    closers: list[Any] = []
    clients: list[Any] = []

    async def backend(index: int) -> Any:
        while len(backends) <= index // 8:
            backends.append(await ffi.connect_to_backend(NODE_URL, None, False, None, "bench", None, None))
        return backends[index // 8]

    async def one(index: int, item: Any) -> None:
        api = await backend(index)
        async with limit:
            db = ffi.DbOptions(
                db=str(store.db_path(item.id)),
                encryption_key=item.db_key,
                max_db_pool_size=2,
                min_db_pool_size=1,
            )
            ident = _identifier(ethereum_address(item.wallet_key))
            client = await ffi.create_client(
                api, api, db, item.inbox_id, ident, 1, None, ffi.FfiDeviceSyncMode.DISABLED, True, None
            )
            clients.append(client)
            if stream:
                closer = await client.conversations().stream_all_messages(
                    _Callback(loop, lambda _m: None), None
                )
                await closer.wait_for_ready()
                closers.append(closer)

    for index in range(len(stored)):
        await backend(index)
    await asyncio.gather(*(one(i, item) for i, item in enumerate(stored)))
    seconds = time.perf_counter() - started
    out = {
        "seconds": seconds,
        "rss_kb": rss_kb(),
        "base_kb": before,
        "threads": threads(),
        "opened": len(clients),
    }
    for closer in closers:
        closer.end()
    for client in clients:
        client.release_db_connection()
    return out


def worker() -> None:
    mode = sys.argv[2]
    if mode == "gateway":
        out = asyncio.run(_gateway(Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])))
        print(json.dumps(out), flush=True)
    else:
        out = asyncio.run(_raw(Path(sys.argv[3]), Path(sys.argv[4]), mode == "raw+stream"))
        print(json.dumps(out), flush=True)
        # raw clients' runtime threads can panic while the interpreter finalizes (after the work)
        os._exit(0)


async def prepare(root: Path, count: int) -> tuple[Path, Path, list[str]]:
    """``count`` registered identities, each in a conversation of its own (created by itself)."""
    from openclaw_convos.gateway.identities import IdentityStore

    ids_all = root / "ids-all"
    db_dir = root / "db"
    store = IdentityStore(ids_all, db_dir)
    backends = pool()
    limit = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with limit:
            stored = store.create(role="creator", label=f"bench{i}")
            client = await XmtpClient.open(store.xmtp_identity(stored), backends)
            stored = store.update(stored, inbox_id=client.inbox_id)
            for attempt in range(3):  # a loaded 2-core machine can time a create out; try again
                try:
                    group = await client.create_group(name=f"bench {i}")
                    break
                except (TimeoutError, ConvosError):
                    if attempt == 2:
                        raise
            store.update(stored, conversation_id=group.id)
            client.close()

    await asyncio.gather(*(one(i) for i in range(count)))
    return ids_all, db_dir, store.ids()


def subset(root: Path, ids_all: Path, ids: list[str], count: int) -> Path:
    folder = root / f"ids-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    for identity_id in ids[:count]:
        shutil.copy2(ids_all / f"{identity_id}.json", folder / f"{identity_id}.json")
    return folder


def measure(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.startup", "worker", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench.startup {' '.join(args)} failed: {done.stderr[-2000:]}")
    return dict(json.loads(lines[-1]))


async def run(results: Results, root: Path) -> dict[str, Any]:
    started = time.monotonic()
    ids_all, db_dir, ids = await prepare(root, max(COUNTS))
    out: dict[str, Any] = {"prepare_s": time.monotonic() - started}
    state_root = root / "gateway-state"
    state_root.mkdir()
    # a first start sends each conversation our profile once; the figures are for restarts
    measure("gateway", str(state_root), str(subset(root, ids_all, ids, max(COUNTS))), str(db_dir))
    for count in COUNTS:
        folder = subset(root, ids_all, ids, count)
        ours = measure("gateway", str(state_root), str(folder), str(db_dir))
        raw = measure("raw", str(folder), str(db_dir))
        raw_stream = measure("raw+stream", str(folder), str(db_dir))
        out[count] = {"gateway": ours, "raw": raw, "raw+stream": raw_stream}
        results.add(
            Figure(
                f"d.t{count}",
                f"start-up time, {count} identit{'y' if count == 1 else 'ies'}",
                ours["seconds"] * 1000,
                raw_stream["seconds"] * 1000,
                "ms",
                "raw reopen + stream",
                note=f"raw reopen alone: {raw['seconds'] * 1000:.0f} ms; opened {ours['opened']}, "
                f"problems {ours['problems']}",
            )
        )
        delta = lambda m: (m["rss_kb"] - m["base_kb"]) / 1024  # noqa: E731
        results.add(
            Figure(
                f"d.m{count}",
                f"RSS added, {count} identit{'y' if count == 1 else 'ies'}",
                delta(ours),
                delta(raw),
                "MiB",
                "raw reopen",
                note=f"raw reopen + stream: {delta(raw_stream):.1f} MiB; total RSS ours {ours['rss_kb'] / 1024:.0f} MiB, "
                f"threads {ours['threads']} vs {raw['threads']}",
            )
        )
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker()
    else:
        raise SystemExit("run the benchmarks with `python -m bench`")
