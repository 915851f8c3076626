from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openclaw_convos.media.localstore import LocalObjectStore


@pytest.fixture
async def object_store(tmp_path: Path) -> AsyncIterator[LocalObjectStore]:
    """A real S3-compatible server (rclone) on loopback, with a public read-only gateway."""
    async with LocalObjectStore(tmp_path / "objects") as store:
        yield store
