"""``bridge`` and ``setup``: the two commands OpenClaw's Convos plugin runs.

``bridge`` is the long-lived engine (JSON lines over stdio, see ``docs/bridge-protocol.md``).
``setup`` is one-shot: check an invite (``--check``) or join it with a new identity, printing
progress on stderr and one JSON object on stdout; it never writes the config file (the plugin
saves ``channels.convos`` through OpenClaw).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from ..gateway.config import ENVS, LoadedConfig, parse_convos_config
from .errors import EXIT_INVITE, EXIT_OK


async def cmd_bridge(args: argparse.Namespace) -> int:
    import asyncio

    from ..bridge.engine import protocol_fds, serve
    from .logs import configure_logging
    from .runtime_info import stop_on_signals

    configure_logging(bool(args.debug))
    stdin_fd, stdout_fd = protocol_fds()
    stop = asyncio.Event()
    stop_on_signals(stop)
    return await serve(stdin_fd, stdout_fd, stop, os.environ)


def _setup_config(args: argparse.Namespace) -> LoadedConfig:
    from ..bridge.engine import account_paths
    from ..gateway.paths import resolve_state_paths

    section: dict[str, Any] = {"env": args.env}
    if args.api_url:
        section["apiUrl"] = args.api_url
    if args.name:
        section["name"] = args.name
    convos = parse_convos_config(section, environ=os.environ)
    paths = account_paths(resolve_state_paths(os.environ), args.account)
    return LoadedConfig(convos=convos, paths=paths, exists=True, environ=os.environ)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


async def cmd_setup(args: argparse.Namespace) -> int:
    from ..joinflow.joiner import JoinStatus, check_invite

    invite = check_invite(args.invite, now=datetime.now(UTC))
    payload = invite.payload
    about = {
        "name": payload.name,
        "description": payload.description,
        "emoji": payload.emoji,
        "expiresAt": _iso(payload.expires_at),
        "conversationExpiresAt": _iso(payload.conversation_expires_at),
        "singleUse": payload.single_use,
        "ownerInboxId": payload.creator_inbox_id,
    }
    if args.check:
        print(json.dumps(about))
        return EXIT_OK
    from ..gateway.service import configure_with_invite

    loaded = _setup_config(args)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say(f"Invite: {payload.name or '(no name)'}, expires {about['expiresAt'] or 'never'}")
    result = await configure_with_invite(
        loaded, args.invite, timeout=args.timeout, progress=say, profile_name=args.name, save=False
    )
    join = result.join
    print(
        json.dumps(
            {
                **about,
                "status": join.status.value,
                "message": join.message,
                "conversationId": join.conversation_id,
                "identityId": result.identity.id,
                "inboxId": result.identity.inbox_id,
                "env": loaded.convos.env,
                "apiUrl": loaded.convos.api_url,
            }
        )
    )
    return EXIT_INVITE if join.status is JoinStatus.REFUSED else EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bridge",
        parents=[common],
        help="the engine for OpenClaw's Convos plugin (JSON lines on stdin/stdout)",
        description="Run by OpenClaw's Convos plugin: serve one account's conversations over the "
        "bridge protocol (docs/bridge-protocol.md) until stdin closes or SIGTERM.",
    )
    p.set_defaults(handler=cmd_bridge)
    s = sub.add_parser(
        "setup",
        parents=[common],
        help="join a conversation for OpenClaw's Convos plugin (prints JSON; writes no config)",
        description="Check an invite (--check) or join it with a new identity, as `openclaw channels "
        "add convos` does. Progress on stderr, the result as one JSON object on stdout.",
    )
    s.add_argument("--invite", required=True, metavar="LINK", help="the invite link or slug")
    s.add_argument("--check", action="store_true", help="only decode and check the invite")
    s.add_argument("--account", default="default", help="OpenClaw account id (default: default)")
    s.add_argument("--env", choices=ENVS, default="production", help="XMTP network (default production)")
    s.add_argument("--api-url", metavar="URL", default=None, help="a custom or local XMTP node URL")
    s.add_argument("--name", default=None, help="the agent's display name (default OpenClaw)")
    s.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for approval (default 60)")
    s.set_defaults(handler=cmd_setup)
