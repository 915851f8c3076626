"""``conversations list``, ``conversations remove-member`` and ``send``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .console import Console, short
from .context import add_network_options, find_conversation, identities, load, owner_conversation_id
from .control import perform, perform_all
from .errors import EXIT_OK, CliError, UsageError

if TYPE_CHECKING:
    from ..gateway.config import LoadedConfig


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
    files = [Path(f).expanduser() for f in args.file or []]
    if not text and not files:
        raise UsageError("nothing to send: give the message text, or --file")
    loaded = load(args)
    stored = find_conversation(loaded, args.conversation)
    assert stored.conversation_id is not None
    # each file its own message, before the text (as the Convos app does); one open for all
    actions: list[tuple[str, dict[str, Any]]] = [
        ("send_file", {"file": await _upload(loaded, p)}) for p in files
    ]
    if text:
        actions.append(("send", {"text": text}))
    results = await perform_all(loaded, stored.conversation_id, actions)
    for path, sent in zip(files, results, strict=False):
        console.say(f"Sent {path.name} to {stored.conversation_id} (message {sent.get('messageId', '?')}).")
    if text:
        console.say(f"Sent to {stored.conversation_id} (message {results[-1].get('messageId', '?')}).")
    return EXIT_OK


async def _upload(loaded: LoadedConfig, path: Path) -> dict[str, Any]:
    """Encrypt ``path`` with fresh keys and upload it with the configured provider."""
    import dataclasses

    from ..media import MediaError, MediaFile
    from ..media.files import guess_mime_type, sanitize_filename
    from ..media.service import MediaService
    from ..xmtp import outbound as out

    media_config = loaded.convos.media
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > media_config.max_bytes:
        raise UsageError(
            f"{path.name} is {size} bytes, above channels.convos.media.maxBytes ({media_config.max_bytes})"
        )
    media = MediaService.from_config(media_config, environ=loaded.environ, env=loaded.convos.env)
    try:
        if not media.can_send:
            raise UsageError(
                "no upload provider is configured: set CONVOS_UPLOAD_PROVIDER (s3, convos-api, pinata) "
                "and its variables, or channels.convos.media (see README, Attachments)"
            )
        file = MediaFile(
            filename=sanitize_filename(path.name),
            mime_type=guess_mime_type(path.name),
            content=path.read_bytes(),
        )
        try:
            ref = await media.upload_file(file)
        except MediaError as exc:
            raise CliError(str(exc)) from exc
    finally:
        await media.aclose()
    return dataclasses.asdict(out.RemoteFile.of(ref))


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

    send = sub.add_parser(
        "send", parents=[common], help="send a text message (and files) into one of our conversations"
    )
    add_network_options(send)
    send.add_argument("conversation", help="conversation id, unique prefix, or 'owner'")
    send.add_argument("text", nargs="*", help="the message (several words are joined with spaces)")
    send.add_argument(
        "--file",
        action="append",
        metavar="PATH",
        help="a file to send first, encrypted and uploaded (needs an upload provider; repeatable)",
    )
    send.set_defaults(handler=cmd_send)
