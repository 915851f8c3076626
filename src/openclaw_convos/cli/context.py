"""What most commands share: the config with command-line overrides, the gateway lock, and
finding one of our conversations from what the user typed."""

from __future__ import annotations

import argparse
import contextlib
import shutil
from dataclasses import replace

from ..errors import ConfigError
from ..gateway.config import ENVS, LoadedConfig, load_config
from ..gateway.identities import IdentityStore, StoredIdentity
from .errors import NotConfigured, UsageError


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """``--env`` and ``--api-url``: override the config for this command."""
    parser.add_argument(
        "--env",
        choices=ENVS,
        default=None,
        help="XMTP network: production, dev, or local (a node on this machine); default from the config",
    )
    parser.add_argument(
        "--api-url",
        metavar="URL",
        default=None,
        help="a custom or local XMTP node URL, e.g. http://127.0.0.1:5556 (overrides the env's node)",
    )


def load(args: argparse.Namespace | None = None) -> LoadedConfig:
    """The config, validated, with ``--env``/``--api-url`` of ``args`` applied (not saved)."""
    loaded = load_config()
    env = getattr(args, "env", None) if args is not None else None
    api_url = getattr(args, "api_url", None) if args is not None else None
    if not env and not api_url:
        return loaded
    changes: dict[str, object] = {}
    if env:
        changes["env"] = env
    if api_url:
        from ..xmtp.endpoints import resolve_endpoint

        changes["api_url"] = resolve_endpoint(env or loaded.convos.env, api_url).url
    return replace(loaded, convos=replace(loaded.convos, **changes))  # type: ignore[arg-type]


def overrides_to_save(args: argparse.Namespace, loaded: LoadedConfig) -> dict[str, object]:
    """The overrides, as config keys, for commands that set up state depending on them."""
    changes: dict[str, object] = {}
    if getattr(args, "env", None):
        changes["env"] = loaded.convos.env
    if getattr(args, "api_url", None) and loaded.convos.api_url:
        changes["apiUrl"] = loaded.convos.api_url
    return changes


def identity_store(loaded: LoadedConfig) -> IdentityStore:
    from ..gateway.service import identity_store as store_for

    return store_for(loaded)


def identities(loaded: LoadedConfig) -> tuple[list[StoredIdentity], dict[str, str]]:
    """Every identity of the configured network (newest last), and the unreadable ones' errors."""
    stored, broken = identity_store(loaded).load_all()
    stored.sort(key=lambda s: s.created_at)
    return stored, {key: str(error) for key, error in broken.items()}


def discard_identity(loaded: LoadedConfig, stored: StoredIdentity) -> None:
    """Delete an identity that never joined a conversation (its key file and database)."""
    store = identity_store(loaded)
    with contextlib.suppress(FileNotFoundError):
        (store.folder / f"{stored.id}.json").unlink()
    shutil.rmtree(store.db_path(stored.id).parent, ignore_errors=True)


def owner_conversation_id(loaded: LoadedConfig, stored: list[StoredIdentity]) -> str | None:
    """The config's ``ownerConversationId``, else the newest joined identity with the owner role."""
    if loaded.convos.owner_conversation_id:
        return loaded.convos.owner_conversation_id
    owners = [s for s in stored if s.role == "owner" and s.conversation_id]
    return owners[-1].conversation_id if owners else None


def require_configured(loaded: LoadedConfig) -> list[StoredIdentity]:
    """The identities; raises NotConfigured when there are none (a config's ``privateKey`` is one:
    the gateway adopts it at start)."""
    stored, _broken = identities(loaded)
    if not stored and not loaded.convos.private_key:
        raise NotConfigured(
            f"Convos is not set up for env {loaded.convos.env!r} in {loaded.paths.state_dir}: run "
            "`openclaw-convos configure` with an invite from the Convos app, or "
            "`openclaw-convos invite create` to make a conversation to scan"
        )
    return stored


def find_conversation(loaded: LoadedConfig, text: str) -> StoredIdentity:
    """Our identity in the conversation the user named: a full id, a unique prefix, or ``owner``."""
    stored, _broken = identities(loaded)
    wanted = text.strip().lower()
    if wanted == "owner":
        owner = owner_conversation_id(loaded, stored)
        if owner is None:
            raise NotConfigured("there is no owner conversation yet (see `openclaw-convos status`)")
        wanted = owner
    joined = [s for s in stored if s.conversation_id]
    exact = [s for s in joined if s.conversation_id == wanted]
    if exact:
        return exact[0]
    if len(wanted) < 4:
        raise UsageError(f"{text!r} is too short: give a conversation id or at least its first 4 characters")
    matches = [s for s in joined if (s.conversation_id or "").startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(sorted(m.conversation_id or "" for m in matches))
        raise UsageError(f"{text!r} matches several conversations ({ids}); give more characters")
    raise ConfigError(f"no conversation of ours matches {text!r} (see `openclaw-convos conversations list`)")
