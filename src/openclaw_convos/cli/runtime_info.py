"""Small helpers several commands share about running the gateway (no command of their own)."""

from __future__ import annotations

import asyncio
import signal

from ..gateway.config import LoadedConfig


def stop_on_signals(stop: asyncio.Event) -> list[signal.Signals]:
    """SIGINT and SIGTERM set ``stop``; returns the signals handled (none off the main thread)."""
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            continue
        handled.append(sig)
    return handled


def agent_description(loaded: LoadedConfig) -> str:
    """The agent backend in one phrase (no secrets)."""
    agent = loaded.convos.agent
    if agent.kind == "echo":
        return "echo (no backend configured)"
    if agent.kind == "command":
        return f"command ({' '.join(agent.command)})"
    key = ""
    if agent.api_key_env:
        present = bool(loaded.environ.get(agent.api_key_env, "").strip())
        key = f", key from ${agent.api_key_env}{'' if present else ' (not set)'}"
    return f"{agent.preset or 'openai'} (model {agent.model} at {agent.base_url}{key})"
