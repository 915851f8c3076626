"""Settings of the agent backend (``channels.convos.agent``), already validated and resolved.

Parsing and validation live with the rest of the config in :mod:`openclaw_convos.gateway.config`;
this module only holds the resolved values, so the backends do not depend on the gateway.

``channels.convos.agent`` (all keys optional)::

    kind            "echo" | "openai" | "command"   default: inferred (command if "command" is
                                                    set, openai if any openai key below is set,
                                                    else echo)
    preset          "openai" | "ollama" | "openclaw" (kind openai; default "openai" unless
                                                    baseUrl is given)
    baseUrl         Chat Completions base URL (".../v1"); default from the preset
    model           model name; required for the openai and ollama presets and a custom
                    baseUrl; openclaw default "openclaw:<agentId>"
    apiKeyEnv       name of the environment variable holding the API key; defaults:
                    openai OPENAI_API_KEY (required), openclaw OPENCLAW_GATEWAY_TOKEN (then
                    OPENCLAW_GATEWAY_PASSWORD, then gateway.auth.* of the same config file),
                    ollama/custom none. A variable named here explicitly must be set.
    systemPrompt    system prompt; default channels.convos.systemPrompt
    agentId         openclaw preset: the OpenClaw agent ("main")
    sendHistory     send the turn's history as messages; default true, false for openclaw
                    (the OpenClaw gateway keeps its own per-conversation session)
    temperature     optional number 0..2
    maxTokens       optional positive integer (sent as max_tokens)
    command         kind command: argv list, or one string split like a shell would
    timeoutSeconds  the backend's own timeout (HTTP request or program run); default 60
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args

__all__ = [
    "AGENT_KINDS",
    "PRESETS",
    "PRESET_API_KEY_ENV",
    "PRESET_BASE_URLS",
    "AgentConfig",
    "AgentKind",
    "Preset",
]

AgentKind = Literal["echo", "openai", "command"]
Preset = Literal["openai", "ollama", "openclaw"]
AGENT_KINDS: tuple[AgentKind, ...] = get_args(AgentKind)
PRESETS: tuple[Preset, ...] = get_args(Preset)

#: OpenClaw's gateway listens on 127.0.0.1:18789 by default (``DEFAULT_GATEWAY_PORT``).
PRESET_BASE_URLS: dict[Preset, str] = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://localhost:11434/v1",
    "openclaw": "http://127.0.0.1:18789/v1",
}
PRESET_API_KEY_ENV: dict[Preset, str | None] = {
    "openai": "OPENAI_API_KEY",
    "ollama": None,
    "openclaw": "OPENCLAW_GATEWAY_TOKEN",
}

_SECRET_FIELDS = frozenset({"fallback_api_key"})


@dataclass(frozen=True, slots=True, repr=False)
class AgentConfig:
    """Resolved backend settings; see the module docstring for the config keys."""

    kind: AgentKind = "echo"
    preset: Preset | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    api_key_required: bool = False
    fallback_api_key: str | None = None
    """A key taken from the config file itself (the OpenClaw gateway token); a secret."""
    system_prompt: str | None = None
    agent_id: str = "main"
    send_history: bool = True
    temperature: float | None = None
    max_tokens: int | None = None
    command: tuple[str, ...] = ()
    timeout_seconds: float = 60.0

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value is not None:
                parts.append(f"{f.name}='<redacted>'")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"AgentConfig({', '.join(parts)})"
