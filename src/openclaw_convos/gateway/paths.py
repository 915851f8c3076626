"""Where OpenClaw keeps its state, resolved as OpenClaw does, plus the places we add under it.

Resolution (OpenClaw ``src/config/paths.ts``):

- state dir: ``$OPENCLAW_STATE_DIR``, else ``$CLAWDBOT_STATE_DIR``; otherwise ``~/.openclaw`` if it
  exists, else the first existing legacy dir (``~/.clawdbot``, ``~/.moltbot``, ``~/.moldbot``),
  else ``~/.openclaw``;
- config file: ``$OPENCLAW_CONFIG_PATH``, else ``$CLAWDBOT_CONFIG_PATH``; otherwise the first
  existing of ``<state>/openclaw.json`` and the legacy names, else ``<state>/openclaw.json``;
- credentials dir: ``$OPENCLAW_OAUTH_DIR``, else ``<state>/credentials``.

Layout under the state dir (ours marked *)::

    openclaw.json                       config (JSON5)
    .env                                optional environment fallback
    credentials/                        0700; secrets and pairing stores, 0600 files
      convos-pairing.json               pending pairing requests (OpenClaw's shape)
      convos-allowFrom.json             approved senders (OpenClaw's shape)
      convos-identity.json              newest upstream plugin: {identityId, ownerConversationId}
      convos-identities/<env>/        * our XMTP identity records (keys), one folder per network
    convos/                           * our data
      gateway.sqlite3                 * the gateway's own store
      xmtp/<env>/                     * libxmtp databases
      xmtp/<env>/<account>/<key8>/xmtp.db  SDK-era upstream database (read for migration only)

Nothing here touches the disk except the existence checks of the legacy fallbacks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHANNEL_ID",
    "StatePaths",
    "channel_file_key",
    "resolve_config_path",
    "resolve_credentials_dir",
    "resolve_state_dir",
    "resolve_state_paths",
]

#: The channel id of Convos in OpenClaw (store file names, CLI arguments).
CHANNEL_ID = "convos"

_STATE_DIR_NAME = ".openclaw"
_LEGACY_STATE_DIR_NAMES = (".clawdbot", ".moltbot", ".moldbot")
_CONFIG_FILE_NAME = "openclaw.json"
_LEGACY_CONFIG_FILE_NAMES = ("clawdbot.json", "moltbot.json", "moldbot.json")
_UNSAFE_KEY_CHARS = re.compile(r'[\\/:*?"<>|]')


def _env_path(environ: Mapping[str, str], *names: str) -> Path | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return Path(value).expanduser()
    return None


def _home(home: Path | None) -> Path:
    return home if home is not None else Path.home()


def resolve_state_dir(environ: Mapping[str, str] | None = None, *, home: Path | None = None) -> Path:
    """The OpenClaw state dir (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    explicit = _env_path(env, "OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR")
    if explicit is not None:
        return explicit
    base = _home(home)
    default = base / _STATE_DIR_NAME
    if default.exists():
        return default
    for name in _LEGACY_STATE_DIR_NAMES:
        if (base / name).exists():
            return base / name
    return default


def resolve_config_path(environ: Mapping[str, str] | None = None, *, state_dir: Path) -> Path:
    """The config file: the env override, else the first existing known name in ``state_dir``."""
    env = os.environ if environ is None else environ
    explicit = _env_path(env, "OPENCLAW_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH")
    if explicit is not None:
        return explicit
    for name in (_CONFIG_FILE_NAME, *_LEGACY_CONFIG_FILE_NAMES):
        if (state_dir / name).exists():
            return state_dir / name
    return state_dir / _CONFIG_FILE_NAME


def resolve_credentials_dir(environ: Mapping[str, str] | None = None, *, state_dir: Path) -> Path:
    """``$OPENCLAW_OAUTH_DIR``, else ``<state_dir>/credentials``."""
    env = os.environ if environ is None else environ
    explicit = _env_path(env, "OPENCLAW_OAUTH_DIR")
    return explicit if explicit is not None else state_dir / "credentials"


def channel_file_key(channel: str) -> str:
    """OpenClaw's file-name key for a channel: lower-cased, ``\\ / : * ? " < > |`` and ``..`` -> ``_``."""
    key = _UNSAFE_KEY_CHARS.sub("_", channel.strip().lower())
    return key.replace("..", "_")


@dataclass(frozen=True, slots=True)
class StatePaths:
    """Every path the gateway uses, derived from the state dir, config path and credentials dir."""

    state_dir: Path
    config_path: Path
    credentials_dir: Path

    @property
    def env_file(self) -> Path:
        """``<state>/.env``: variables used only when the process environment lacks them."""
        return self.state_dir / ".env"

    def pairing_path(self, channel: str = CHANNEL_ID) -> Path:
        """OpenClaw's pending pairing requests file for ``channel``."""
        return self.credentials_dir / f"{channel_file_key(channel)}-pairing.json"

    def allow_from_path(self, channel: str = CHANNEL_ID) -> Path:
        """OpenClaw's approved-senders file for ``channel``."""
        return self.credentials_dir / f"{channel_file_key(channel)}-allowFrom.json"

    @property
    def upstream_identity_path(self) -> Path:
        """The newest upstream plugin's ``{identityId, ownerConversationId}`` file."""
        return self.credentials_dir / "convos-identity.json"

    @property
    def identities_root(self) -> Path:
        """Parent of the per-network identity folders (secrets: 0700)."""
        return self.credentials_dir / "convos-identities"

    def identities_dir(self, env: str) -> Path:
        """Our identity records (wallet key + database key) for one XMTP network."""
        return self.identities_root / env

    @property
    def data_dir(self) -> Path:
        """Our own non-secret data under the state dir."""
        return self.state_dir / "convos"

    @property
    def media_dir(self) -> Path:
        """Private per-turn folders for the command backend's attachments (0700, emptied after
        each turn): the only place attachments touch the disk."""
        return self.data_dir / "media"

    @property
    def store_path(self) -> Path:
        """The gateway's SQLite store."""
        return self.data_dir / "gateway.sqlite3"

    def xmtp_db_dir(self, env: str) -> Path:
        """Folder for our libxmtp databases on one XMTP network."""
        return self.data_dir / "xmtp" / env

    def legacy_sdk_db_path(self, env: str, private_key_hex: str, account_id: str = "default") -> Path:
        """The SDK-era upstream plugin's database (``resolveConvosDbPath``), for migration."""
        key = private_key_hex.lower().removeprefix("0x")
        return self.data_dir / "xmtp" / env / account_id / key[:8] / "xmtp.db"


def resolve_state_paths(
    environ: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    config_path: Path | None = None,
) -> StatePaths:
    """All paths, with the environment overrides applied; ``config_path`` wins over the env."""
    env = os.environ if environ is None else environ
    state_dir = resolve_state_dir(env, home=home)
    return StatePaths(
        state_dir=state_dir,
        config_path=config_path.expanduser()
        if config_path is not None
        else resolve_config_path(env, state_dir=state_dir),
        credentials_dir=resolve_credentials_dir(env, state_dir=state_dir),
    )
