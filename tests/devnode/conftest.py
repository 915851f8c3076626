"""Fixtures of the devnode tests: an in-memory node on a free port and a raw gRPC client."""

from __future__ import annotations

import os

os.environ.setdefault("RUST_LOG", "off")  # before libxmtp's first call: it logs INFO to stdout otherwise

from collections.abc import AsyncIterator

import grpc.aio
import pytest

from openclaw_convos.devnode import Devnode

from .helpers import Rpc


@pytest.fixture
async def node() -> AsyncIterator[Devnode]:
    async with Devnode(port=0) as running:
        yield running


@pytest.fixture
async def rpc(node: Devnode) -> AsyncIterator[Rpc]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
        yield Rpc(channel)
