"""``configure``: join a conversation from the Convos app as the owner channel (OpenClaw's wizard).

Interactive by default (the upstream wizard's steps and texts, adapted); every answer also has a
flag, and ``--non-interactive`` never prompts. The invite is decoded and checked before anything
is created, and shown (name, emoji, expiry) before joining.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..convos.errors import InviteMalformed, InviteTooLarge
from ..convos.invites import SignedInvite
from ..errors import InviteError
from ..gateway.access import DM_POLICIES
from ..gateway.config import REMOVE, LoadedConfig, update_convos_config
from ..gateway.lock import running_gateway
from ..gateway.openclaw_host import check_config_file
from ..gateway.pairing import WILDCARD
from ..joinflow.joiner import JoinStatus, check_invite
from .console import Console
from .context import add_network_options, discard_identity, identities, load, owner_conversation_id
from .control import tell_gateway
from .errors import EXIT_INVITE, EXIT_OK, CliError, UsageError
from .invites import invite_rows

DEFAULT_NAME = "OpenClaw"
SETUP_NOTE = [
    "To connect OpenClaw to Convos:",
    "1. Open the Convos iOS app",
    "2. Open a conversation (or create one)",
    '3. Tap the "+" button',
    "4. Tap the share button on the QR code",
    '5. Tap "Copy" (or AirDrop to your Mac)',
    "6. Paste the invite link below",
    "",
    "OpenClaw will join this conversation as your control channel.",
    "(No phone at hand? `openclaw-convos invite create` makes a conversation for you to scan.)",
]
INVITE_PROMPT = "Paste Convos invite link or slug"
INVITE_HINT = "https://popup.convos.org/v2?i=... or raw slug"
CONNECTED_NOTE = [
    "Successfully joined conversation!",
    "",
    "Conversation ID: {conversation_id}",
    "",
    "This is now your owner channel. OpenClaw will:",
    "- Send status updates here",
    "- Ask for approvals here",
    "- Communicate with you here",
    "",
    "Next: `openclaw-convos run` starts the gateway.",
]
PENDING_NOTE = [
    "Join request sent. The conversation owner needs to approve your request in the Convos iOS app.",
    "",
    "Your new identity is saved. `openclaw-convos run` finishes the join as soon as they",
    "approve (check with `openclaw-convos status`). If nobody approves, ask the creator to open",
    "the conversation in the app (the app approves requests while it runs), or get a new invite.",
]
REFUSED_NOTE = [
    "The conversation's creator refused the join request. This happens when:",
    "- the invite was revoked (the creator reset the conversation's invite link),",
    "- the conversation is locked or has expired,",
    "- the invite was single-use and someone already used it.",
    "",
    'Ask for a new invite in the Convos app (tap "+" in the conversation) and run',
    "`openclaw-convos configure` again with it.",
]
POLICY_LABELS = {
    "pairing": "pairing: unknown senders get a pairing code; you approve them (recommended)",
    "allowlist": "allowlist: only senders in allowFrom",
    "open": 'open: everyone (adds "*" to allowFrom)',
    "disabled": "disabled: ignore everyone but you",
}


class JoinRefused(CliError):
    exit_code = EXIT_INVITE


def _explain_invalid(error: InviteError) -> str:
    if isinstance(error, InviteMalformed | InviteTooLarge):
        return f"Invalid invite format. Paste the full URL or slug. ({error.detail})"
    return str(error)


def _network_mismatch(invite: SignedInvite, env: str) -> str | None:
    hint = invite.env_hint
    if hint is None or hint == env or (env == "local" and hint in ("dev", "local")):
        return None
    return hint


async def cmd_configure(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    # before anything else: OpenClaw without its Convos plugin would reject what we write
    check_config_file(loaded.paths.state_dir, loaded.paths.config_path)
    interactive = not args.non_interactive
    if not interactive and not args.invite:
        raise UsageError("--non-interactive needs --invite <link or slug>")

    stored, _broken = identities(loaded)
    current_owner = owner_conversation_id(loaded, stored)
    replacing = False
    if current_owner:
        if args.replace:
            replacing = True
        elif interactive:
            keep = console.confirm(
                f"Convos already configured (conversation: {current_owner[:12]}...). Keep it?", default=True
            )
            if keep:
                console.say(f"Keeping the owner conversation {current_owner}.")
                await _dm_policy_step(console, loaded, args, interactive)
                return EXIT_OK
            replacing = True
        else:
            raise CliError(
                f"Convos is already configured with the owner conversation {current_owner}; pass "
                "--replace to make the invite's conversation the owner conversation instead",
                exit_code=3,
            )

    now = datetime.now(UTC)
    if args.invite:
        invite = check_invite(args.invite, now=now)  # a bad invite raises its reason (exit 4)
    else:
        console.note("Convos Setup", SETUP_NOTE)
        invite = _prompt_invite(console, now)

    console.note("Invite", [f"{label}: {value}" for label, value in invite_rows(invite, now)])

    mismatch = _network_mismatch(invite, loaded.convos.env)
    if mismatch is not None:
        text = (
            f"This invite link is for the Convos {mismatch} network, but env is {loaded.convos.env!r}; "
            "the join would wait forever on the wrong network."
        )
        if interactive and not args.env and console.confirm(f"{text} Use env {mismatch!r}?", default=True):
            loaded = replace(loaded, convos=replace(loaded.convos, env=mismatch))  # type: ignore[arg-type]
        else:
            console.warn(text + f" Pass --env {mismatch} if that is a mistake.")

    if interactive and not args.invite and not console.confirm("Join this conversation?", default=True):
        console.say("Nothing was changed.")
        return EXIT_OK
    name = args.name
    if name is None and interactive and not args.invite:
        name = console.ask("Name shown in the conversation", default=loaded.convos.name or DEFAULT_NAME)
    name = name or loaded.convos.name or DEFAULT_NAME

    console.say("Creating XMTP identity and joining conversation...")
    progress = console.progress()
    from ..gateway.service import configure_with_invite

    try:
        result = await configure_with_invite(
            loaded, invite.slug, timeout=args.timeout, profile_name=name, progress=progress.update
        )
    finally:
        progress.done()
    join = result.join
    if join.status is JoinStatus.REFUSED:
        discard_identity(loaded, result.identity)  # it never joined anything
        console.note("Convos Error", [join.message, "", *REFUSED_NOTE])
        raise JoinRefused(f"Failed to join: {join.message}")

    changes: dict[str, object] = {}
    if name != (loaded.convos.name or DEFAULT_NAME) or args.name:
        changes["name"] = name
    if replacing and join.status is JoinStatus.PENDING:
        changes["ownerConversationId"] = REMOVE  # set once the new join completes
    if changes:
        await asyncio.to_thread(update_convos_config, loaded.paths.config_path, changes)
    if running_gateway(loaded.paths) is not None:
        await tell_gateway(loaded, "add_identity", identityId=result.identity.id, owner=True)

    if join.status is JoinStatus.JOINED:
        console.note(
            "Convos Connected",
            [line.format(conversation_id=join.conversation_id) for line in CONNECTED_NOTE],
        )
    else:
        console.note("Join pending", PENDING_NOTE)
    await _dm_policy_step(console, load(args), args, interactive and not args.invite)
    return EXIT_OK


def _prompt_invite(console: Console, now: datetime) -> SignedInvite:
    while True:
        text = console.ask(INVITE_PROMPT, hint=INVITE_HINT)
        if not text:
            console.say("   Required")
            continue
        try:
            return check_invite(text, now=now)
        except InviteError as exc:
            console.say(f"   {_explain_invalid(exc)}")


async def _dm_policy_step(
    console: Console, loaded: LoadedConfig, args: argparse.Namespace, ask: bool
) -> None:
    policy: str | None = args.dm_policy
    if policy is None and ask:
        current = loaded.convos.dm_policy
        if console.confirm(f"Configure DM access policies now? (current: {current})", default=False):
            policy = console.choose(
                "Who may talk to the agent besides you?",
                [(p, POLICY_LABELS[p]) for p in DM_POLICIES],
                default=current,
            )
    if policy is None:
        return
    changes: dict[str, object] = {"dmPolicy": policy}
    if policy == "open" and WILDCARD not in loaded.convos.allow_from:
        changes["allowFrom"] = [*loaded.convos.allow_from, WILDCARD]
    await asyncio.to_thread(update_convos_config, loaded.paths.config_path, changes)
    console.say(f"DM policy set to {policy} ({loaded.paths.config_path}).")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "configure",
        parents=[common],
        help="join a conversation from the Convos app as the owner channel (the setup wizard)",
        description="Paste an invite from the Convos app: a new XMTP identity joins that conversation, "
        "which becomes the owner channel, and the config is saved (every other key is kept).",
    )
    add_network_options(p)
    p.add_argument("--invite", metavar="LINK", help="the invite link or slug (skips the prompt)")
    p.add_argument("--name", help=f"our display name in the conversation (default {DEFAULT_NAME})")
    p.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the creator's approval (default 60)"
    )
    p.add_argument("--non-interactive", action="store_true", help="never prompt (needs --invite)")
    p.add_argument(
        "--replace", action="store_true", help="replace an existing owner conversation without asking"
    )
    p.add_argument("--dm-policy", choices=DM_POLICIES, help="also set channels.convos.dmPolicy")
    p.set_defaults(handler=cmd_configure)
