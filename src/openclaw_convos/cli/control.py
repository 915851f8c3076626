"""Acting on a conversation whether or not the gateway runs.

A conversation's identity must be used by one process at a time (two processes publishing for
the same installation fork its MLS state). So when ``run`` holds the gateway lock, commands such
as ``send``, ``invite revoke`` or ``pairing approve --notify`` hand their request to it through
the control folder (``<state>/convos/control/``, 0700): ``<id>.request.json`` in,
``<id>.result.json`` out, each written atomically. Otherwise the command opens the identity
itself for the moment it needs it.

The actions (:data:`CONVERSATION_ACTIONS`) are the same functions in both cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..convos.metadata import decode_app_data
from ..errors import ConfigError, ConvosError, InviteError, TransportError
from ..fsutil import ensure_private_dir, write_private_file
from ..gateway.config import LoadedConfig
from ..gateway.lock import running_gateway
from ..gateway.paths import StatePaths
from ..joinflow import creator as convos_creator
from .errors import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_INVITE,
    EXIT_NETWORK,
    CliError,
    GatewayBusy,
)

if TYPE_CHECKING:  # without loading the native binding at import
    from ..gateway.runtime import Gateway
    from ..xmtp import XmtpClient, XmtpConversation

log = logging.getLogger("openclaw_convos.cli.control")

Params = dict[str, Any]
Action = Callable[["XmtpClient", "XmtpConversation", Params], Awaitable[Params]]

_POLL = 0.1
_SERVE_POLL = 0.2


def control_dir(paths: StatePaths) -> Path:
    return paths.data_dir / "control"


# -- the actions -------------------------------------------------------------------------------


async def _send(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    from ..xmtp import outbound as out

    message_id = await conversation.publish(out.Text(str(params["text"])))
    return {"messageId": message_id}


async def _send_file(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    """A file the caller already encrypted and uploaded (``file``: the RemoteFile fields)."""
    from ..xmtp import outbound as out

    fields = params.get("file")
    if not isinstance(fields, dict):
        raise CliError("send_file needs the uploaded file's fields")
    try:
        item = out.RemoteFile(**fields)
        item.reference()  # the keys must be hex
    except (TypeError, ValueError) as exc:
        raise CliError(f"send_file: malformed file fields ({exc})") from exc
    message_id = await conversation.publish(item)
    return {"messageId": message_id}


async def _revoke(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    tag = await convos_creator.revoke_invites(conversation, own_inbox_id=client.inbox_id)
    await convos_creator.secure(conversation, client.inbox_id)
    return {"tag": tag}


async def _lock(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    locked = bool(params.get("locked", True))
    await convos_creator.secure(conversation, client.inbox_id)
    await convos_creator.lock(conversation, locked=locked, own_inbox_id=client.inbox_id)
    return {"locked": locked}


async def _invite(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    secured = await convos_creator.secure(conversation, client.inbox_id)
    repaired = False
    if convos_creator.readable_tag(conversation) is None:
        # garbage (or no) appData written by someone else: fresh metadata, then invite as usual
        await convos_creator.revoke_invites(conversation, own_inbox_id=client.inbox_id)
        repaired = True
    expires = params.get("expiresAtUnix")
    slug, url = convos_creator.invite_for(
        client,
        conversation,
        env="production" if params.get("env") == "production" else "dev",
        expires_at=int(expires) if expires else None,
        single_use=bool(params.get("singleUse")),
    )
    return {"slug": slug, "url": url, "repairedMetadata": repaired, "restricted": secured}


async def _remove_member(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    inbox_id = str(params["inboxId"]).strip().lower()
    if inbox_id == client.inbox_id:
        raise CliError("that is the gateway's own identity in this conversation; it cannot remove itself")
    await conversation.sync()
    members = {m.inbox_id for m in await conversation.members()}
    if inbox_id not in members:
        raise CliError(f"{inbox_id} is not a member of conversation {conversation.id}")
    await conversation.remove_members([inbox_id])
    return {"removed": inbox_id}


async def _state(client: XmtpClient, conversation: XmtpConversation, params: Params) -> Params:
    try:
        await conversation.sync()
    except ConvosError as exc:  # offline: the local state still answers
        log.debug("sync of %s failed: %s", conversation.id, exc)
    try:
        tag: str | None = decode_app_data(conversation.app_data).tag or None
    except ConvosError:
        tag = None
    return {
        "tag": tag,
        "locked": conversation.add_member_policy() == "deny",
        "name": conversation.name,
        "members": len(await conversation.members()),
    }


CONVERSATION_ACTIONS: dict[str, Action] = {
    "send": _send,
    "send_file": _send_file,
    "revoke": _revoke,
    "lock": _lock,
    "invite": _invite,
    "state": _state,
    "remove_member": _remove_member,
}


async def perform(loaded: LoadedConfig, action: str, conversation_id: str, **params: Any) -> Params:
    """Run ``action`` on one of our conversations, through the running gateway if there is one."""
    (result,) = await perform_all(loaded, conversation_id, [(action, params)])
    return result


async def perform_all(
    loaded: LoadedConfig, conversation_id: str, actions: list[tuple[str, Params]]
) -> list[Params]:
    """Run several actions in order on one conversation, opening its identity once (libxmtp can
    refuse to reopen a database that this process closed a moment ago: "PRAGMA key or salt has
    incorrect value")."""
    for action, _params in actions:
        if action not in CONVERSATION_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
    if running_gateway(loaded.paths) is not None:
        control = ControlClient(control_dir(loaded.paths))
        return [
            await control.call(action, conversation=conversation_id, **params) for action, params in actions
        ]
    client, conversation = await open_conversation(loaded, conversation_id)
    try:
        return [
            await CONVERSATION_ACTIONS[action](client, conversation, params) for action, params in actions
        ]
    finally:
        client.close()


async def open_conversation(
    loaded: LoadedConfig, conversation_id: str
) -> tuple[XmtpClient, XmtpConversation]:
    """Open the identity in ``conversation_id`` from its database (works offline for local reads)."""
    from ..gateway.service import identity_store
    from ..xmtp import BackendPool, XmtpClient

    store = identity_store(loaded)
    stored = store.find_by_conversation(conversation_id)
    if stored is None:
        raise ConfigError(
            f"no identity of ours is in conversation {conversation_id} (see `openclaw-convos conversations list`)"
        )
    client = await XmtpClient.open(
        store.xmtp_identity(stored), BackendPool(loaded.convos.endpoint()), allow_offline=True
    )
    conversation = client.conversation(conversation_id)
    if conversation is None:
        try:
            await client.sync_welcomes()
        except ConvosError:
            client.close()
            raise
        conversation = client.conversation(conversation_id)
    if conversation is None:
        client.close()
        raise ConfigError(f"conversation {conversation_id} is not in identity {stored.id}'s database")
    return client, conversation


async def tell_gateway(loaded: LoadedConfig, action: str, **params: Any) -> Params | None:
    """A gateway-only request (``add_identity``); None when no gateway runs."""
    if running_gateway(loaded.paths) is None:
        return None
    return await ControlClient(control_dir(loaded.paths)).call(action, **params)


# -- the client side ---------------------------------------------------------------------------


def _exit_code_for(error: BaseException) -> int:
    if isinstance(error, ConfigError):
        return EXIT_CONFIG
    if isinstance(error, InviteError):
        return EXIT_INVITE
    if isinstance(error, TransportError):
        return EXIT_NETWORK
    return EXIT_ERROR


class ControlClient:
    def __init__(self, folder: Path, *, timeout: float = 30.0) -> None:
        self.folder = folder
        self.timeout = timeout

    async def call(self, action: str, **params: Any) -> Params:
        request_id = secrets.token_hex(8)
        request = self.folder / f"{request_id}.request.json"
        result = self.folder / f"{request_id}.result.json"
        body = json.dumps({"id": request_id, "action": action, "params": params}).encode()
        await asyncio.to_thread(ensure_private_dir, self.folder)
        await asyncio.to_thread(write_private_file, request, body)
        deadline = time.monotonic() + self.timeout
        while not result.exists():
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    request.unlink()
                raise GatewayBusy(
                    f"the running gateway did not answer within {self.timeout:g}s; check its log, "
                    "or stop it and try again"
                )
            await asyncio.sleep(_POLL)
        try:
            answer = json.loads(await asyncio.to_thread(result.read_text, encoding="utf-8"))
        finally:
            with contextlib.suppress(OSError):
                result.unlink()
        if not answer.get("ok"):
            raise CliError(
                f"the running gateway could not do it: {answer.get('error')}",
                exit_code=int(answer.get("code", EXIT_ERROR)),
            )
        value: Params = answer.get("result") or {}
        return value


# -- the server side (inside ``run``) ----------------------------------------------------------


class ControlServer:
    """Answers control requests with the running :class:`Gateway`."""

    def __init__(self, folder: Path, gateway: Gateway, loaded: LoadedConfig) -> None:
        self.folder = folder
        self.gateway = gateway
        self.loaded = loaded
        self.handled = 0

    def _pending(self) -> list[Path]:
        ensure_private_dir(self.folder)
        requests = list(self.folder.glob("*.request.json"))
        requests.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0.0)
        return requests

    async def serve(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                for path in await asyncio.to_thread(self._pending):
                    await self._answer(path)
            except OSError as exc:
                log.warning("control folder %s: %s", self.folder, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _SERVE_POLL)

    async def _answer(self, path: Path) -> None:
        try:
            raw = await asyncio.to_thread(path.read_text, encoding="utf-8")
            await asyncio.to_thread(path.unlink)
            request = json.loads(raw)
            request_id = str(request["id"])
            if not request_id.isalnum():
                raise ValueError("bad request id")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring control request %s: %s", path.name, exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return
        action = str(request.get("action"))
        params: Params = dict(request.get("params") or {})
        try:
            result = await self.handle(action, params)
            answer: Params = {"ok": True, "result": result}
        except ConvosError as exc:
            answer = {"ok": False, "error": str(exc), "code": _exit_code_for(exc)}
        except Exception as exc:  # a bug; the requester still gets an answer
            log.exception("control request %s (%s) failed", request_id, action)
            answer = {"ok": False, "error": f"unexpected {type(exc).__name__}: {exc}", "code": EXIT_ERROR}
        self.handled += 1
        await asyncio.to_thread(
            write_private_file, self.folder / f"{request_id}.result.json", json.dumps(answer).encode()
        )

    async def handle(self, action: str, params: Params) -> Params:
        log.info("control request: %s", action)
        if action == "add_identity":
            # a command made or joined a conversation for an identity: serve it now, and take
            # over the owners that command recorded (configure records the invite's creator)
            stored = self.gateway.identities.load(str(params["identityId"]))
            if stored.id not in self.gateway.hosts:
                await self.gateway.add_identity(stored)
            await self.gateway.ownership.load()
            takes_over = bool(params.get("owner")) or self.gateway.owner_conversation_id is None
            if stored.role == "owner" and stored.conversation_id and takes_over:
                self.gateway.owner_conversation_id = stored.conversation_id
            return {"serving": len(self.gateway.hosts)}
        if action == "ping":
            return {"at": datetime.now(UTC).isoformat()}
        if action not in CONVERSATION_ACTIONS:
            raise CliError(f"unknown control action {action!r}")
        conversation_id = str(params.pop("conversation"))
        host = self.gateway.host_for_conversation(conversation_id)
        conversation = host.client.conversation(conversation_id) if host is not None else None
        if host is None or conversation is None:
            raise ConfigError(f"the running gateway does not serve conversation {conversation_id}")
        from ..xmtp import XmtpClient, XmtpConversation

        if not isinstance(host.client, XmtpClient) or not isinstance(conversation, XmtpConversation):
            raise CliError("this gateway does not run on libxmtp clients; it cannot do that")
        return await CONVERSATION_ACTIONS[action](host.client, conversation, params)
