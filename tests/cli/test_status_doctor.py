"""``status`` works from local files only (node down included); ``doctor`` makes real checks."""

from __future__ import annotations

import json
from pathlib import Path

from openclaw_convos.devnode import Devnode
from openclaw_convos.gateway.pairing import PairingStore

from .conftest import Cli


async def test_status_before_any_setup(offline_cli: Cli) -> None:
    result = await offline_cli("status")
    assert result.code == 0, result.text
    assert result.out.startswith("Convos: needs setup (run `openclaw-convos configure`")
    assert "Agent: echo (no backend configured)" in result.out
    assert "Gateway: not running" in result.out and "(not created yet)" in result.out
    data = json.loads((await offline_cli("status", "--json")).out)
    assert data["configured"] is False and data["setup"] == "needs setup" and data["identities"] == []
    assert data["env"] == "production" and data["agent"] == "echo (no backend configured)"
    assert not offline_cli.state_dir.exists()  # status creates nothing
    doctor = await offline_cli(
        "doctor", "--env", "local", "--api-url", "http://127.0.0.1:9", "--timeout", "2"
    )
    assert doctor.code == 1, doctor.text
    assert "[FAIL] setup" in doctor.out and "[FAIL] node" in doctor.out


async def test_status_and_doctor_with_the_node_up_then_down(offline_cli: Cli) -> None:
    cli = offline_cli
    async with Devnode(port=0) as node:
        cli.node = node
        made = await cli("invite", "create", *cli.net, "--no-qr")
        assert made.code == 0, made.text
        healthy = await cli("doctor")
        assert healthy.code == 0, healthy.text
        for text in ("[ ok ] node", "answered in", "[ ok ] installations", "at most 1 of 10", "0600"):
            assert text in healthy.out, text
        report = json.loads((await cli("doctor", "--json")).out)
        assert report["ok"] is True and {c["name"] for c in report["checks"]} >= {"config", "node", "agent"}
    owner = cli.config()["ownerConversationId"]
    store = PairingStore(cli.state_dir / "credentials")
    request = await store.upsert("12" * 32, {"conversationId": owner, "name": "Bob"})

    # the node is gone: status still answers from local files
    status = await cli("status")
    assert status.code == 0, status.text
    assert "Convos: configured" in status.out and f"Owner conversation: {owner[:8]}..." in status.out
    assert (
        "Environment: local" in status.out
        and "Pending pairings: 1" in status.out
        and request.code in status.out
    )
    data = json.loads((await cli("status", "--json")).out)
    assert data["configured"] and data["ownerState"] == "joined"
    assert data["pendingPairings"][0]["code"] == request.code
    key_file = Path(data["identities"][0]["keyFile"])
    assert key_file.exists()
    assert "walletKey" not in status.out and "0x" not in json.dumps(data)  # paths, never key material

    key_file.chmod(0o644)
    broken = await cli("doctor", "--timeout", "2")
    assert broken.code == 1, broken.text
    assert "[FAIL] node" in broken.out and "reach the XMTP node at http://127.0.0.1:" in broken.out
    assert f"key file {key_file} is 0644" in broken.out and f"chmod 600 {key_file}" in broken.out
    assert "problem(s)" in broken.out

    written = json.loads(cli.config_path.read_text())
    written["channels"]["convos"]["identityId"] = "gone"
    cli.config_path.write_text(json.dumps(written))
    stale = await cli("doctor", "--timeout", "2")
    assert "[warn] config" in stale.out and "identityId gone names no identity on env 'local'" in stale.out

    cli.config_path.write_text('{"channels": {"convos": {"dmPolicy": "sometimes"}}}')
    invalid = await cli("status")
    assert invalid.code == 3 and "dmPolicy must be one of" in invalid.err
    diagnosis = await cli("doctor")
    assert diagnosis.code == 1 and "[FAIL] config" in diagnosis.out and "dmPolicy" in diagnosis.out


async def test_a_corrupt_allow_from_store_is_reported_and_survives_an_approval(offline_cli: Cli) -> None:
    cli = offline_cli
    creds = cli.state_dir / "credentials"
    store = PairingStore(creds)
    for sender in ("aa" * 32, "bb" * 32):
        await store.add_allow_from(sender)
    allow = creds / "convos-allowFrom.json"
    broken = allow.read_bytes()[:-5]  # one cut: no longer JSON
    allow.write_bytes(broken)

    status = await cli("status")
    assert status.code == 0, status.text
    assert f"problem: {allow} is corrupt (not JSON)" in status.out
    assert json.loads((await cli("status", "--json")).out)["pairingStoreProblems"]
    assert allow.read_bytes() == broken  # status changes nothing
    doctor = await cli("doctor", "--env", "local", "--api-url", "http://127.0.0.1:9", "--timeout", "1")
    assert doctor.code == 1 and "[FAIL] pairing" in doctor.out and "corrupt" in doctor.out

    # an approval (OpenClaw's or ours) never overwrites the two earlier approvals
    request = await store.upsert("cc" * 32)
    approved = await cli("pairing", "approve", request.code)
    assert approved.code == 0, approved.text
    await store.add_allow_from("dd" * 32)
    (aside,) = creds.glob("convos-allowFrom.json.corrupt-*")
    assert aside.read_bytes() == broken
    status = await cli("status")
    assert f"problem: {aside} is a corrupt pairing store moved aside" in status.out


async def test_doctor_reports_the_attachment_provider(offline_cli: Cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    args = ("doctor", "--env", "local", "--api-url", "http://127.0.0.1:9", "--timeout", "1")
    plain = await offline_cli(*args)
    assert "[ ok ] attachments" in plain.out and "no upload provider" in plain.out, plain.out
    monkeypatch.setenv("CONVOS_UPLOAD_PROVIDER", "s3")
    monkeypatch.setenv("CONVOS_UPLOAD_PROVIDER_TOKEN", "AKID:very-secret-key")
    monkeypatch.setenv("CONVOS_S3_BUCKET", "pics")
    s3 = await offline_cli(*args)
    assert "received and sent (up to 25 MB) through s3 bucket pics" in s3.out, s3.out
    assert "very-secret-key" not in s3.out + s3.err
    monkeypatch.delenv("CONVOS_S3_BUCKET")
    broken = await offline_cli(*args)
    assert "[FAIL] attachments" in broken.out and "CONVOS_S3_BUCKET" in broken.out, broken.out
