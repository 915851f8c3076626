"""A world for scenario tests: a devnode, a state folder with a config, simulated Convos users."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.gateway.config import LoadedConfig, load_config
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint


@dataclass
class World:
    node: Devnode
    root: Path
    pool: BackendPool
    users: list[SimulatedUser] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "openclaw.json"

    @property
    def environ(self) -> dict[str, str]:
        return {"OPENCLAW_STATE_DIR": str(self.state_dir), "OPENCLAW_CONFIG_PATH": str(self.config_path)}

    def write_config(self, **convos: Any) -> None:
        data: dict[str, Any] = {}
        if self.config_path.exists():
            data = json.loads(self.config_path.read_text())
        section = data.setdefault("channels", {}).setdefault("convos", {})
        section.update({"env": "local", "apiUrl": self.node.url})
        section.update(convos)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(data, indent=2))

    def load(self) -> LoadedConfig:
        return load_config(environ=self.environ, home=self.root)

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
