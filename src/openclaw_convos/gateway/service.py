"""The Python API: build a gateway from the config, join by invite, create owned conversations.

The CLI and the tests use these; nothing here prints. Typical use::

    loaded = load_config()
    async with open_gateway(loaded) as gateway:
        await gateway.run_until_stopped(stop_event)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..agents import Agent, build_agent
from ..convos.links import Env
from ..errors import ConfigError
from ..joinflow import creator as convos_creator
from ..joinflow.joiner import (
    JoinResult,
    JoinStatus,
    check_invite,
    request_join,
    verify_creator,
    wait_for_join,
)
from ..media.service import MediaService
from ..xmtp import BackendPool, XmtpClient, XmtpConversation
from .config import LoadedConfig, update_convos_config
from .identities import IdentityStore, StoredIdentity
from .openclaw_host import check_config_file
from .pairing import PairingStore
from .runtime import Gateway, GatewaySettings
from .state import GatewayState

log = logging.getLogger("openclaw_convos.gateway.service")

DEFAULT_NAME = "OpenClaw"


def identity_store(loaded: LoadedConfig) -> IdentityStore:
    env = loaded.convos.env
    return IdentityStore(loaded.paths.identities_dir(env), loaded.paths.xmtp_db_dir(env))


def settings_from(loaded: LoadedConfig, **overrides: object) -> GatewaySettings:
    cfg = loaded.convos
    values: dict[str, object] = {
        "endpoint": cfg.endpoint(),
        "dm_policy": cfg.dm_policy,
        "allow_from": cfg.allow_from,
        "owner_conversation_id": cfg.owner_conversation_id,
        "text_chunk_limit": cfg.text_chunk_limit,
        "inbound_text_limit": cfg.inbound_text_limit,
        "display_name": cfg.name or DEFAULT_NAME,
        "media_dirs": tuple(Path(d).expanduser() for d in cfg.media.media_dirs),
        "history_limit": cfg.history_limit,
        "dm_history_limit": cfg.dm_history_limit,
        "group_rules": cfg.group_rules,
        "chunk_mode": cfg.chunk_mode,
        "reaction_level": cfg.reaction_level,
        "read_receipts": cfg.read_receipts,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


def _owner_from_private_key(loaded: LoadedConfig, store: IdentityStore) -> StoredIdentity | None:
    """``privateKey`` in the config is the owner conversation's identity: adopt it once."""
    key = loaded.convos.private_key
    if not key:
        return None
    wallet = bytes.fromhex(key.removeprefix("0x"))
    stored, _ = store.load_all()
    for item in stored:
        if item.wallet_key == wallet:
            return None
    return store.create(role="owner", wallet_key=wallet, label="owner (privateKey)")


def open_gateway(
    loaded: LoadedConfig,
    agent: Agent | None = None,
    **overrides: object,
) -> Gateway:
    """A gateway for the loaded config (start it with ``async with``)."""
    cfg = loaded.convos
    if not cfg.enabled:
        raise ConfigError("channels.convos.enabled is false; set it to true to run the Convos channel")
    store = identity_store(loaded)
    adopted = _owner_from_private_key(loaded, store)
    if adopted is not None and cfg.owner_conversation_id:
        store.update(adopted, conversation_id=cfg.owner_conversation_id)
    if agent is None:
        agent = build_agent(
            cfg.agent, environ=loaded.environ, work_dir=loaded.paths.media_dir, max_bytes=cfg.media.max_bytes
        )
    gateway = Gateway(
        settings_from(loaded, **overrides),
        agent,
        store,
        GatewayState.open(loaded.paths.store_path),
        PairingStore(loaded.paths.credentials_dir),
        lock_paths=loaded.paths,
        media=MediaService.from_config(cfg.media, environ=loaded.environ, env=cfg.env),
    )
    if adopted is not None:
        gateway.allow_new_installation.add(adopted.id)
    return gateway


@dataclass(frozen=True, slots=True)
class ConfigureResult:
    join: JoinResult
    identity: StoredIdentity


