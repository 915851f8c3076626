"""``openclaw-convos``: configure, run, pair, invite, inspect, and the offline demo.

Every failure prints one readable line to stderr and exits non-zero (``--debug`` adds the
traceback). Logging is configured here and nowhere else.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from .. import __version__
from ..errors import ConfigError, ConvosError, InviteError, TransportError

# libxmtp logs INFO lines to stdout unless RUST_LOG is set before its first call.
os.environ.setdefault("RUST_LOG", "off")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_INVITE = 4
EXIT_NETWORK = 5
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _exit_code(error: BaseException) -> int:
    if isinstance(error, ConfigError):
        return EXIT_CONFIG
    if isinstance(error, InviteError):
        return EXIT_INVITE
    if isinstance(error, TransportError):
        return EXIT_NETWORK
    return EXIT_ERROR


def configure_logging(debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("openclaw_convos").setLevel(level)
    if debug:
        # grpc and httpx are noisy at DEBUG; keep them at INFO.
        for name in ("grpc", "httpx", "httpcore", "hpack", "asyncio"):
            logging.getLogger(name).setLevel(logging.INFO)


def build_parser() -> argparse.ArgumentParser:
    from . import commands

    parser = argparse.ArgumentParser(
        prog="openclaw-convos",
        description="Put an AI agent in Convos conversations (end-to-end encrypted, on XMTP).",
    )
    parser.add_argument("--version", action="version", version=f"openclaw-convos {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $OPENCLAW_CONFIG_PATH or ~/.openclaw/openclaw.json)",
    )
    parser.add_argument(
        "--state-dir", metavar="DIR", help="state folder (default: $OPENCLAW_STATE_DIR or ~/.openclaw)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    configure_logging(args.debug)
    if args.config:
        os.environ["OPENCLAW_CONFIG_PATH"] = args.config
    if args.state_dir:
        os.environ["OPENCLAW_STATE_DIR"] = args.state_dir
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ConvosError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except Exception as exc:  # a bug: still one line, and the traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
