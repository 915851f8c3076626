"""``pairing list`` and ``approve`` on OpenClaw's store files (no node needed)."""

from __future__ import annotations

import json

from openclaw_convos.gateway.pairing import PairingStore

from .conftest import Cli


async def test_pairing_list_and_approve(offline_cli: Cli) -> None:
    cli = offline_cli
    empty = await cli("pairing", "list")
    assert empty.code == 0 and empty.out.strip() == "No pending convos pairing requests."
    store = PairingStore(cli.state_dir / "credentials")
    first = await store.upsert("aa" * 32, {"name": "Bob"})
    second = await store.upsert("bb" * 32)

    listed = await cli("pairing", "list", "convos")
    assert listed.code == 0, listed.text
    lines = listed.out.splitlines()
    assert lines[0] == "Pairing requests (2)"
    assert lines[1].split() == ["Code", "inbox", "ID", "Meta", "Requested"]
    assert (
        first.code in lines[3]
        and '{"name": "Bob", "accountId": "default"}' in lines[3]
        and second.code in lines[4]
    )
    data = json.loads((await cli("pairing", "list", "--channel", "convos", "--json")).out)
    assert data["channel"] == "convos" and [r["code"] for r in data["requests"]] == [first.code, second.code]

    unknown = await cli("pairing", "approve", "NOPE2345")
    assert (
        unknown.code == 1
        and unknown.err.strip() == "error: No pending pairing request found for code: NOPE2345"
    )
    approved = await cli("pairing", "approve", "--channel", "convos", first.code.lower())
    assert approved.code == 0 and approved.out.strip() == f"Approved convos sender {'aa' * 32}."
    assert await store.read_allow_from() == ("aa" * 32,)
    assert [r.code for r in await store.list_pending()] == [second.code]
    # --notify without a conversation to tell: the approval stands, the notice fails softly
    notified = await cli("pairing", "approve", second.code, "--notify")
    assert notified.code == 0 and "Failed to notify requester:" in notified.err

    for args in (
        ("pairing", "approve"),
        ("pairing", "approve", "convos", "A", "B"),
        ("pairing", "list", "x", "y"),
    ):
        bad = await cli(*args)
        assert bad.code == 2, (args, bad.text)
    other = await cli("pairing", "list", "telegram")
    assert other.code == 2 and "convos channel only" in other.err
