"""The subcommand registry: each module adds its parsers; a handler is ``async def (args) -> int``."""

from __future__ import annotations

import argparse
from typing import Any

from . import bridge, configure, conversations, demo, doctor, invites, node, pairing, run, status

MODULES = (configure, invites, run, pairing, status, doctor, conversations, node, demo, bridge)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    for module in MODULES:
        module.register(sub, common)
