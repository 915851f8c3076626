"""``openclaw configure`` and ``openclaw channels add convos`` in a terminal: the plugin's wizard."""

from __future__ import annotations

import asyncio
from pathlib import Path

from openclaw_convos.devnode import Devnode
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint

from .harness import PLUGIN_DIR, OpenClaw, Terminal, close_terminal, open_terminal

DOWN = "\x1b[B"


async def _choose(terminal: Terminal, label: str, after: int) -> None:
    """Move the highlighted option of a picker to ``label`` and take it."""
    for _ in range(80):
        await asyncio.sleep(0.3)
        selected = [line for line in terminal.screen[after:].splitlines() if "●" in line]
        if selected and label in selected[-1]:
            terminal.type("\r")
            return
        terminal.type(DOWN)
    raise AssertionError(f"no option {label!r}; screen ends:\n{terminal.screen[-2000:]}")


async def test_configure_wizard_shows_the_invite_joins_and_saves(
    openclaw_tools: Path, tmp_path: Path
) -> None:
    oc = OpenClaw(openclaw_tools, tmp_path / "state")
    oc.write_base_config(provider_port=9)
    installed = await oc.run("plugins", "install", str(PLUGIN_DIR), "--force", "--accept-capabilities")
    assert installed.code == 0, installed.text
    async with Devnode(port=0) as node:
        alice = await SimulatedUser.create("Alice", BackendPool(Endpoint(node.url)), tmp_path / "phones")
        await alice.start()
        try:
            conversation = await alice.create_conversation("Wizard room", emoji="🧙")
            invite = alice.invite(conversation)
            config = oc.config()  # a local node: the wizard then asks only for the link
            config["channels"] = {"convos": {"env": "local", "apiUrl": node.url}}
            oc.config_path.write_text(__import__("json").dumps(config))

            terminal = await open_terminal(oc, "configure", "--section", "channels")
            try:
                at = await terminal.wait_for("Add or update channels", timeout=90)
                terminal.type("\r")
                await _choose(terminal, "Convos (XMTP)", await terminal.wait_for("Select a channel", 60, at))
                at = await terminal.wait_for("Paste Convos invite link", timeout=60, after=at)
                terminal.type(invite + "\r")
                await terminal.wait_for("Wizard room", timeout=60, after=at)  # what the invite is
                await terminal.wait_for("Invite expires", timeout=10, after=at)
                at = await terminal.wait_for("Joined", timeout=90, after=at)
                await _choose(terminal, "Finished", await terminal.wait_for("Select a channel", 60, at))
                code = await close_terminal(terminal, timeout=60)
            finally:
                if terminal.proc.returncode is None:
                    await close_terminal(terminal, timeout=1)
            assert code == 0, terminal.screen[-3000:]
            section = oc.config()["channels"]["convos"]
            assert section["ownerConversationId"] == conversation.id and section["enabled"] is True
            assert oc.config()["commands"]["ownerAllowFrom"] == [f"convos:{alice.inbox_id}"]
            valid = await oc.run("config", "validate")
            assert valid.code == 0, valid.text

            # `channels add convos` without flags runs the same wizard: it offers to keep the setup
            terminal = await open_terminal(oc, "channels", "add", "convos")
            try:
                at = await terminal.wait_for("What do you want to do?", timeout=90)
                await _choose(terminal, "Modify settings", at)
                await terminal.wait_for("Keep it?", timeout=30, after=at)  # our wizard's question
                terminal.type("\r")  # yes
                code = await close_terminal(terminal, timeout=60)
            finally:
                if terminal.proc.returncode is None:
                    await close_terminal(terminal, timeout=1)
            assert code == 0, terminal.screen[-3000:]
            assert oc.config()["channels"]["convos"]["ownerConversationId"] == conversation.id
        finally:
            await alice.stop()
