"""Agent backend errors, all below :class:`openclaw_convos.errors.AgentError`.

``transient`` tells a retry policy whether trying again later can help. Messages never contain
API keys (the HTTP backend scrubs server replies that echo one).
"""

from __future__ import annotations

from ..errors import AgentError

__all__ = [
    "AgentCommandFailed",
    "AgentError",
    "AgentHTTPError",
    "AgentResponseError",
    "AgentTimeout",
    "AgentUnavailable",
]


class AgentTimeout(AgentError):
    """The backend did not answer within its own timeout."""

    transient = True


class AgentUnavailable(AgentError):
    """The backend cannot be reached (connection refused, DNS, program not found)."""

    transient = True


class AgentHTTPError(AgentError):
    """The HTTP backend answered with an error status."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.status == 429 or self.status >= 500


class AgentResponseError(AgentError):
    """The backend answered, but not in the expected shape (bad JSON, missing fields)."""

    transient = False


class AgentCommandFailed(AgentError):
    """The command backend's program exited with a non-zero status."""

    transient = False

    def __init__(self, message: str, *, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode
