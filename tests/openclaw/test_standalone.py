"""The standalone gateway on a state folder where OpenClaw lives: OpenClaw's config stays valid."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from openclaw_convos.devnode import Devnode
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint

from .harness import PLUGIN_DIR, OpenClaw, Result


async def _configure(oc: OpenClaw, invite: str, node_url: str) -> Result:
    """``openclaw-convos configure --non-interactive`` on the OpenClaw state folder."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openclaw_convos", "configure", "--non-interactive", "--invite", invite,
        "--env", "local", "--api-url", node_url, "--timeout", "60",
        env={**os.environ, **oc.environ()},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return Result(proc.returncode or 0, out.decode(), err.decode())


async def test_configure_keeps_openclaw_valid_with_or_without_the_plugin(
    openclaw_tools: Path, tmp_path: Path
) -> None:
    oc = OpenClaw(openclaw_tools, tmp_path / "state")
    oc.write_base_config(provider_port=9)
    # OpenClaw stamps the config when it writes it (meta.lastTouchedVersion)
    stamped = await oc.run("config", "set", "gateway.port", str(oc.gateway_port))
    assert stamped.code == 0, stamped.text
    async with Devnode(port=0) as node:
        alice = await SimulatedUser.create("Alice", BackendPool(Endpoint(node.url)), tmp_path / "phones")
        await alice.start()
        try:
            invite = alice.invite(await alice.create_conversation("Standalone room"))
            # without the plugin: refused before anything is created, with the way out
            refused = await _configure(oc, invite, node.url)
            assert refused.code == 3, refused.text
            assert "openclaw plugins install" in refused.err and "extensions/convos" in refused.err
            assert "convos" not in oc.config().get("channels", {})
            assert not (oc.state / "credentials" / "convos-identities").exists()
            valid = await oc.run("config", "validate")
            assert valid.code == 0 and "Config valid" in valid.text, valid.text

            # with the plugin: configure writes channels.convos, and OpenClaw accepts it
            installed = await oc.run(
                "plugins", "install", str(PLUGIN_DIR), "--force", "--accept-capabilities"
            )
            assert installed.code == 0, installed.text
            # the plugin says what to install when the engine is missing
            oc.engine_on_path = False
            missing = await oc.run("channels", "add", "convos", "--invite-url", invite, "--api-url", node.url)
            oc.engine_on_path = True
            assert missing.code != 0
            assert "pip install openclaw-convos" in missing.text and "engineCommand" in missing.text, (
                missing.text
            )
            done = await _configure(oc, invite, node.url)
            assert done.code == 0, done.text
            section = oc.config()["channels"]["convos"]
            assert section["ownerConversationId"] and section["apiUrl"] == node.url
            valid = await oc.run("config", "validate")
            assert valid.code == 0 and "Config valid" in valid.text, valid.text
        finally:
            await alice.stop()
