"""``invite create | inspect | revoke | lock`` against a devnode (no gateway running)."""

from __future__ import annotations

import json

from openclaw_convos.cli.console import qr_text

from .conftest import Cli


async def test_create_inspect_revoke_lock(cli: Cli) -> None:
    png = cli.root / "invite.png"
    first = await cli(
        "invite", "create", *cli.net, "--name", "Ops", "--expires-in", "2h", "--single-use", "--png", str(png)
    )
    assert first.code == 0, first.text
    assert (
        "Created your owner conversation" in first.out
        and "whoever joins first becomes the owner" in first.out
    )
    url = next(line for line in first.out.splitlines() if line.startswith("https://dev.convos.org/v2?i="))
    assert qr_text(url) in first.out  # the terminal QR code of exactly that URL
    assert "expires 20" in first.out and "single use" in first.out
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Start `openclaw-convos run`" in first.out
    config = cli.config()
    owner = config["ownerConversationId"]
    assert config["env"] == "local" and config["apiUrl"] == cli.node.url  # type: ignore[union-attr]
    assert url and owner

    inspected = await cli("invite", "inspect", url, "--json")
    assert inspected.code == 0, inspected.text
    data = json.loads(inspected.out)
    assert data["valid"] is True and data["name"] == "Ops" and data["singleUse"] is True
    assert data["conversationId"] == owner and data["ours"]["role"] == "owner"
    assert data["signature"]["signerIsCreator"] is True and data["expiresAt"].endswith("Z")
    assert len(data["creatorInboxId"]) == 64 and len(data["tag"]) == 10

    second = await cli("invite", "create", "--name", "Open room", "--no-qr", "--json")
    assert second.code == 0, second.text
    created = json.loads(second.out)
    assert created["ownerConversation"] is False and created["conversationId"] != owner
    assert cli.config()["ownerConversationId"] == owner

    revoked = await cli.process("invite", "revoke", owner[:8])
    assert revoked.code == 0, revoked.text
    assert f"Revoked every invite of conversation {owner}" in revoked.out
    stale = await cli.process("invite", "inspect", url)
    assert stale.code == 4 and "was revoked" in stale.err, stale.text
    assert "NOT USABLE (revoked)" in stale.out

    locked = await cli.process("invite", "lock", "owner")
    assert locked.code == 0 and "nobody new can join" in locked.out, locked.text
    fresh = await cli.process("invite", "create", "--conversation", "owner", "--no-qr")
    assert fresh.code == 0, fresh.text
    fresh_url = next(line for line in fresh.out.splitlines() if line.startswith("https://"))
    refused = await cli.process("invite", "inspect", fresh_url)
    assert refused.code == 4 and "locked" in refused.err, refused.text
    unlocked = await cli.process("invite", "lock", "owner", "--unlock")
    assert unlocked.code == 0 and "Unlocked" in unlocked.out
    usable = await cli.process("invite", "inspect", fresh_url)
    assert usable.code == 0 and "valid" in usable.out, usable.text

    # errors are one readable line with a non-zero exit
    unknown = await cli("invite", "revoke", "ffffffff")
    assert unknown.code == 3 and unknown.err.count("\n") == 1 and "conversations list" in unknown.err
    short = await cli("invite", "lock", "ab")
    assert short.code == 2 and "too short" in short.err
    bad = await cli("invite", "create", "--expires-in", "soon")
    assert bad.code == 2 and "duration" in bad.err
    unwritable = await cli("invite", "create", "--png", str(cli.root / "missing" / "qr.png"), "--no-qr")
    assert unwritable.code == 2 and unwritable.err.startswith("error: ") and unwritable.err.count("\n") == 1