async def configure_with_invite(
    loaded: LoadedConfig,
    invite_text: str,
    *,
    timeout: float = 60.0,
    profile_name: str | None = None,
    progress: Callable[[str], None] | None = None,
    now: datetime | None = None,
    save: bool = True,
) -> ConfigureResult:
    """The seed's setup: a new XMTP identity joins the invite's conversation as the owner channel.

    The identity is saved before the request is sent, so a pending join survives; ``run``
    finishes it. The invite's creator becomes an owner only when the join is complete: here when
    it completes in time, else when ``run`` completes it (:func:`promote_pending_owner`); a refused
    or unanswered join grants nothing. On success the config gets ``enabled``, ``env``,
    ``identityId`` and ``ownerConversationId`` (every other key is kept).
    With ``save=False`` the config file is left alone: OpenClaw's plugin writes what the result says.
    """
    say = progress or (lambda _text: None)
    if save:
        check_config_file(loaded.paths.state_dir, loaded.paths.config_path)
    invite = check_invite(invite_text, now=now or datetime.now(UTC))
    pool = BackendPool(loaded.convos.endpoint())
    say("Checking the invite's signature against its creator's inbox…")
    # before any identity or request exists: a forged invite costs nothing and sends nothing
    await verify_creator(pool, invite, network=loaded.convos.env)
    store = identity_store(loaded)
    stored = store.create(role="owner", label=invite.payload.name or "owner")
    name = profile_name or loaded.convos.name or DEFAULT_NAME
    # all or nothing: until the join request is out, a failure (the node gone, a refusal by the
    # network) deletes the new identity again; after it, the identity is a pending join to keep
    sent = False
    try:
        stored = store.update(stored, invite_slug=invite.slug)
        say("Creating a new XMTP identity…")
        client = await XmtpClient.open(store.xmtp_identity(stored), pool)
        try:
            stored = store.update(stored, inbox_id=client.inbox_id)
            say("Sending the join request to the conversation's creator…")
            sent_at = datetime.now(UTC)
            await request_join(client, invite, profile_name=name)
            sent = True
            result = await wait_for_join(
                client,
                invite,
                timeout=timeout,
                poll=1.0,
                since_ns=int(sent_at.timestamp() * 1e9) - 1_000_000_000,
                profile_name=name,
                progress=lambda elapsed: say(f"Waiting for the creator to approve… {elapsed:.0f}s"),
            )
        except BaseException:
            client.close()
            raise
    except BaseException:
        if not sent:
            store.discard(stored.id)
        raise
    changes: dict[str, object] = {"enabled": True, "env": loaded.convos.env, "identityId": stored.id}
    if loaded.convos.api_url:
        changes["apiUrl"] = loaded.convos.api_url
    if result.status is JoinStatus.JOINED:
        assert result.conversation_id is not None
        stored = store.update(stored, conversation_id=result.conversation_id, invite_slug=None)
        changes["ownerConversationId"] = result.conversation_id
        await _record_owner(loaded, invite.payload.creator_inbox_id)
        await _record_owner_fact(loaded, result.conversation_id)
    elif result.status is JoinStatus.PENDING:
        await _record_pending_owner(loaded, stored.id, invite.payload.creator_inbox_id)
        await _record_owner_fact(loaded, "")  # a new owner conversation is on its way
    if save and result.status is not JoinStatus.REFUSED:
        await asyncio.to_thread(
            update_convos_config, loaded.paths.config_path, changes, state_dir=loaded.paths.state_dir
        )
    client.close()
    return ConfigureResult(result, stored)


_PENDING_OWNER = "pending-owner:"


async def _record_owner(loaded: LoadedConfig, inbox_id: str) -> None:
    state = GatewayState.open(loaded.paths.store_path)
    try:
        await state.add_owner(inbox_id)
    finally:
        state.close()


async def _record_owner_fact(loaded: LoadedConfig, conversation_id: str) -> None:
    """The owner conversation as the state database knows it (``run`` falls back on it when the
    config could not be written; "" when a set-up replaces it)."""
    state = GatewayState.open(loaded.paths.store_path)
    try:
        await state.set_activity("owner_conversation_id", conversation_id)
    finally:
        state.close()


async def _record_pending_owner(loaded: LoadedConfig, identity_id: str, inbox_id: str) -> None:
    """Who becomes the owner if identity ``identity_id``'s pending join completes (not before)."""
    state = GatewayState.open(loaded.paths.store_path)
    try:
        await state.set_activity(_PENDING_OWNER + identity_id, inbox_id)
    finally:
        state.close()


