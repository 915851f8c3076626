"""Errors that only the command line raises, each with its exit code."""

from __future__ import annotations

from ..errors import ConfigError, ConvosError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_INVITE = 4
EXIT_NETWORK = 5
EXIT_INTERRUPTED = 130


class CliError(ConvosError):
    """A command cannot do what was asked; ``exit_code`` says how the process ends."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CliError):
    """The arguments do not make sense together (exit 2, like argparse)."""

    exit_code = EXIT_USAGE


class Cancelled(CliError):
    """The user ended a prompt (end of input) or declined to go on."""

    exit_code = EXIT_ERROR


class NotConfigured(ConfigError):
    """The command needs a configured channel and there is none."""


class GatewayBusy(CliError):
    """The running gateway did not answer a control request in time."""
