"""``python -m openclaw_convos.devnode``: run a devnode until SIGINT or SIGTERM.

Prints ``devnode listening on http://<host>:<port>`` to stdout once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from openclaw_convos.errors import DevnodeError

from .node import DEFAULT_HOST, DEFAULT_PORT, run_devnode


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m openclaw_convos.devnode", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 = any free port)")
    parser.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to listen on")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every RPC to stderr")
    return parser


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    host = f"[{args.host}]" if ":" in args.host else args.host

    def ready(port: int) -> None:
        print(f"devnode listening on http://{host}:{port}", flush=True)

    await run_devnode(args.port, args.db, args.host, ready=ready, stop=stop)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(_main(args))
    except DevnodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
