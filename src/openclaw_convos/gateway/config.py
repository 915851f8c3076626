"""``channels.convos`` of OpenClaw's config file, read and validated; and the one writer of it.

Reading follows OpenClaw (``src/config/io.ts``, ``includes.ts``, ``env-substitution.ts``):

- the file is JSON5 (comments, trailing commas); a missing file means all defaults;
- ``$include`` (a path or a list of paths, relative to the including file, confined to the main
  config's folder, at most 10 levels) is merged in first: objects merge deeply, arrays
  concatenate, sibling keys win over included ones;
- the environment used for ``${VAR}`` is the process environment, then (only for variables it
  lacks) ``./.env``, ``<stateDir>/.env`` and the config's ``env`` block (``env.vars`` and plain
  string entries of ``env``); ``env.shellEnv`` is not supported;
- ``${VAR}`` (uppercase names only) is substituted in every string we read; a missing or empty
  variable is an error naming the key; ``$${VAR}`` is a literal ``${VAR}``. Only
  ``channels.convos`` (and, for the ``openclaw`` agent preset, ``gateway.port``/``gateway.auth``)
  is substituted: keys of other tools never block our start.

Validation is strict: unknown keys and malformed values raise :class:`ConfigError` naming the key
(``channels.convos.dmPolicy must be one of pairing, allowlist, open, disabled``). Every key we
accept is acted on; keys of the upstream schema that this gateway does not act on
(``accounts``, ``markdown``, ``poolApiKey``, ``capabilities``, ``configWrites``, ``dms``,
``blockStreaming``, ``blockStreamingCoalesce``, ``actions``, ``heartbeat``) are refused with
the reason, so no setting is silently ignored.
``engineCommand`` is read only by OpenClaw's Convos plugin (accepted, not used here). Our additions:
``env: "local"``, ``apiUrl``, ``gatewayHost``, ``media`` (see :mod:`openclaw_convos.media.config`) and ``agent`` (see
:mod:`openclaw_convos.agents.config`). OpenClaw itself passes ``channels.*`` through unvalidated,
so these keys do not break an OpenClaw gateway reading the same file.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import re
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, cast, get_args
from urllib.parse import urlparse

import json5

from ..agents.config import (
    AGENT_KINDS,
    PRESET_API_KEY_ENV,
    PRESET_BASE_URLS,
    PRESETS,
    AgentConfig,
    AgentKind,
    Preset,
)
from ..errors import ConfigError
from ..fsutil import set_mode
from ..media.config import MediaConfig, parse_media_config
from .access import DM_POLICIES, DmPolicy
from .chunking import CHUNK_MODES, DEFAULT_TEXT_CHUNK_LIMIT, ChunkMode
from .groups import GROUP_POLICIES, GroupEntry, GroupPolicy, GroupRules
from .openclaw_host import check_convos_section_allowed
from .pairing import WILDCARD, normalize_allow_entry
from .paths import StatePaths, resolve_state_paths
from .reactions import REACTION_LEVELS, ReactionLevel

if TYPE_CHECKING:
    from ..xmtp.endpoints import Endpoint

__all__ = [
    "ENVS",
    "GROUP_POLICIES",
    "REACTION_LEVELS",
    "REMOVE",
    "ConvosConfig",
    "ConvosEnv",
    "LoadedConfig",
    "load_config",
    "parse_convos_config",
    "read_dotenv",
    "substitute_env",
    "update_convos_config",
]

log = logging.getLogger(__name__)

ConvosEnv = Literal["production", "dev", "local"]
ENVS: tuple[ConvosEnv, ...] = get_args(ConvosEnv)

_PREFIX = "channels.convos"
_MAX_INCLUDE_DEPTH = 10
_INCLUDE_KEY = "$include"
_DEFAULT_GATEWAY_PORT = 18789
_ENV_REF = re.compile(r"(\$?)\$\{([A-Z_][A-Z0-9_]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_ETH_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
_AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")
_CORE_ONLY = "is an OpenClaw core setting that the Convos channel does not act on"
#: Upstream keys this gateway does not act on: refused, each with why (never silently ignored).
_REFUSED_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "accounts": "is not supported: one gateway serves the one channels.convos account; move "
        "the account's settings up into channels.convos and remove it",
        "markdown": "is not supported: replies are sent as the agent wrote them; remove it",
        "poolApiKey": "is not supported: this gateway serves no HTTP routes; remove it",
        "capabilities": _CORE_ONLY + "; remove it",
        "configWrites": _CORE_ONLY + "; remove it",
        "dms": _CORE_ONLY + " (dmPolicy and allowFrom govern DMs); remove it",
        "blockStreaming": _CORE_ONLY + "; remove it",
        "blockStreamingCoalesce": _CORE_ONLY + "; remove it",
        "actions": _CORE_ONLY + " (reactionLevel decides about reactions); remove it",
        "heartbeat": _CORE_ONLY + "; remove it",
    }
)
#: Keys read only by OpenClaw's Convos plugin (``extensions/convos``), never by this gateway:
#: accepted so that both work on one config file. ``engineCommand`` is how the plugin runs us.
PLUGIN_KEYS = frozenset({"engineCommand"})
_SECRET_FIELDS = frozenset({"private_key"})


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


#: Pass as a value to :func:`update_convos_config` to delete that key.
REMOVE: Final = _Remove()


DEFAULT_INBOUND_TEXT_LIMIT = 8000
"""``inboundTextLimit``: longest inbound text handed on (characters); the rest is cut, and said so."""


@dataclass(frozen=True, slots=True, repr=False)
class ConvosConfig:
    """The validated ``channels.convos`` section; defaults as upstream documents them."""

    enabled: bool = True
    private_key: str | None = None
    """Legacy inline wallet key, normalised to ``0x`` + 64 lowercase hex. A secret."""
    env: ConvosEnv = "production"
    owner_conversation_id: str | None = None
    dm_policy: DmPolicy = "pairing"
    debug: bool = False
    allow_from: tuple[str, ...] = ()
    """Lowercase inbox ids, or ``"*"``."""
    api_url: str | None = None
    """A custom or local XMTP node URL; overrides ``env``'s URL."""
    gateway_host: str | None = None
    """A d14n gateway host (libxmtp then ignores the node URL)."""
    text_chunk_limit: int = DEFAULT_TEXT_CHUNK_LIMIT
    inbound_text_limit: int = DEFAULT_INBOUND_TEXT_LIMIT
    """Longest inbound text handed to the agent (characters); the rest is cut, and said so."""
    chunk_mode: ChunkMode = "length"
    agent: AgentConfig = field(default_factory=AgentConfig)
    name: str | None = None
    identity_id: str | None = None
    group_policy: GroupPolicy = "open"
    groups: Mapping[str, GroupEntry] = field(default_factory=lambda: MappingProxyType({}))
    """``groups`` keys (lowercase conversation ids or ``"*"``) and their settings."""
    group_allow_from: tuple[str, ...] | None = None
    history_limit: int | None = None
    dm_history_limit: int | None = None
    reaction_level: ReactionLevel = "minimal"
    read_receipts: bool = True
    """Our addition: send a read receipt for each message the agent answered."""
    system_prompt: str | None = None
    media: MediaConfig = field(default_factory=MediaConfig)
    """Attachments: limits, upload provider, transcription (:mod:`openclaw_convos.media.config`)."""

    @property
    def group_rules(self) -> GroupRules:
        """``groupPolicy``, ``groups`` and ``groupAllowFrom`` for :func:`.groups.decide_group`."""
        return GroupRules(self.group_policy, self.groups, self.group_allow_from)

    def endpoint(self) -> Endpoint:
        """The XMTP node to talk to: ``apiUrl`` if set, else ``env``'s URL."""
        # imported here: importing the xmtp package loads the native binding, which reading
        # the config (e.g. for ``pairing list``) should not need
        from ..xmtp.endpoints import resolve_endpoint

        return resolve_endpoint(self.env, self.api_url, self.gateway_host)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value is not None:
                parts.append(f"{f.name}='<redacted>'")
            elif isinstance(value, MappingProxyType):
                parts.append(f"{f.name}={dict(value)!r}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"ConvosConfig({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """What :func:`load_config` found. ``environ`` is where secrets (API keys) are looked up."""

    convos: ConvosConfig
    paths: StatePaths
    exists: bool
    environ: Mapping[str, str] = field(repr=False)


# -- value parsers: (value, key path) -> parsed value, or ConfigError naming the key ----------


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false (got {_type_name(value)})")
    return value


def _str(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string (got {_type_name(value)})")
    return value.strip()


def _optional_str(value: object, key: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _str(value, key)


def _choice(choices: tuple[str, ...]) -> Callable[[object, str], str]:
    def parse(value: object, key: str) -> str:
        if not isinstance(value, str) or value.strip() not in choices:
            got = repr(value) if isinstance(value, str) else _type_name(value)
            raise ConfigError(f"{key} must be one of {', '.join(choices)} (got {got})")
        return value.strip()

    return parse


def _int(minimum: int, maximum: int | None = None) -> Callable[[object, str], int]:
    def parse(value: object, key: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key} must be an integer (got {_type_name(value)})")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise ConfigError(f"{key} must be {bound} (got {value})")
        return value

    return parse


def _optional_int(minimum: int) -> Callable[[object, str], int | None]:
    parse = _int(minimum)
    return lambda value, key: None if value is None else parse(value, key)


def _number(value: object, key: str, *, minimum: float, maximum: float, exclusive_min: bool = False) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{key} must be a number (got {_type_name(value)})")
    number = float(value)
    if number != number or number > maximum or number < minimum or (exclusive_min and number == minimum):
        low = f"greater than {minimum:g}" if exclusive_min else f"at least {minimum:g}"
        raise ConfigError(f"{key} must be {low} and at most {maximum:g} (got {value})")
    return number


def _private_key(value: object, key: str) -> str | None:
    if value is None or value == "":
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or not _HEX64.match(text.removeprefix("0x")):
        # never echo the value: it is a secret
        raise ConfigError(f"{key} must be 64 hex characters, optionally prefixed with 0x")
    return "0x" + text.removeprefix("0x")


def _conversation_id(value: object, key: str) -> str | None:
    if value is None or value == "":
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or not _HEX32.match(text):
        got = repr(value) if isinstance(value, str) else _type_name(value)
        raise ConfigError(f"{key} must be a conversation ID (32 hex characters) (got {got})")
    return text


def _allow_list(value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be an array of inbox IDs (got {_type_name(value)})")
    out: list[str] = []
    for index, raw in enumerate(value):
        item_key = f"{key}[{index}]"
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise ConfigError(f"{item_key} must be a string (got {_type_name(raw)})")
        entry = normalize_allow_entry(raw)
        if entry != WILDCARD and not _HEX64.match(entry):
            if _ETH_ADDRESS.match(entry):
                raise ConfigError(
                    f"{item_key} is an Ethereum address; use the sender's XMTP inbox ID "
                    "(64 hex characters) instead"
                )
            raise ConfigError(f'{item_key} must be an XMTP inbox ID (64 hex characters) or "*" (got {raw!r})')
        if entry not in out:
            out.append(entry)
    return tuple(out)


def _optional_allow_list(value: object, key: str) -> tuple[str, ...] | None:
    return None if value is None else _allow_list(value, key)


def _url(value: object, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a URL string (got {_type_name(value)})")
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{key} must be an http:// or https:// URL (got {value!r})")
    return value.strip().rstrip("/")


def _group_id(value: str, key: str) -> str:
    text = value.strip().lower()
    if text != WILDCARD and not _HEX32.match(text):
        raise ConfigError(f'{key} must be a conversation ID (32 hex characters) or "*" (got {value!r})')
    return text


_GROUP_KEYS = ("requireMention", "allowFrom")


def _groups(value: object, key: str) -> Mapping[str, GroupEntry]:
    """The array form (ids, ``"*"``) or OpenClaw's map form ``{"<id>"|"*": {requireMention, allowFrom}}``."""
    if value is None:
        return MappingProxyType({})
    if isinstance(value, list):
        entries: dict[str, GroupEntry] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(f"{key}[{index}] must be a string (got {_type_name(item)})")
            entries.setdefault(_group_id(item, f"{key}[{index}]"), GroupEntry())
        return MappingProxyType(entries)
    if isinstance(value, dict):
        out: dict[str, GroupEntry] = {}
        for raw_id, settings in value.items():
            group_key = f"{key}.{raw_id}"
            group = _group_id(str(raw_id), group_key)
            if settings is None:
                settings = {}
            if not isinstance(settings, dict):
                raise ConfigError(f"{group_key} must be an object (got {_type_name(settings)})")
            unknown = sorted(set(settings) - set(_GROUP_KEYS))
            if unknown:
                raise ConfigError(
                    f"{group_key}.{unknown[0]} is not a known key (known: {', '.join(_GROUP_KEYS)})"
                )
            mention = settings.get("requireMention")
            out[group] = GroupEntry(
                require_mention=None if mention is None else _bool(mention, f"{group_key}.requireMention"),
                allow_from=_optional_allow_list(settings.get("allowFrom"), f"{group_key}.allowFrom"),
            )
        return MappingProxyType(out)
    raise ConfigError(f"{key} must be an array of conversation IDs or an object (got {_type_name(value)})")


# key -> (ConvosConfig field, parser); "groups" and "agent" are handled on their own
_FIELDS: dict[str, tuple[str, Callable[[object, str], Any]]] = {
    "enabled": ("enabled", _bool),
    "privateKey": ("private_key", _private_key),
    "env": ("env", _choice(ENVS)),
    "ownerConversationId": ("owner_conversation_id", _conversation_id),
    "dmPolicy": ("dm_policy", _choice(DM_POLICIES)),
    "debug": ("debug", _bool),
    "allowFrom": ("allow_from", _allow_list),
    "apiUrl": ("api_url", _url),
    "gatewayHost": ("gateway_host", _url),
    "textChunkLimit": ("text_chunk_limit", _int(100)),
    "inboundTextLimit": ("inbound_text_limit", _int(100, 1_000_000)),
    "chunkMode": ("chunk_mode", _choice(CHUNK_MODES)),
    "name": ("name", _optional_str),
    "identityId": ("identity_id", _optional_str),
    "groupPolicy": ("group_policy", _choice(GROUP_POLICIES)),
    "groupAllowFrom": ("group_allow_from", _optional_allow_list),
    "historyLimit": ("history_limit", _optional_int(0)),
    "dmHistoryLimit": ("dm_history_limit", _optional_int(0)),
    "reactionLevel": ("reaction_level", _choice(REACTION_LEVELS)),
    "readReceipts": ("read_receipts", _bool),
    "systemPrompt": ("system_prompt", _optional_str),
    "media": ("media", parse_media_config),
}
_KNOWN_KEYS = frozenset({*_FIELDS, "groups", "agent"})

_AGENT_KEYS = frozenset(
    {
        "kind",
        "preset",
        "baseUrl",
        "model",
        "apiKeyEnv",
        "systemPrompt",
        "agentId",
        "sendHistory",
        "temperature",
        "maxTokens",
        "command",
        "timeoutSeconds",
    }
)
_OPENAI_ONLY_KEYS = (
    "preset",
    "baseUrl",
    "model",
    "apiKeyEnv",
    "agentId",
    "sendHistory",
    "temperature",
    "maxTokens",
)


def _unknown_key_error(key: str, name: str, known: frozenset[str]) -> ConfigError:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else f" (known keys: {', '.join(sorted(known))})"
    return ConfigError(f"{key}.{name} is not a known key{hint}")


def _parse_agent(
    value: object,
    key: str,
    *,
    system_prompt: str | None,
    gateway: object = None,
    environ: Mapping[str, str] | None = None,
) -> AgentConfig:
    if value is None:
        return AgentConfig(system_prompt=system_prompt)
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object (got {_type_name(value)})")
    for name in value:
        if name not in _AGENT_KEYS:
            raise _unknown_key_error(key, str(name), _AGENT_KEYS)

    if "kind" in value:
        kind = cast(AgentKind, _choice(AGENT_KINDS)(value["kind"], f"{key}.kind"))
    elif "command" in value:
        kind = "command"
    elif any(name in value for name in _OPENAI_ONLY_KEYS):
        kind = "openai"
    else:
        kind = "echo"
    if kind != "command" and "command" in value:
        raise ConfigError(f'{key}.command is only used when {key}.kind is "command"')
    if kind != "openai":
        for name in _OPENAI_ONLY_KEYS:
            if name in value:
                raise ConfigError(f'{key}.{name} is only used when {key}.kind is "openai"')

    timeout = 60.0
    if value.get("timeoutSeconds") is not None:
        timeout = _number(
            value["timeoutSeconds"], f"{key}.timeoutSeconds", minimum=0, maximum=3600, exclusive_min=True
        )
    prompt = _optional_str(value.get("systemPrompt"), f"{key}.systemPrompt") or system_prompt

    if kind == "echo":
        return AgentConfig(kind="echo", system_prompt=prompt, timeout_seconds=timeout)
    if kind == "command":
        return AgentConfig(
            kind="command",
            command=_command(value["command"], f"{key}.command"),
            system_prompt=prompt,
            timeout_seconds=timeout,
        )

    preset = (
        cast(Preset, _choice(PRESETS)(value["preset"], f"{key}.preset"))
        if value.get("preset") is not None
        else None
    )
    base_url = _url(value.get("baseUrl"), f"{key}.baseUrl")
    if preset is None and base_url is None:
        preset = "openai"
    if base_url is None:
        assert preset is not None
        base_url = _openclaw_base_url(gateway, environ) if preset == "openclaw" else PRESET_BASE_URLS[preset]

    agent_id = "main"
    if value.get("agentId") is not None:
        agent_id = _str(value["agentId"], f"{key}.agentId").lower()
        if not _AGENT_ID.match(agent_id):
            raise ConfigError(
                f"{key}.agentId must be an OpenClaw agent id (letters, digits, _ and -, up to 64) "
                f"(got {value['agentId']!r})"
            )
        if preset != "openclaw":
            raise ConfigError(f'{key}.agentId is only used with {key}.preset "openclaw"')

    model = _optional_str(value.get("model"), f"{key}.model")
    if model is None:
        if preset != "openclaw":
            example = "llama3.2" if preset == "ollama" else "gpt-4o-mini"
            raise ConfigError(f"{key}.model is required for this backend (for example {example!r})")
        model = f"openclaw:{agent_id}"

    api_key_env: str | None
    if value.get("apiKeyEnv") is not None:
        raw_env = value["apiKeyEnv"]
        if not isinstance(raw_env, str) or not _ENV_NAME.match(raw_env.strip()):
            # never echo it: people paste the key itself here
            raise ConfigError(
                f"{key}.apiKeyEnv must be the name of an environment variable (like OPENAI_API_KEY), "
                "not the key itself"
            )
        api_key_env = raw_env.strip()
        required = True
    else:
        api_key_env = PRESET_API_KEY_ENV[preset] if preset else None
        required = preset == "openai"

    send_history = preset != "openclaw"
    if value.get("sendHistory") is not None:
        send_history = _bool(value["sendHistory"], f"{key}.sendHistory")
    temperature = (
        _number(value["temperature"], f"{key}.temperature", minimum=0, maximum=2)
        if value.get("temperature") is not None
        else None
    )
    max_tokens = _optional_int(1)(value.get("maxTokens"), f"{key}.maxTokens")

    return AgentConfig(
        kind="openai",
        preset=preset,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        api_key_required=required,
        fallback_api_key=_openclaw_gateway_secret(gateway, environ) if preset == "openclaw" else None,
        system_prompt=prompt,
        agent_id=agent_id,
        send_history=send_history,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout_seconds=timeout,
    )


def _command(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"{key} cannot be split into arguments: {exc}") from exc
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        argv = list(value)
    else:
        raise ConfigError(f"{key} must be a string or an array of strings (got {_type_name(value)})")
    if not argv or not argv[0].strip():
        raise ConfigError(f"{key} must name a program to run")
    return tuple(argv)


def _gateway_value(gateway: object, environ: Mapping[str, str] | None, *names: str) -> object:
    node = gateway
    for name in names:
        if not isinstance(node, dict):
            return None
        node = node.get(name)
    try:
        return substitute_env(node, environ or {}, "gateway." + ".".join(names))
    except ConfigError as exc:
        log.debug("ignoring gateway.%s: %s", ".".join(names), exc)
        return None


def _openclaw_base_url(gateway: object, environ: Mapping[str, str] | None) -> str:
    port = _gateway_value(gateway, environ, "port")
    if (
        isinstance(port, int)
        and not isinstance(port, bool)
        and 0 < port < 65536
        and port != _DEFAULT_GATEWAY_PORT
    ):
        return f"http://127.0.0.1:{port}/v1"
    return PRESET_BASE_URLS["openclaw"]


def _openclaw_gateway_secret(gateway: object, environ: Mapping[str, str] | None) -> str | None:
    mode = _gateway_value(gateway, environ, "auth", "mode")
    names = ("password",) if mode == "password" else ("token",) if mode == "token" else ("token", "password")
    for name in names:
        secret = _gateway_value(gateway, environ, "auth", name)
        if isinstance(secret, str) and secret.strip():
            return secret.strip()
    return None


# -- environment ---------------------------------------------------------------------------


def substitute_env(value: object, environ: Mapping[str, str], key: str) -> Any:
    """``value`` with ``${VAR}`` replaced in every string (recursively); ``$${VAR}`` -> ``${VAR}``."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            resolved = environ.get(name, "")
            if not resolved:
                raise ConfigError(
                    f"{key} uses ${{{name}}}, but the environment variable {name} is not set or empty"
                )
            return resolved

        return _ENV_REF.sub(replace, value)
    if isinstance(value, list):
        return [substitute_env(item, environ, f"{key}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {name: substitute_env(item, environ, f"{key}.{name}") for name, item in value.items()}
    return value


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``export``, quotes and ``#`` comments understood)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return {}
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc.strerror or exc)
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if match is None:
            continue
        name, raw = match.group(1), match.group(2)
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            inner = raw[1:-1]
            raw = inner.replace("\\n", "\n").replace('\\"', '"') if raw[0] == '"' else inner
        else:
            raw = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        values[name] = raw
    return values


def _effective_environ(
    raw: Mapping[str, Any], environ: Mapping[str, str], state_dir: Path, cwd: Path | None
) -> dict[str, str]:
    effective = dict(environ)
    for dotenv in (((cwd or Path.cwd()) / ".env"), state_dir / ".env"):
        for name, value in read_dotenv(dotenv).items():
            effective.setdefault(name, value)
    block = raw.get("env")
    if isinstance(block, dict):
        inline = {k: v for k, v in block.items() if k not in ("vars", "shellEnv") and isinstance(v, str)}
        if isinstance(block.get("vars"), dict):
            inline.update({k: v for k, v in block["vars"].items() if isinstance(v, str)})
        for name, value in inline.items():
            if _ENV_NAME.match(name):
                effective.setdefault(name, value)
    return effective


# -- includes ------------------------------------------------------------------------------


def _deep_merge(target: Any, source: Any) -> Any:
    if isinstance(target, list) and isinstance(source, list):
        return [*target, *source]
    if isinstance(target, dict) and isinstance(source, dict):
        merged = dict(target)
        for name, value in source.items():
            merged[name] = _deep_merge(merged[name], value) if name in merged else value
        return merged
    return source


def _is_inside(root: Path, path: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


class _Includes:
    def __init__(self, config_path: Path) -> None:
        self.root = Path(os.path.abspath(config_path.parent))
        self.root_real = Path(os.path.realpath(self.root))

    def process(self, value: Any, base: Path, chain: tuple[Path, ...]) -> Any:
        if isinstance(value, list):
            return [self.process(item, base, chain) for item in value]
        if not isinstance(value, dict):
            return value
        if _INCLUDE_KEY not in value:
            return {name: self.process(item, base, chain) for name, item in value.items()}
        included = self._resolve(value[_INCLUDE_KEY], base, chain)
        rest = {name: self.process(item, base, chain) for name, item in value.items() if name != _INCLUDE_KEY}
        if not rest:
            return included
        if not isinstance(included, dict):
            raise ConfigError(f"{base}: {_INCLUDE_KEY} with sibling keys must include an object")
        return _deep_merge(included, rest)

    def _resolve(self, spec: object, base: Path, chain: tuple[Path, ...]) -> Any:
        if isinstance(spec, str):
            return self._load(spec, base, chain)
        if isinstance(spec, list):
            merged: Any = {}
            for item in spec:
                if not isinstance(item, str):
                    raise ConfigError(
                        f"{base}: {_INCLUDE_KEY} entries must be strings (got {_type_name(item)})"
                    )
                merged = _deep_merge(merged, self._load(item, base, chain))
            return merged
        raise ConfigError(
            f"{base}: {_INCLUDE_KEY} must be a path or an array of paths (got {_type_name(spec)})"
        )

    def _load(self, spec: str, base: Path, chain: tuple[Path, ...]) -> Any:
        target = Path(os.path.normpath(base.parent / Path(spec).expanduser()))
        if not _is_inside(self.root, target) or (
            target.exists() and not _is_inside(self.root_real, Path(os.path.realpath(target)))
        ):
            raise ConfigError(f"{base}: {_INCLUDE_KEY} {spec!r} points outside the config folder {self.root}")
        if target in chain:
            raise ConfigError(f"circular {_INCLUDE_KEY}: {' -> '.join(str(p) for p in (*chain, target))}")
        if len(chain) > _MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{base}: {_INCLUDE_KEY} nested more than {_MAX_INCLUDE_DEPTH} levels")
        try:
            parsed = _parse_json5(target.read_text(encoding="utf-8"), target)
        except OSError as exc:
            raise ConfigError(f"{base}: cannot read {_INCLUDE_KEY} {spec!r}: {exc.strerror or exc}") from exc
        return self.process(parsed, target, (*chain, target))


def _parse_json5(text: str, path: Path) -> Any:
    try:
        return json5.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON5: {exc}") from exc


# -- reading -------------------------------------------------------------------------------


def parse_convos_config(
    section: object,
    *,
    environ: Mapping[str, str] | None = None,
    gateway: object = None,
) -> ConvosConfig:
    """Validate a raw ``channels.convos`` value (``${VAR}`` substituted from ``environ``).

    ``gateway`` is the config's raw top-level ``gateway`` object, used only for the defaults of
    the ``openclaw`` agent preset.
    """
    env = os.environ if environ is None else environ
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError(f"{_PREFIX} must be an object (got {_type_name(section)})")
    for name in section:
        if name in _REFUSED_KEYS:
            raise ConfigError(f"{_PREFIX}.{name} {_REFUSED_KEYS[name]}")
        if name not in _KNOWN_KEYS and name not in PLUGIN_KEYS:
            raise _unknown_key_error(_PREFIX, str(name), _KNOWN_KEYS)
    values: dict[str, Any] = {}
    for name, raw in section.items():
        if name == "agent" or name in PLUGIN_KEYS:
            continue
        key = f"{_PREFIX}.{name}"
        value = substitute_env(raw, env, key)
        if name == "groups":
            values["groups"] = _groups(value, key)
            continue
        attr, parse = _FIELDS[name]
        values[attr] = parse(value, key)  # parsers of optional keys map null to the default
    values["agent"] = _parse_agent(
        substitute_env(section.get("agent"), env, f"{_PREFIX}.agent"),
        f"{_PREFIX}.agent",
        system_prompt=values.get("system_prompt"),
        gateway=gateway,
        environ=env,
    )
    config = ConvosConfig(**values)
    if config.dm_policy == "open" and WILDCARD not in config.allow_from:
        log.warning(
            '%s.dmPolicy is "open" but allowFrom lacks "*"; OpenClaw requires "*" as an explicit opt-in',
            _PREFIX,
        )
    return config


def load_config(
    config_path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Find, read and validate the config (see the module docstring). A missing file is not an
    error: ``exists`` is then False and every value is its default."""
    env = os.environ if environ is None else environ
    paths = resolve_state_paths(env, home=home, config_path=config_path)
    path = paths.config_path
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    raw: Any = {} if text is None else _parse_json5(text, path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a JSON object (got {_type_name(raw)})")
    raw = _Includes(path).process(raw, Path(os.path.abspath(path)), (Path(os.path.abspath(path)),))
    effective = _effective_environ(raw, env, paths.state_dir, cwd)
    channels = raw.get("channels")
    if channels is not None and not isinstance(channels, dict):
        raise ConfigError(f"channels must be an object (got {_type_name(channels)})")
    section = (channels or {}).get("convos")
    convos = parse_convos_config(section, environ=effective, gateway=raw.get("gateway"))
    log.debug("loaded %s (exists=%s): %r", path, text is not None, convos)
    return LoadedConfig(convos=convos, paths=paths, exists=text is not None, environ=effective)


# -- writing -------------------------------------------------------------------------------


def _validate_change(name: str, value: object) -> None:
    key = f"{_PREFIX}.{name}"
    if name in _REFUSED_KEYS:
        raise ConfigError(f"{key} {_REFUSED_KEYS[name]}")
    if name not in _KNOWN_KEYS:
        raise _unknown_key_error(_PREFIX, name, _KNOWN_KEYS)
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: value cannot be written as JSON ({exc})") from exc
    if isinstance(value, str) and _ENV_REF.search(value):
        return  # a ${VAR} reference; checked when the config is loaded
    if name == "groups":
        _groups(value, key)
    elif name == "agent":
        _parse_agent(value, key, system_prompt=None)
    else:
        _FIELDS[name][1](value, key)


def update_convos_config(path: Path, changes: Mapping[str, object], *, state_dir: Path | None = None) -> None:
    """Set (or, with :data:`REMOVE`, delete) keys of ``channels.convos`` in the file at ``path``.

    Every other key of the file is kept with its value, including ``$include`` directives and
    ``${VAR}`` references, which are written back literally. The file is rewritten as JSON
    (2-space indent), which JSON5 readers accept: JSON5 comments and formatting do not survive,
    so the previous text is first saved next to it as ``<file>.bak``. The write is atomic (temp
    file + ``os.replace``) and keeps the file's mode; a new file is created 0600, in a 0700
    folder if that folder is new. A symlinked config is written through the link.

    Writing ``channels.convos`` is refused (:class:`ConfigError` saying how to install
    OpenClaw's Convos plugin) when OpenClaw uses ``state_dir`` (default: the file's folder)
    without that plugin: OpenClaw would then reject its whole config.

    If ``channels.convos`` comes from an ``$include``, the keys written here override the
    included ones (OpenClaw merges sibling keys over included content). Only the keys in
    ``changes`` are validated. This is a small synchronous file operation;
    from the event loop call it with ``asyncio.to_thread``.
    """
    for name, value in changes.items():
        if value is not REMOVE:
            _validate_change(name, value)
    target = Path(os.path.realpath(Path(path).expanduser()))
    try:
        text: str | None = target.read_text(encoding="utf-8")
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        text, mode = None, None
    except OSError as exc:
        raise ConfigError(f"cannot read {target}: {exc.strerror or exc}") from exc
    data: Any = {} if text is None else _parse_json5(text, target)
    if not isinstance(data, dict):
        raise ConfigError(f"{target} must hold a JSON object (got {_type_name(data)})")
    check_convos_section_allowed(state_dir or target.parent, data)  # OpenClaw must accept it
    channels = data.setdefault("channels", {})
    if not isinstance(channels, dict):
        raise ConfigError(f"channels in {target} must be an object (got {_type_name(channels)})")
    convos = channels.setdefault("convos", {})
    if not isinstance(convos, dict):
        raise ConfigError(f"{_PREFIX} in {target} must be an object (got {_type_name(convos)})")
    for name, value in changes.items():
        if value is REMOVE:
            convos.pop(name, None)
        else:
            convos[name] = value
    new_text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if text is not None:
        if text == new_text:
            return
        _atomic_write(target.with_name(target.name + ".bak"), text, mode=mode or 0o600)
    else:
        if not target.parent.exists():
            target.parent.mkdir(parents=True, mode=0o700)
            target.parent.chmod(0o700)
    _atomic_write(target, new_text, mode=0o600 if mode is None else mode)
    log.info("updated %s: %s", target, ", ".join(f"{_PREFIX}.{name}" for name in changes))


def _atomic_write(path: Path, text: str, *, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            set_mode(fd, tmp, mode)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                fd = -1
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            if fd >= 0:
                os.close(fd)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
