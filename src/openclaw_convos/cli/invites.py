"""``invite create | inspect | revoke | lock``: the gateway's own conversations and their invites."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..convos.errors import (
    InviteBadSignature,
    InviteConversationExpired,
    InviteCreatorUnknown,
    InviteExpired,
    InviteMalformed,
    InviteSignerNotCreator,
    InviteTooLarge,
)
from ..convos.invites import (
    SignedInvite,
    check_signer_is_creator,
    decrypt_conversation_id,
    parse_invite,
    recover_signer,
)
from ..convos.keys import ethereum_address, public_key
from ..convos.tags import same_tag
from ..errors import ConvosError, InviteError, NodeUnreachable
from ..gateway.config import ENVS, LoadedConfig, update_convos_config
from ..gateway.identities import IdentityStore, StoredIdentity
from ..gateway.lock import running_gateway
from .console import Console, format_when, parse_duration, qr_text, save_qr_png, short
from .context import add_network_options, find_conversation, load, overrides_to_save
from .control import perform, tell_gateway
from .errors import EXIT_INVITE, EXIT_NETWORK, EXIT_OK, CliError, UsageError

# -- describing an invite ------------------------------------------------------------------------

REASON_KINDS: dict[type[InviteError], str] = {
    InviteMalformed: "malformed",
    InviteTooLarge: "malformed",
    InviteBadSignature: "bad_signature",
    InviteSignerNotCreator: "signer_not_creator",
    InviteCreatorUnknown: "creator_unknown",
    InviteExpired: "expired",
    InviteConversationExpired: "conversation_expired",
}


def reason_kind(error: InviteError) -> str:
    for cls, kind in REASON_KINDS.items():
        if isinstance(error, cls):
            return kind
    return "invalid"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def invite_rows(invite: SignedInvite, now: datetime) -> list[tuple[str, str]]:
    """What a person wants to see before joining: name, emoji, expiry and the rest."""
    p = invite.payload
    rows = [("Conversation", " ".join(x for x in (p.emoji, p.name or "(no name)") if x))]
    if p.description:
        rows.append(("Description", p.description))
    rows.append(("Invite expires", format_when(p.expires_at, now)))
    if p.conversation_expires_at:
        rows.append(("Conversation expires", format_when(p.conversation_expires_at, now)))
    rows.append(("Single use", "yes (the first person to join uses it up)" if p.single_use else "no"))
    rows.append(("Created by", f"inbox {short(p.creator_inbox_id, 16)}"))
    if invite.env_hint:
        rows.append(("Network (from the link)", invite.env_hint))
    return rows


@dataclass
class Inspection:
    """Everything ``invite inspect`` found out about an invite."""

    invite: SignedInvite | None
    problem: InviteError | None = None
    signer_address: str | None = None
    signature_valid: bool = False  # well-formed: a signer key is recoverable
    signer_checked: bool = False  # the signer is an address of the creator's inbox
    unchecked_because: str | None = None
    ours: StoredIdentity | None = None
    ours_env: str | None = None
    conversation_id: str | None = None
    status_notes: list[str] = field(default_factory=list)
    revoked: bool = False
    used: bool = False
    locked: bool = False

    @property
    def reason(self) -> str | None:
        if self.problem is not None:
            return str(self.problem)
        target = (self.conversation_id or "<id>")[:8]
        if self.revoked:
            return (
                "This invite was revoked (the conversation's invite tag was reset); make a new one "
                f"with `openclaw-convos invite create --conversation {target}`."
            )
        if self.locked:
            return (
                "The conversation is locked, so nobody can join; unlock it with "
                f"`openclaw-convos invite lock {target} --unlock`."
            )
        if self.used:
            return "This single-use invite has already been used; make a new one."
        if not self.signer_checked and self.invite is not None:
            return f"{UNCHECKED}: {self.unchecked_because or 'unknown reason'}"
        return None

    @property
    def problem_kind(self) -> str | None:
        if self.reason is None:
            return None
        if self.problem is not None:
            return reason_kind(self.problem)
        if self.revoked:
            return "revoked"
        if self.locked:
            return "locked"
        if self.used:
            return "already_used"
        return "unverified"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"valid": self.reason is None}
        if self.reason is not None:
            out["problem"] = self.problem_kind
            out["reason"] = self.reason
        if self.invite is None:
            return out
        p = self.invite.payload
        out.update(
            {
                "creatorInboxId": p.creator_inbox_id,
                "tag": p.tag,
                "name": p.name,
                "description": p.description,
                "imageUrl": p.image_url,
                "emoji": p.emoji,
                "expiresAt": _iso(p.expires_at),
                "conversationExpiresAt": _iso(p.conversation_expires_at),
                "singleUse": p.single_use,
                "signature": {
                    "wellFormed": self.signature_valid,
                    "signerAddress": self.signer_address,
                    "signerIsCreator": self.signer_checked,
                },
                "envHint": self.invite.env_hint,
                "compression": self.invite.compression,
                "slug": self.invite.slug,
                "conversationId": self.conversation_id,
                "ours": (
                    {
                        "identityId": self.ours.id,
                        "role": self.ours.role,
                        "env": self.ours_env,
                        "revoked": self.revoked,
                        "locked": self.locked,
                        "used": self.used,
                    }
                    if self.ours is not None
                    else None
                ),
            }
        )
        return out


def _our_identities(loaded: LoadedConfig) -> list[tuple[str, IdentityStore, StoredIdentity]]:
    found: list[tuple[str, IdentityStore, StoredIdentity]] = []
    for env in ENVS:
        store = IdentityStore(loaded.paths.identities_dir(env), loaded.paths.xmtp_db_dir(env))
        for stored in store.load_all()[0]:
            found.append((env, store, stored))
    return found


UNCHECKED = "signature well-formed; signer not checked against the creator"
NODE_TIMEOUT = 8.0
"""Seconds ``inspect`` waits for the node's answer about the creator's inbox."""


async def inspect_invite(
    loaded: LoadedConfig, text: str, now: datetime, *, node_timeout: float = NODE_TIMEOUT
) -> Inspection:
    try:
        invite = parse_invite(text)
    except InviteError as exc:
        return Inspection(None, problem=exc)
    result = Inspection(invite)
    try:
        signer = recover_signer(invite)
    except InviteBadSignature as exc:
        result.problem = exc
        return result
    result.signature_valid = True
    result.signer_address = signer.address
    p = invite.payload
    if p.expires_at_unix is not None and now.timestamp() > p.expires_at_unix:
        result.problem = InviteExpired(p.expires_at_unix)
    elif p.conversation_expires_at_unix is not None and now.timestamp() > p.conversation_expires_at_unix:
        result.problem = InviteConversationExpired(p.conversation_expires_at_unix)
    for env, _store, stored in _our_identities(loaded):
        if ethereum_address(public_key(stored.wallet_key)).lower() != signer.address.lower():
            continue
        if stored.inbox_id is not None and stored.inbox_id.lower() == p.creator_inbox_id:
            result.signer_checked = True  # our own key and inbox: nothing to ask the node
        result.ours, result.ours_env = stored, env
        try:
            result.conversation_id = decrypt_conversation_id(invite, stored.wallet_key)
        except InviteError as exc:
            result.status_notes.append(f"the token does not open with our key: {exc}")
            break
        await _check_ours(loaded, result, env)
        break
    if not result.signer_checked and result.problem is None:
        await _check_signer(loaded, result, timeout=node_timeout)
    return result


async def _check_signer(loaded: LoadedConfig, result: Inspection, *, timeout: float) -> None:
    """Ask the node for the creator inbox's association state; the signer must be in it."""
    from ..xmtp import BackendPool

    assert result.invite is not None
    pool = BackendPool(loaded.convos.endpoint())
    try:
        state = await pool.inbox_state(result.invite.payload.creator_inbox_id, timeout=timeout)
        check_signer_is_creator(
            result.invite,
            recover_signer(result.invite),
            None if state is None else state.addresses,
            network=loaded.convos.env,
        )
    except InviteError as exc:
        result.problem = exc
    except NodeUnreachable:
        result.unchecked_because = f"no network: the {loaded.convos.env} XMTP node did not answer"
    except ConvosError as exc:
        result.unchecked_because = f"the node's answer could not be read ({exc})"
    else:
        result.signer_checked = True


