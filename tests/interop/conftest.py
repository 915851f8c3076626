"""Interop fixtures: the pinned convos-cli (installed into a cache), a devnode on localhost:5556.

The tests here run only when selected (``pytest -m interop``): they need Node, the npm registry on
first use, and the fixed port 5556, which other sessions on the machine may want too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.devnode import Devnode

from ..statefolder import StateFolder
from .peer import (
    CLI_PORT,
    CliInstall,
    CliUser,
    InstallError,
    file_lock,
    install_cli,
    ipv6_loopback_available,
    port_holder,
    port_lock_path,
)

HERE = Path(__file__).parent


def _named_here(arg: str) -> bool:
    path = Path(arg.split("::", 1)[0]).resolve()
    return path == HERE or HERE in path.parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything here ``interop``; leave it out unless ``-m`` names interop or a path here is given."""
    selected = "interop" in (config.getoption("markexpr") or "") or any(_named_here(a) for a in config.args)
    keep, dropped = [], []
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)
            (keep if selected else dropped).append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def convos_cli() -> CliInstall:
    """The pinned convos-cli, installed on first use (host route, else the Debian 13 chroot)."""
    started = time.monotonic()
    try:
        install = install_cli(log=lambda message: print(message, flush=True))
    except InstallError as exc:
        pytest.skip(f"convos-cli could not be set up by either route: {exc}")
    print(f"convos-cli ready after {time.monotonic() - started:.1f}s ({install.route})", flush=True)
    return install


@pytest.fixture(scope="session")
def cli_devnode() -> Iterator[Devnode]:
    """The devnode on localhost:5556 (127.0.0.1 and ::1), where ``--env local`` points."""
    try:
        lock = file_lock(port_lock_path(), 600, "port 5556 for the convos-cli")
        lock.__enter__()
    except TimeoutError as exc:
        pytest.fail(f"another interop or bench session holds localhost:{CLI_PORT}: {exc}")
    node = Devnode(port=CLI_PORT, host="127.0.0.1")
    try:
        asyncio.run(node.start())
    except Exception as exc:
        lock.__exit__(None, None, None)
        pytest.fail(
            f"the devnode cannot listen on localhost:{CLI_PORT}, which the convos-cli's --env local "
            f"is hard-wired to ({exc}); held by: {port_holder(CLI_PORT)}. Stop that process and re-run."
        )
    if ipv6_loopback_available() and not node.ipv6_bound:
        asyncio.run(node.stop())
        lock.__exit__(None, None, None)
        pytest.fail(f"[::1]:{CLI_PORT} is taken by another process ({port_holder(CLI_PORT)})")
    try:
        yield node
    finally:
        asyncio.run(node.stop())
        lock.__exit__(None, None, None)


@dataclass
class Interop(StateFolder):
    """One test's world: our state folder and config (env local), and convos-cli users."""

    node: Devnode
    install: CliInstall
    root: Path
    users: list[CliUser] = field(default_factory=list)

    def cli_user(self, name: str) -> CliUser:
        user = CliUser(self.install, self.root / "cli" / name.lower(), name)
        self.users.append(user)
        return user


@pytest.fixture
async def interop(convos_cli: CliInstall, cli_devnode: Devnode, tmp_path: Path) -> AsyncIterator[Interop]:
    os.environ.setdefault("RUST_LOG", "off")
    world = Interop(cli_devnode, convos_cli, tmp_path)
    world.write_config()
    try:
        yield world
    finally:
        for user in world.users:
            with contextlib.suppress(Exception):
                await user.close()


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    *,
    timeout: float = 30.0,
    interval: float = 0.5,
    what: str = "condition",
) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout:.0f}s; last: {last!r}")
