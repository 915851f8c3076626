"""A world for scenario tests: a devnode, a state folder with a config, simulated Convos users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint

from ..statefolder import StateFolder


@dataclass
class World(StateFolder):
    node: Devnode
    root: Path
    pool: BackendPool
    users: list[SimulatedUser] = field(default_factory=list)

    def config_api_url(self) -> str | None:
        return self.node.url

    async def user(self, name: str) -> SimulatedUser:
        user = await SimulatedUser.create(name, self.pool, self.root / "phones")
        await user.start()
        self.users.append(user)
        return user


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with Devnode(port=0) as node:
        w = World(node, tmp_path, BackendPool(Endpoint(node.url)))
        w.write_config()
        try:
            yield w
        finally:
            for user in w.users:
                await user.stop()