async def _check_ours(loaded: LoadedConfig, result: Inspection, env: str) -> None:
    """Revoked, locked or used: what only the creator (we) can tell."""
    assert result.invite is not None and result.conversation_id is not None
    scoped = replace(loaded, convos=replace(loaded.convos, env=env))  # type: ignore[arg-type]
    if result.invite.payload.single_use and loaded.paths.store_path.exists():
        from ..gateway.state import GatewayState

        state = GatewayState.open(loaded.paths.store_path)
        try:
            result.used = await state.invite_used_by(result.invite.digest.hex()) is not None
        finally:
            state.close()
    try:
        current = await asyncio.wait_for(perform(scoped, "state", result.conversation_id), 20)
    except (ConvosError, TimeoutError) as exc:
        result.status_notes.append(f"revocation not checked: {exc}")
        return
    tag = current.get("tag")
    result.revoked = bool(tag) and not same_tag(str(tag), result.invite.payload.tag)
    result.locked = bool(current.get("locked"))


async def cmd_inspect(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    now = datetime.now(UTC)
    found = await inspect_invite(loaded, args.invite, now)
    if args.json:
        console.json(found.to_json())
    else:
        _print_inspection(console, found, now)
    if found.reason is not None:
        unverified = found.problem_kind == "unverified"
        if args.json:
            return EXIT_NETWORK if unverified else EXIT_INVITE
        if unverified:
            raise InviteUnverified(found.reason)
        raise InviteRejected(found.reason)
    return EXIT_OK


class InviteRejected(CliError):
    exit_code = EXIT_INVITE


class InviteUnverified(CliError):
    """The invite looks right but could not be checked against its creator (no node)."""

    exit_code = EXIT_NETWORK


def _print_inspection(console: Console, found: Inspection, now: datetime) -> None:
    if found.invite is None:
        return
    p = found.invite.payload
    rows = [
        ("Name", p.name or "-"),
        ("Description", p.description or "-"),
        ("Image URL", p.image_url or "-"),
        ("Emoji", p.emoji or "-"),
        ("Creator inbox ID", p.creator_inbox_id),
        ("Invite tag", p.tag),
        ("Invite expires", format_when(p.expires_at, now)),
        ("Conversation expires", format_when(p.conversation_expires_at, now)),
        ("Single use", "yes" if p.single_use else "no"),
        ("Signature", _signature_text(found)),
        ("Network (from the link)", found.invite.env_hint or "- (a bare slug)"),
        ("Encoding", found.invite.compression),
    ]
    if found.ours is not None:
        rows.append(
            (
                "Conversation ID",
                f"{found.conversation_id or '?'} (ours: identity {found.ours.id}, {found.ours.role}, "
                f"env {found.ours_env})",
            )
        )
    else:
        rows.append(("Conversation ID", "unknown (only its creator's key opens the token)"))
    width = max(len(label) for label, _ in rows)
    console.say("Convos invite")
    for label, value in rows:
        console.say(f"  {label.ljust(width)}  {value}")
    for note in found.status_notes:
        console.say(f"  note: {note}")
    if found.reason is None:
        status = "valid"
    elif found.problem_kind == "unverified":
        status = "NOT VERIFIED (the signer could not be checked)"
    else:
        status = f"NOT USABLE ({found.problem_kind})"
    console.say(f"  {'Status'.ljust(width)}  {status}")


def _signature_text(found: Inspection) -> str:
    if not found.signature_valid:
        return "INVALID"
    if found.signer_checked:
        return f"valid (signed by {found.signer_address}, an address of the creator's inbox)"
    if isinstance(found.problem, InviteSignerNotCreator):
        return f"FORGED (signed by {found.signer_address}, not an address of the creator's inbox)"
    if found.unchecked_because is not None:
        return f"{UNCHECKED} ({found.unchecked_because}); signed by {found.signer_address}"
    return f"well-formed (signed by {found.signer_address}); creator not checked"


# -- create ----------------------------------------------------------------------------------------


async def cmd_create(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    now = datetime.now(UTC)
    expires_at = now + parse_duration(args.expires_in) if args.expires_in else None
    if args.png and not Path(args.png).expanduser().parent.is_dir():
        raise UsageError(f"cannot save the QR code: the folder of {args.png} does not exist")
    link_env = "production" if loaded.convos.env == "production" else "dev"
    running = running_gateway(loaded.paths)
    if args.conversation:
        stored = find_conversation(loaded, args.conversation)
        assert stored.conversation_id is not None
        made = await perform(
            loaded,
            "invite",
            stored.conversation_id,
            env=link_env,
            expiresAtUnix=int(expires_at.timestamp()) if expires_at else None,
            singleUse=bool(args.single_use),
        )
        single_use = bool(args.single_use)
        url, conversation_id, is_owner = str(made["url"]), stored.conversation_id, False
        headline = f"New invite for conversation {conversation_id}."
        identity_id = stored.id
    else:
        from ..gateway.service import create_owned_conversation

        created = await create_owned_conversation(
            loaded,
            name=args.name,
            description=args.description,
            emoji=args.emoji,
            expires_at=expires_at,
            single_use=args.single_use,
        )
        single_use = created.single_use
        url, conversation_id, is_owner = created.url, created.conversation_id, created.is_owner_conversation
        identity_id = created.identity.id
        if is_owner:
            changes = overrides_to_save(args, loaded)
            if changes:
                await asyncio.to_thread(update_convos_config, loaded.paths.config_path, changes)
            headline = (
                f"Created your owner conversation {conversation_id} "
                f"(“{args.name or 'OpenClaw'}”): whoever joins first becomes the owner."
            )
        else:
            headline = f"Created conversation {conversation_id}" + (
                f" (“{args.name}”)." if args.name else "."
            )
        await tell_gateway(loaded, "add_identity", identityId=identity_id)
    if args.png:
        await asyncio.to_thread(save_qr_png, url, str(Path(args.png).expanduser()))
    if args.json:
        console.json(
            {
                "conversationId": conversation_id,
                "identityId": identity_id,
                "url": url,
                "ownerConversation": is_owner,
                "expiresAt": _iso(expires_at),
                "singleUse": single_use,
                "png": str(Path(args.png).expanduser()) if args.png else None,
                "gatewayRunning": running is not None,
            }
        )
        return EXIT_OK
    console.say(headline)
    details = []
    if expires_at:
        details.append(f"expires {format_when(expires_at, now)}")
    if single_use:
        details.append("single use" + (": only the owner should use it" if is_owner else ""))
    console.say("Invite" + (f" ({', '.join(details)})" if details else "") + ":")
    console.say()
    console.say(url)
    console.say()
    if not args.no_qr:
        console.say(qr_text(url))
        console.say()
    if args.png:
        console.say(f"QR code saved to {args.png}")
    console.say("Scan it with the Convos app, or open the link on the phone.")
    if running is not None:
        console.say(f"The running gateway (pid {running}) admits whoever uses it.")
    else:
        console.say("Start `openclaw-convos run` so the gateway can admit whoever uses it.")
    return EXIT_OK


# -- revoke and lock ---------------------------------------------------------------------------------


async def cmd_revoke(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    stored = find_conversation(loaded, args.conversation)
    assert stored.conversation_id is not None
    await perform(loaded, "revoke", stored.conversation_id)
    console.say(f"Revoked every invite of conversation {stored.conversation_id}: old links no longer work.")
    console.say(
        f"Make a new one with `openclaw-convos invite create --conversation {stored.conversation_id[:8]}`."
    )
    return EXIT_OK


async def cmd_lock(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    stored = find_conversation(loaded, args.conversation)
    assert stored.conversation_id is not None
    await perform(loaded, "lock", stored.conversation_id, locked=not args.unlock)
    if args.unlock:
        console.say(
            f"Unlocked conversation {stored.conversation_id}: new invites work again (old ones stay "
            f"revoked). Make one with `openclaw-convos invite create --conversation {stored.conversation_id[:8]}`."
        )
    else:
        console.say(
            f"Locked conversation {stored.conversation_id}: nobody new can join, and every invite was revoked."
        )
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    invite = sub.add_parser("invite", help="make, inspect, revoke and lock invites", parents=[common])
    actions = invite.add_subparsers(dest="invite_command", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create",
        parents=[common],
        help="a new conversation of the gateway and its invite (URL + QR code to scan)",
        description="Create a conversation owned by a new identity of the gateway and print its invite. "
        "Without an owner conversation yet, this one becomes it and its first joiner the owner.",
    )
    add_network_options(create)
    create.add_argument(
        "--name", help="the conversation's name (default for the owner conversation: OpenClaw)"
    )
    create.add_argument("--description", help="the conversation's description")
    create.add_argument("--emoji", help="the conversation's emoji")
    create.add_argument(
        "--expires-in", metavar="DURATION", help="invite lifetime, e.g. 30m, 12h, 7d (default: none)"
    )
    create.add_argument(
        "--single-use",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the invite admits one person only (the default for the owner conversation's first invite; "
        "--no-single-use opts out)",
    )
    create.add_argument("--png", metavar="PATH", help="also save the QR code as a PNG file")
    create.add_argument("--no-qr", action="store_true", help="print the URL only")
    create.add_argument(
        "--conversation",
        metavar="ID",
        help="a new invite for an existing conversation of ours (id or prefix)",
    )
    create.add_argument("--json", action="store_true", help="machine-readable output (no QR code)")
    create.set_defaults(handler=cmd_create)

    inspect = actions.add_parser(
        "inspect",
        parents=[common],
        help="decode an invite: fields, signature, expiry; its conversation when it is ours",
    )
    add_network_options(inspect)
    inspect.add_argument("invite", help="an invite link or slug")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(handler=cmd_inspect)

    revoke = actions.add_parser(
        "revoke", parents=[common], help="invalidate every invite of a conversation (rotate its tag)"
    )
    add_network_options(revoke)
    revoke.add_argument("conversation", help="conversation id, unique prefix, or 'owner'")
    revoke.set_defaults(handler=cmd_revoke)

    lock = actions.add_parser(
        "lock", parents=[common], help="lock a conversation (nobody can join), or --unlock it"
    )
    add_network_options(lock)
    lock.add_argument("conversation", help="conversation id, unique prefix, or 'owner'")
    lock.add_argument("--unlock", action="store_true", help="allow joining again")
    lock.set_defaults(handler=cmd_lock)
