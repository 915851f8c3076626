"""The echoing side of the echo benchmarks, in a process of its own.

``python -m bench.echo_side raw <folder> <count>``
    ``count`` raw libxmtp clients that send every text they receive straight back (the floor).
    Prints ``{"inboxes": [...]}``, then echoes.
``python -m bench.echo_side gateway <root>``
    Our gateway (EchoAgent) for the state folder under ``root`` (prepared by the parent).
    Prints ``{"ready": true}``, then serves.

Both stop when stdin closes and then print ``{"done": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

from bench.common import new_client, pool, raw_stream, rss_kb, text_of

import xmtp_bindings.xmtpv3 as ffi  # isort: skip


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def raw(folder: Path, count: int) -> None:
    backends = pool()
    clients = [await new_client(folder, f"echo{i}", backends) for i in range(count)]
    echoed = 0
    pending: set[asyncio.Task[None]] = set()

    async with contextlib.AsyncExitStack() as stack:
        for client in clients:

            def sink(message: ffi.FfiMessage, client=client) -> None:  # type: ignore[no-untyped-def]
                nonlocal echoed
                if message.sender_inbox_id == client.inbox_id or text_of(message) is None:
                    return
                conversation = client.conversation(bytes(message.conversation_id).hex())
                if conversation is None:
                    return
                echoed += 1
                task = asyncio.ensure_future(
                    conversation._raw.send(bytes(message.content), ffi.FfiSendMessageOpts(should_push=True))
                )
                pending.add(task)
                task.add_done_callback(pending.discard)

            await stack.enter_async_context(raw_stream(client, sink))
        print(json.dumps({"inboxes": [c.inbox_id for c in clients]}), flush=True)
        await _stdin_closed()
    for client in clients:
        client.close()
    print(json.dumps({"done": echoed, "rss_kb": rss_kb()}), flush=True)


async def gateway(root: Path) -> None:
    from openclaw_convos.agents import EchoAgent
    from openclaw_convos.gateway.config import load_config
    from openclaw_convos.gateway.service import open_gateway

    environ = {
        "OPENCLAW_STATE_DIR": str(root / "state"),
        "OPENCLAW_CONFIG_PATH": str(root / "state" / "openclaw.json"),
    }
    loaded = load_config(environ=environ, home=root)
    # experiments: BENCH_GATEWAY_OVERRIDES='{"typing_indicator": false}' (GatewaySettings fields)
    overrides = json.loads(os.environ.get("BENCH_GATEWAY_OVERRIDES") or "{}")
    async with open_gateway(loaded, EchoAgent(), **overrides) as gw:
        print(json.dumps({"ready": True, "identities": len(gw.hosts), "problems": gw.problems}), flush=True)
        await _stdin_closed()
        turns = gw.turns_started
    print(json.dumps({"done": turns, "rss_kb": rss_kb()}), flush=True)


def main() -> None:
    mode = sys.argv[1]
    if mode == "raw":
        asyncio.run(raw(Path(sys.argv[2]), int(sys.argv[3])))
        # Without this, libxmtp's runtime threads sometimes panic while the interpreter finalizes
        # ("panic in a function that cannot unwind", thread async-compat/tokio-1), after the work.
        sys.stdout.flush()
        os._exit(0)
    elif mode == "gateway":
        asyncio.run(gateway(Path(sys.argv[2])))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
