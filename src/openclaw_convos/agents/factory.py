"""``build_agent``: the backend that an :class:`~openclaw_convos.agents.config.AgentConfig` names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx

from ..errors import ConfigError
from .base import Agent
from .command import CommandAgent
from .config import AgentConfig
from .echo import EchoAgent
from .openai_compat import OpenAICompatibleAgent
from .retrying import DEFAULT_TURN_TIMEOUT, RetryingAgent

__all__ = ["build_agent", "resolve_api_key"]

_OPENCLAW_PASSWORD_ENV = "OPENCLAW_GATEWAY_PASSWORD"  # noqa: S105 - a variable name


def resolve_api_key(config: AgentConfig, environ: Mapping[str, str]) -> str | None:
    """The API key: ``$<apiKeyEnv>``; for the openclaw preset then ``$OPENCLAW_GATEWAY_PASSWORD``
    and the gateway secret from the config file. Raises :class:`ConfigError` if a required key
    is missing."""
    name = config.api_key_env
    key = environ.get(name, "").strip() if name else ""
    if key:
        return key
    if config.api_key_required:
        raise ConfigError(
            f"the {config.preset or 'openai'} agent backend needs an API key: set the environment "
            f"variable {name} (or name another one in channels.convos.agent.apiKeyEnv)"
        )
    if config.preset == "openclaw":
        return environ.get(_OPENCLAW_PASSWORD_ENV, "").strip() or config.fallback_api_key or None
    return None


def build_agent(
    config: AgentConfig,
    *,
    environ: Mapping[str, str] | None = None,
    http_client: httpx.AsyncClient | None = None,
    work_dir: Path | None = None,
    max_bytes: int = 25 * 1024 * 1024,
    turn_timeout: float = DEFAULT_TURN_TIMEOUT,
) -> Agent:
    """A ready backend. ``environ`` (default ``os.environ``) is where API keys are looked up;
    pass the loaded config's environment so ``.env`` files and the config's ``env`` block count.
    An ``http_client`` passed in is used as is and not closed by the agent. ``work_dir`` (inside
    the state folder) is where the command backend gets each turn's private attachment folder.
    The openai and command backends retry their transient errors within ``turn_timeout`` (the
    gateway's per-turn deadline; see :mod:`.retrying`)."""
    env = os.environ if environ is None else environ
    if config.kind == "echo":
        return EchoAgent()
    if config.kind == "command":
        if not config.command:
            raise ConfigError('channels.convos.agent.command is required when kind is "command"')
        command = CommandAgent(
            config.command,
            timeout_seconds=config.timeout_seconds,
            system_prompt=config.system_prompt,
            work_dir=work_dir,
            max_bytes=max_bytes,
        )
        return RetryingAgent(command, turn_timeout=turn_timeout)
    if not config.base_url or not config.model:
        raise ConfigError("channels.convos.agent needs baseUrl and model for the openai backend")
    return RetryingAgent(_openai(config, env, http_client), turn_timeout=turn_timeout)


def _openai(
    config: AgentConfig, env: Mapping[str, str], http_client: httpx.AsyncClient | None
) -> OpenAICompatibleAgent:
    assert config.base_url and config.model  # checked by build_agent
    return OpenAICompatibleAgent(
        base_url=config.base_url,
        model=config.model,
        api_key=resolve_api_key(config, env),
        api_key_env=config.api_key_env,
        system_prompt=config.system_prompt,
        timeout_seconds=config.timeout_seconds,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        send_history=config.send_history,
        openclaw_agent_id=config.agent_id if config.preset == "openclaw" else None,
        name=config.preset or "openai",
        client=http_client,
    )
