"""The joiner checks that an invite's signer is an address of its creator's inbox.

ECDSA recovery yields *some* address for almost any 65 bytes, so a flipped signature byte still
"recovers". Only the creator inbox's association state (the node's identity API, verified by
libxmtp) tells a real invite from an altered one.
"""

from __future__ import annotations

import dataclasses
import json
import time

from openclaw_convos.convos.errors import InviteBadSignature
from openclaw_convos.convos.invites import SignedInvite, encode_slug, parse_invite, recover_signer
from openclaw_convos.xmtp import ConversationKind

from .conftest import Cli
from .test_configure import FAKE_INBOX, offline_invite


def flip_signature_byte(slug: str) -> str:
    """The invite with one byte of its signature's r or s flipped, still recovering some signer."""
    invite = parse_invite(slug)
    signer = recover_signer(invite).address
    for index in range(64):
        changed = bytearray(invite.signature)
        changed[index] ^= 0x01
        tampered: SignedInvite = dataclasses.replace(invite, signature=bytes(changed))
        try:
            other = recover_signer(tampered).address
        except InviteBadSignature:
            continue
        assert other != signer
        return encode_slug(tampered.to_bytes())
    raise AssertionError("no single flipped byte recovers a signer")


async def test_a_real_invite_is_checked_against_its_creators_inbox(cli: Cli) -> None:
    alice = await cli.user("Alice", start=False)
    room = await alice.create_conversation("Real")
    slug = alice.invite(room)

    result = await cli("invite", "inspect", *cli.net, slug, "--json")

    assert result.code == 0, result.text
    data = json.loads(result.out)
    assert data["valid"] is True and data["signature"]["signerIsCreator"] is True
    assert data["signature"]["signerAddress"].lower() == alice.client.address.lower()
    human = await cli("invite", "inspect", *cli.net, slug)
    assert "an address of the creator's inbox" in human.out and "Status" in human.out


async def test_a_flipped_signature_byte_is_refused_before_any_join_request(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Target")
    tampered = flip_signature_byte(alice.invite(room))

    inspected = await cli("invite", "inspect", *cli.net, tampered)
    assert inspected.code == 4, inspected.text
    assert "valid (" not in inspected.out and "FORGED (signed by 0x" in inspected.out
    assert "NOT USABLE (signer_not_creator)" in inspected.out
    assert inspected.err.startswith("error: This invite's signature does not belong to its creator")
    assert inspected.err.count("\n") == 1
    as_json = json.loads((await cli("invite", "inspect", *cli.net, tampered, "--json")).out)
    assert as_json["valid"] is False and as_json["problem"] == "signer_not_creator"
    assert as_json["signature"] == {
        "wellFormed": True,
        "signerAddress": as_json["signature"]["signerAddress"],
        "signerIsCreator": False,
    }

    started = time.monotonic()
    joined = await cli("configure", "--non-interactive", *cli.net, "--invite", tampered, "--timeout", "30")
    elapsed = time.monotonic() - started

    assert joined.code == 4, joined.text
    assert elapsed < 5, elapsed
    assert joined.err.startswith("error: This invite's signature does not belong to its creator")
    assert joined.err.count("\n") == 1
    # nothing was created and nothing reached the creator
    assert not cli.config_path.exists()
    assert not list((cli.state_dir / "credentials").rglob("*.json"))
    await alice.client.sync_all()
    assert not [c for c in await alice.client.list_conversations() if c.kind is ConversationKind.DM]
    assert not [s for s in alice.seen if s.sender_inbox_id != alice.inbox_id]


async def test_an_invite_whose_creator_is_not_on_the_network_is_refused(cli: Cli) -> None:
    invite = offline_invite(name="Elsewhere")  # well signed, by an inbox this node never saw
    inspected = await cli("invite", "inspect", *cli.net, invite)
    assert inspected.code == 4, inspected.text
    assert f"The creator of this invite (inbox {FAKE_INBOX[:16]}…) does not exist on the local network" in (
        inspected.err
    )
    joined = await cli("configure", "--non-interactive", *cli.net, "--invite", invite)
    assert joined.code == 4 and "does not exist on the local network" in joined.err, joined.text
    assert not cli.config_path.exists()


async def test_offline_inspect_says_the_signer_was_not_checked(offline_cli: Cli) -> None:
    invite = offline_invite(name="Party")
    closed = "http://127.0.0.1:9"  # discard port: nothing answers
    result = await offline_cli("invite", "inspect", "--env", "local", "--api-url", closed, invite)
    assert result.code == 5, result.text
    assert "valid (" not in result.out and "Status" in result.out
    assert "signature well-formed; signer not checked against the creator (no network" in result.out
    assert "NOT VERIFIED" in result.out
    assert result.err.startswith(
        "error: signature well-formed; signer not checked against the creator: no network"
    )
    assert result.err.count("\n") == 1
    data = json.loads(
        (await offline_cli("invite", "inspect", "--env", "local", "--api-url", closed, invite, "--json")).out
    )
    assert data["valid"] is False and data["problem"] == "unverified"
    assert data["signature"]["wellFormed"] is True and data["signature"]["signerIsCreator"] is False
