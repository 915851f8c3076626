"""``conversations list``, ``conversations remove-member`` and ``send``."""

from __future__ import annotations

import argparse
from typing import Any

from .console import Console, short
from .context import add_network_options, find_conversation, identities, load, owner_conversation_id
from .control import perform
from .errors import EXIT_OK, UsageError


async def cmd_list(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    stored, broken = identities(loaded)
    owner = owner_conversation_id(loaded, stored)
    items: list[dict[str, Any]] = [
        {
            "conversationId": s.conversation_id,
            "ownerChannel": bool(owner) and s.conversation_id == owner,
            "role": s.role,
            "state": "joined" if s.conversation_id else ("pending" if s.invite_slug else "idle"),
            "label": s.label,
            "identityId": s.id,
            "inboxId": s.inbox_id,
        }
        for s in stored
    ]
    if args.json:
        console.json({"env": loaded.convos.env, "conversations": items, "unreadable": broken})
        return EXIT_OK
    if not items:
        console.say(
            f"No conversations on env {loaded.convos.env!r} yet: run `openclaw-convos configure` or "
            "`openclaw-convos invite create`."
        )
        return EXIT_OK
    console.say(f"Conversations ({len(items)}, env {loaded.convos.env})")
    rows = [
        [
            s.conversation_id or "(waiting to join)",
            "owner channel" if owner and s.conversation_id == owner else s.role,
            "joined" if s.conversation_id else ("pending" if s.invite_slug else "idle"),
            s.label or "",
            s.id,
            short(s.inbox_id),
        ]
        for s in stored
    ]
    console.table(["Conversation", "Role", "State", "Name", "Identity", "Inbox"], rows)
    for key, error in broken.items():
        console.warn(f"identity {key} is unreadable: {error}")
    return EXIT_OK


async def cmd_send(args: argparse.Namespace) -> int:
    console = Console()
    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("nothing to send: give the message text")
    loaded = load(args)
    stored = find_conversation(loaded, args.conversation)
    assert stored.conversation_id is not None
    sent = await perform(loaded, "send", stored.conversation_id, text=text)
    console.say(f"Sent to {stored.conversation_id} (message {sent.get('messageId', '?')}).")
    return EXIT_OK


async def cmd_remove_member(args: argparse.Namespace) -> int:
    console = Console()
    inbox_id = args.inbox_id.strip().lower()
    if len(inbox_id) != 64 or any(ch not in "0123456789abcdef" for ch in inbox_id):
        raise UsageError(
            "give the member's inbox id (64 hex characters; `status` and pairing notices show them)"
        )
    loaded = load(args)
    stored = find_conversation(loaded, args.conversation)
    assert stored.conversation_id is not None
    await perform(loaded, "remove_member", stored.conversation_id, inboxId=inbox_id)
    console.say(f"Removed {inbox_id} from conversation {stored.conversation_id}.")
    console.say(
        "Invites they hold still work: revoke them with "
        f"`openclaw-convos invite revoke {stored.conversation_id[:8]}` if they should not come back."
    )
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    conv = sub.add_parser("conversations", parents=[common], help="the conversations the gateway is in")
    actions = conv.add_subparsers(dest="conversations_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", parents=[common], help="every conversation of our identities (offline)")
    add_network_options(ls)
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=cmd_list)
    rm = actions.add_parser(
        "remove-member", parents=[common], help="remove a member from a conversation the gateway created"
    )
    add_network_options(rm)
    rm.add_argument("conversation", help="conversation id, unique prefix, or 'owner'")
    rm.add_argument("inbox_id", metavar="inbox-id", help="the member's inbox id")
    rm.set_defaults(handler=cmd_remove_member)

    send = sub.add_parser("send", parents=[common], help="send a text message into one of our conversations")
    add_network_options(send)
    send.add_argument("conversation", help="conversation id, unique prefix, or 'owner'")
    send.add_argument("text", nargs="+", help="the message (several words are joined with spaces)")
    send.set_defaults(handler=cmd_send)
