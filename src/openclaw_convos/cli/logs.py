"""Logging for the command line: the one place that configures it (the library only logs)."""

from __future__ import annotations

import logging
import sys


def configure_logging(debug: bool, log_format: str = "text") -> None:
    """stderr logging; ``log_format="json"``: one JSON object per line (time, level, logger, message)."""
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
    logging.getLogger("openclaw_convos").setLevel(level)
    if debug:
        # grpc and httpx are noisy at DEBUG; keep them at INFO.
        for name in ("grpc", "httpx", "httpcore", "hpack", "asyncio"):
            logging.getLogger(name).setLevel(logging.INFO)
