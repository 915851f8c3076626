"""Subcommand registry: each command is an ``async def cmd_x(args) -> int``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any


def _signals_to_event(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def cmd_node(args: argparse.Namespace) -> int:
    from ..devnode import run_devnode

    stop = asyncio.Event()
    _signals_to_event(stop)

    def ready(port: int) -> None:
        where = args.db or "memory"
        print(f"devnode listening on http://127.0.0.1:{port} (storage: {where}); Ctrl-C stops it", flush=True)

    await run_devnode(port=args.port, db_path=args.db, host="127.0.0.1", ready=ready, stop=stop)
    print("devnode stopped", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("node", help="run the local XMTP dev node (for env 'local', tests and the demo)")
    p.add_argument("--port", type=int, default=5556, help="port on 127.0.0.1 and ::1 (0 = any free port)")
    p.add_argument("--db", metavar="PATH", help="SQLite file (default: in memory, lost on exit)")
    p.set_defaults(handler=cmd_node)
