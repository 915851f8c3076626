"""Fixtures for the fault tests: a restartable devnode on a file database, and a state folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openclaw_convos.xmtp import BackendPool, Endpoint

from .harness import Node, Place


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    node = Node(tmp_path / "node.sqlite3")
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


@pytest.fixture
async def place(tmp_path: Path, node: Node) -> AsyncIterator[Place]:
    place = Place(tmp_path, node.url, BackendPool(Endpoint(node.url)))
    place.write_config()
    try:
        yield place
    finally:
        await place.close()
