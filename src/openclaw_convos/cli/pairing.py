"""``pairing list`` and ``pairing approve``, in the shape of ``openclaw pairing``.

The store files are OpenClaw's own (``credentials/convos-pairing.json`` and
``convos-allowFrom.json``), so ``openclaw pairing approve convos <code>`` and this command are
interchangeable. ``--notify`` tells the approved sender, in the conversation they asked from (and
the owner conversation), through the running gateway or by opening the identity for a moment.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConvosError
from ..gateway.pairing import (
    PairingStore,
    build_approval_notice,
    format_approved,
    format_no_pending,
    format_unknown_code,
)
from ..gateway.paths import CHANNEL_ID
from .console import Console
from .context import add_network_options, identities, load, owner_conversation_id
from .control import perform
from .errors import EXIT_ERROR, EXIT_OK, CliError, UsageError


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel.strip().lower() != CHANNEL_ID:
        raise UsageError(f"this tool serves the {CHANNEL_ID} channel only (got {channel!r})")


def _split(args: argparse.Namespace, wanted: int) -> list[str]:
    """OpenClaw's ``[channel] ...``/``--channel c``: the ``wanted`` arguments after the channel."""
    rest = list(args.args)
    if len(rest) == wanted + 1:
        if args.channel is not None:
            raise UsageError("give the channel once (as an argument or with --channel)")
        _check_channel(rest.pop(0))
    _check_channel(args.channel)
    if len(rest) != wanted:
        raise UsageError(
            "usage: openclaw-convos pairing list [convos] [--json]"
            if wanted == 0
            else "usage: openclaw-convos pairing approve [convos] <code> [--notify]"
        )
    return rest


async def cmd_list(args: argparse.Namespace) -> int:
    console = Console()
    _split(args, 0)
    loaded = load(args)
    store = PairingStore(loaded.paths.credentials_dir)
    requests = await store.list_pending() if store.pairing_path.exists() else []
    if args.json:
        console.say(
            json.dumps(
                {"channel": CHANNEL_ID, "requests": [r.to_json() for r in requests]},
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    if not requests:
        console.say(format_no_pending(CHANNEL_ID))
        return EXIT_OK
    console.say(f"Pairing requests ({len(requests)})")
    rows = [
        [
            r.code,
            r.id,
            json.dumps(dict(r.meta), ensure_ascii=False) if r.meta else "",
            r.to_json()["createdAt"],
        ]
        for r in requests
    ]
    console.table(["Code", "inbox ID", "Meta", "Requested"], rows)
    return EXIT_OK


async def cmd_approve(args: argparse.Namespace) -> int:
    console = Console()
    (code,) = _split(args, 1)
    loaded = load(args)
    store = PairingStore(loaded.paths.credentials_dir)
    approved = await store.approve(code)
    if approved is None:
        raise CliError(format_unknown_code(code), exit_code=EXIT_ERROR)
    console.say(format_approved(approved.id, CHANNEL_ID))
    if args.notify:
        try:
            await _notify(loaded, approved.id, dict(approved.request.meta))
        except ConvosError as exc:
            print(f"Failed to notify requester: {exc}", file=sys.stderr)
    return EXIT_OK


async def _notify(loaded: Any, sender: str, meta: dict[str, str]) -> None:
    """The approval notice into the requester's conversation, and into the owner conversation."""
    text = build_approval_notice(sender)
    stored, _broken = identities(loaded)
    targets: list[str] = []
    requester = meta.get("conversationId")
    if requester:
        targets.append(requester)
    owner = owner_conversation_id(loaded, stored)
    if owner and owner not in targets:
        targets.append(owner)
    if not targets:
        raise CliError("the request does not say which conversation it came from")
    for conversation_id in targets:
        await perform(loaded, "send", conversation_id, text=text)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "pairing", parents=[common], help="list and approve pairing requests (like `openclaw pairing`)"
    )
    actions = p.add_subparsers(dest="pairing_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", parents=[common], help="pending pairing requests")
    ls.add_argument("args", nargs="*", metavar="channel", help="optional: convos")
    ls.add_argument("--channel", help="the channel (convos)")
    ls.add_argument("--json", action="store_true", help='print {"channel", "requests"}')
    ls.set_defaults(handler=cmd_list)

    ap = actions.add_parser("approve", parents=[common], help="approve a sender by the code they were given")
    add_network_options(ap)
    ap.add_argument(
        "args", nargs="+", metavar="[channel] code", help="the pairing code (optionally after 'convos')"
    )
    ap.add_argument("--channel", help="the channel (convos)")
    ap.add_argument("--notify", action="store_true", help="tell the sender (and the owner conversation)")
    ap.set_defaults(handler=cmd_approve)