async def promote_pending_owner(state: GatewayState, identity_id: str) -> str | None:
    """The pending join of ``identity_id`` completed: its invite's creator becomes an owner.

    Returns that inbox id (None when nothing was pending); the caller adds it to the running
    gateway's owners.
    """
    inbox_id = await state.activity_value(_PENDING_OWNER + identity_id)
    if not inbox_id:
        return None
    await state.add_owner(inbox_id)
    await state.set_activity(_PENDING_OWNER + identity_id, "")
    return inbox_id


@dataclass(frozen=True, slots=True)
class CreatedConversation:
    conversation_id: str
    slug: str
    url: str
    identity: StoredIdentity
    is_owner_conversation: bool
    single_use: bool = False


async def create_owned_conversation(
    loaded: LoadedConfig,
    *,
    name: str | None = None,
    description: str | None = None,
    emoji: str | None = None,
    expires_at: datetime | None = None,
    single_use: bool | None = None,
    gateway: Gateway | None = None,
) -> CreatedConversation:
    """The reverse setup: a new conversation owned by a new identity of ours, and its invite.

    Without an owner conversation yet, this one becomes it and its first joiner becomes the owner;
    its invite is then single-use unless ``single_use=False`` (whoever else holds the link would
    join the owner conversation and read every pairing notice). Pass a running ``gateway`` to have
    it serve the new identity at once.
    """
    store = identity_store(loaded)
    owner_known = bool(loaded.convos.owner_conversation_id) or any(
        s.role == "owner" and s.conversation_id for s in store.load_all()[0]
    )
    role = "creator" if owner_known else "owner"
    if single_use is None:
        single_use = role == "owner"
    title = name or (DEFAULT_NAME if role == "owner" else None)
    stored = store.create(role=role, label=title)
    pool = gateway.pool if gateway is not None else BackendPool(loaded.convos.endpoint())
    # all or nothing: a failure before the conversation exists deletes the new identity again
    try:
        client = await XmtpClient.open(store.xmtp_identity(stored), pool)
        try:
            stored = store.update(stored, inbox_id=client.inbox_id)
            conversation = await convos_creator.create_conversation(
                client,
                name=title,
                description=description,
                emoji=emoji,
                profile_name=loaded.convos.name or DEFAULT_NAME,
            )
        except BaseException:
            client.close()
            raise
    except BaseException:
        store.discard(stored.id)
        raise
    stored = store.update(stored, conversation_id=conversation.id)
    slug, url = convos_creator.invite_for(
        client, conversation, env=_link_env(loaded.convos.env), expires_at=expires_at, single_use=single_use
    )
    client.close()
    if role == "owner" and not loaded.convos.owner_conversation_id:
        await asyncio.to_thread(
            update_convos_config,
            loaded.paths.config_path,
            {
                "enabled": True,
                "env": loaded.convos.env,
                "ownerConversationId": conversation.id,
                "identityId": stored.id,
            },
        )
    if gateway is not None:
        await gateway.add_identity(stored)
        if role == "owner":
            gateway.owner_conversation_id = conversation.id
    return CreatedConversation(conversation.id, slug, url, stored, role == "owner", single_use)


def _link_env(env: str) -> Env:
    return "production" if env == "production" else "dev"


async def conversation_for(loaded: LoadedConfig, conversation_id: str) -> tuple[XmtpClient, XmtpConversation]:
    """Open the identity that serves ``conversation_id`` (for invite/revoke/lock/send commands)."""
    store = identity_store(loaded)
    stored = store.find_by_conversation(conversation_id)
    if stored is None:
        raise ConfigError(
            f"no identity of ours is in conversation {conversation_id} (see `conversations list`)"
        )
    client = await XmtpClient.open(store.xmtp_identity(stored), BackendPool(loaded.convos.endpoint()))
    conversation = client.conversation(conversation_id)
    if conversation is None:
        await client.sync_welcomes()
        conversation = client.conversation(conversation_id)
    if conversation is None:
        client.close()
        raise ConfigError(f"conversation {conversation_id} is not in identity {stored.id}'s database")
    return client, conversation
