"""Agent backends: ``echo`` (default), ``openai`` (any OpenAI-compatible Chat Completions
endpoint: OpenAI, Ollama, OpenClaw's gateway) and ``command`` (a local program).

The gateway builds one with :func:`build_agent` and calls ``await agent.respond(turn)`` inside
its own per-turn timeout.
"""

from .base import Agent, AgentBase, AgentReply, AgentTurn, HistoryItem
from .command import CommandAgent
from .config import AgentConfig
from .echo import EchoAgent
from .errors import (
    AgentCommandFailed,
    AgentError,
    AgentHTTPError,
    AgentResponseError,
    AgentTimeout,
    AgentUnavailable,
)
from .factory import build_agent
from .openai_compat import OpenAICompatibleAgent
from .retrying import RetryingAgent

__all__ = [
    "Agent",
    "AgentBase",
    "AgentCommandFailed",
    "AgentConfig",
    "AgentError",
    "AgentHTTPError",
    "AgentReply",
    "AgentResponseError",
    "AgentTimeout",
    "AgentTurn",
    "AgentUnavailable",
    "CommandAgent",
    "EchoAgent",
    "HistoryItem",
    "OpenAICompatibleAgent",
    "RetryingAgent",
    "build_agent",
]
