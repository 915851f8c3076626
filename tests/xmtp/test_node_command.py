"""`openclaw-convos node` starts a devnode that a real libxmtp client registers against."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

from openclaw_convos.xmtp import BackendPool, Endpoint, Identity, IdentityKeys, XmtpClient


async def test_node_command_serves_a_real_client(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openclaw_convos.cli.main",
        "node",
        "--port",
        "0",
        "--db",
        str(tmp_path / "node.sqlite"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        pool = BackendPool(Endpoint(f"http://127.0.0.1:{match.group(1)}"))
        await pool.probe(timeout=5)
        client = await XmtpClient.open(Identity(IdentityKeys.generate(), tmp_path / "c.db3"), pool)
        assert await client.installation_count() == 1
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert (tmp_path / "node.sqlite").exists()
