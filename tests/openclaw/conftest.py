"""Tests against the real OpenClaw 2026.9.6 with our plugin (``-m openclaw``; installed into a cache).

They run only when selected: ``pytest -m openclaw`` or a path under ``tests/openclaw``. The first
run installs Node 24 and openclaw with ``scripts/install-openclaw`` (about 35 s, needs npm and
the registry); later runs reuse the cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import install_openclaw

HERE = Path(__file__).parent


def _named_here(arg: str) -> bool:
    path = Path(arg.split("::", 1)[0]).resolve()
    return path == HERE or HERE in path.parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = "openclaw" in (config.getoption("markexpr") or "") or any(_named_here(a) for a in config.args)
    keep, dropped = [], []
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.openclaw)
            (keep if selected else dropped).append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def openclaw_tools() -> Path:
    return install_openclaw()
