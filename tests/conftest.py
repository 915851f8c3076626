"""Shared fixtures: a devnode per test and real libxmtp clients on it."""

from __future__ import annotations

import os

# libxmtp logs INFO to stdout unless RUST_LOG is set before its first call.
os.environ.setdefault("RUST_LOG", "off")

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.xmtp import (
    BackendPool,
    Endpoint,
    Identity,
    IdentityKeys,
    XmtpClient,
)

ClientFactory = Callable[..., Awaitable[XmtpClient]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``slow`` tests (10 s or more each) first: with ``scripts/test``'s parallel workers
    (pytest-xdist), no worker is left running a long test alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
async def devnode() -> AsyncIterator[Devnode]:
    async with Devnode(port=0) as node:
        yield node


@pytest.fixture
async def pool(devnode: Devnode) -> BackendPool:
    return BackendPool(Endpoint(devnode.url))


@pytest.fixture
def make_client(pool: BackendPool, tmp_path: Path) -> ClientFactory:
    """``await make_client("alice")``: a new registered client with its own keys and database."""
    counter = iter(range(1_000_000))

    async def factory(name: str | None = None, **kwargs: object) -> XmtpClient:
        label = name or f"client{next(counter)}"
        identity = Identity(IdentityKeys.generate(), tmp_path / "identities" / f"{label}.db3")
        return await XmtpClient.open(identity, pool, **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures logging when a test runs it in-process; undo that after each test."""
    import logging

    names = ["", "openclaw_convos", "grpc", "httpx", "httpcore", "hpack", "asyncio"]
    saved = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
