"""``openclaw-convos``: configure, run, pair, invite, inspect, and the offline demo.

Every failure prints one readable line to stderr and exits non-zero (``--debug`` adds the
traceback). Logging is configured here and nowhere else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from .. import __version__
from ..errors import ConfigError, ConvosError, InviteError, TransportError
from .errors import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_INVITE,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
)
from .logs import configure_logging
from .stderr_filter import native_noise_filtered

# libxmtp logs INFO lines to stdout unless RUST_LOG is set before its first call (nothing above
# loads it; the commands import it lazily).
os.environ.setdefault("RUST_LOG", "off")

__all__ = [
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_INVITE",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "configure_logging",
    "main",
]

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _exit_code(error: BaseException) -> int:
    if isinstance(error, CliError):
        return error.exit_code
    if isinstance(error, ConfigError):
        return EXIT_CONFIG
    if isinstance(error, InviteError):
        return EXIT_INVITE
    if isinstance(error, TransportError):
        return EXIT_NETWORK
    return EXIT_ERROR


def _global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument("--debug", action="store_true", default=default, help="verbose logs and tracebacks")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="config file (default: $OPENCLAW_CONFIG_PATH or ~/.openclaw/openclaw.json)",
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        default=default,
        help="state folder (default: $OPENCLAW_STATE_DIR or ~/.openclaw)",
    )


def build_parser() -> argparse.ArgumentParser:
    from . import commands

    parser = argparse.ArgumentParser(
        prog="openclaw-convos",
        description="Put an AI agent in Convos conversations (end-to-end encrypted, on XMTP).",
        epilog="Start with `openclaw-convos demo` (offline), then `openclaw-convos configure`.",
    )
    parser.add_argument("--version", action="version", version=f"openclaw-convos {__version__}")
    _global_options(parser, default=None)
    parser.set_defaults(debug=False)
    # the same options after the command name (`openclaw-convos run --debug`); SUPPRESS keeps a
    # value given before the command
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.register(sub, common)
    return parser


def _tolerant_streams() -> None:
    """Never die on a character the terminal cannot show (QR blocks, emoji)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    try:
        parser = build_parser()
    except ConvosError as exc:  # libxmtp has no wheel here (XmtpUnavailable): say so, in one line
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
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
    quiet = contextlib.nullcontext() if args.debug else native_noise_filtered()
    try:
        with quiet:
            return asyncio.run(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ConvosError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except OSError as exc:  # a file we were asked to write or read
        if args.debug:
            traceback.print_exc()
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, and the traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
