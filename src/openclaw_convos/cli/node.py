"""``node``: the local XMTP dev node (for env ``local``, the tests and the demo)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from .errors import EXIT_OK
from .runtime_info import stop_on_signals


async def cmd_node(args: argparse.Namespace) -> int:
    from ..devnode import run_devnode

    stop = asyncio.Event()
    stop_on_signals(stop)

    def ready(port: int) -> None:
        where = args.db or "memory"
        print(f"devnode listening on http://127.0.0.1:{port} (storage: {where}); Ctrl-C stops it", flush=True)

    await run_devnode(port=args.port, db_path=args.db, host="127.0.0.1", ready=ready, stop=stop)
    print("devnode stopped", file=sys.stderr)
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "node", parents=[common], help="run the local XMTP dev node (for env 'local', tests and the demo)"
    )
    p.add_argument("--port", type=int, default=5556, help="port on 127.0.0.1 and ::1 (0 = any free port)")
    p.add_argument("--db", metavar="PATH", help="SQLite file (default: in memory, lost on exit)")
    p.set_defaults(handler=cmd_node)
