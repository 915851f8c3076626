"""``configure``: the wizard driven through its prompts, the flags, and every way an invite fails."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

from openclaw_convos.cli.configure import INVITE_PROMPT
from openclaw_convos.convos.invites import create_invite, encode_slug, parse_invite
from openclaw_convos.convos.links import invite_url
from openclaw_convos.gateway.pairing import PairingStore

from .conftest import Cli

FAKE_INBOX = "ab" * 32
FAKE_CONVERSATION = "cd" * 16


def offline_invite(**options: object) -> str:
    """A correctly signed invite for a conversation nobody serves (enough for the checks)."""
    return create_invite(os.urandom(32), FAKE_INBOX, FAKE_CONVERSATION, "AbCdEfGh12", **options)  # type: ignore[arg-type]


async def test_wizard_joins_through_its_prompts(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Alice & agent", emoji="🎉")
    link = invite_url(alice.invite(room), "dev")
    answers = "\n".join(["", "not an invite", link, "", "Jarvis", "y", "3"]) + "\n"

    result = await cli("configure", *cli.net, stdin=answers)

    assert result.code == 0, result.text
    out = result.out
    order = [
        "Convos Setup",
        'Tap the "+" button',
        INVITE_PROMPT,
        "Required",
        "Invalid invite format. Paste the full URL or slug.",
        "Conversation: 🎉 Alice & agent",
        "Invite expires: never",
        "Join this conversation?",
        "Name shown in the conversation [OpenClaw]",
        "Creating XMTP identity and joining conversation...",
        "Convos Connected",
        f"Conversation ID: {room.id}",
        "This is now your owner channel. OpenClaw will:",
        "Configure DM access policies now?",
        "DM policy set to open",
    ]
    positions = [out.find(text) for text in order]
    assert -1 not in positions, [t for t, p in zip(order, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    config = cli.config()
    assert config["ownerConversationId"] == room.id
    assert config["env"] == "local" and config["apiUrl"] == cli.node.url  # type: ignore[union-attr]
    assert config["name"] == "Jarvis" and config["dmPolicy"] == "open" and config["allowFrom"] == ["*"]
    assert config["identityId"] and config["enabled"] is True
    await alice.wait_for(lambda s: s.text == "profile: Jarvis", timeout=10)

    # an existing owner conversation is kept unless the user says otherwise
    kept = await cli("configure", stdin="\n\n")
    assert kept.code == 0, kept.text
    assert f"Convos already configured (conversation: {room.id[:12]}...). Keep it?" in kept.out
    assert "Keeping the owner conversation" in kept.out
    assert cli.config()["ownerConversationId"] == room.id
    refused = await cli("configure", "--non-interactive", "--invite", link)
    assert refused.code == 3 and "--replace" in refused.err
    assert refused.err.count("\n") == 1

    # without a gateway running, --notify opens the identity for a moment; send does the same
    stranger = "ef" * 32
    store = PairingStore(cli.state_dir / "credentials")
    pending = await store.upsert(stranger, {"conversationId": room.id})
    approved = await cli.process("pairing", "approve", "convos", pending.code.lower(), "--notify")
    assert approved.code == 0, approved.text
    assert approved.out.strip() == f"Approved convos sender {stranger}."
    await alice.wait_for(lambda s: s.text.startswith("✅ Device paired successfully (inbox: efefefefefef"))
    sent = await cli.process("send", room.id[:6], "hello", "from", "the", "cli")
    assert sent.code == 0, sent.text
    await alice.wait_for(lambda s: s.text == "hello from the cli")
    listed = await cli("conversations", "list")
    assert room.id in listed.out and "owner channel" in listed.out


async def test_flags_and_a_pending_join(cli: Cli) -> None:
    alice = await cli.user("Alice", start=False)  # her app is closed: nobody approves
    room = await alice.create_conversation("Later")
    result = await cli(
        "configure", "--non-interactive", *cli.net, "--invite", alice.invite(room), "--timeout", "1.5"
    )
    assert result.code == 0, result.text
    assert "Join pending" in result.out
    assert "The conversation owner needs to approve your request in the Convos iOS app." in result.out
    assert "`openclaw-convos run` finishes the join" in result.out
    config = cli.config()
    assert "ownerConversationId" not in config and config["identityId"]
    status = await cli("status")
    assert status.code == 0 and status.out.startswith("Convos: join pending")


async def test_refusals_explain_revoked_and_used_invites(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Closed")
    revoked = alice.invite(room)
    from openclaw_convos.joinflow.creator import revoke_invites

    await revoke_invites(room)
    result = await cli("configure", "--non-interactive", *cli.net, "--invite", revoked, "--timeout", "15")
    assert result.code == 4, result.text
    assert "Convos Error" in result.out and "the invite was revoked" in result.out
    assert result.err.startswith("error: Failed to join:") and result.err.count("\n") == 1
    assert not list((cli.state_dir / "credentials" / "convos-identities" / "local").glob("*.json"))

    single = alice.invite(room, single_use=True)
    bob = await cli.user("Bob")
    assert (await bob.join(single)).conversation_id == room.id
    used = await cli("configure", "--non-interactive", *cli.net, "--invite", single, "--timeout", "15")
    assert used.code == 4, used.text
    assert "single-use and someone already used it" in used.out


async def test_bad_invites_give_their_reason(offline_cli: Cli) -> None:
    cli = offline_cli
    past = datetime.now(UTC) - timedelta(hours=1)
    good = offline_invite(name="Party", emoji="🎈", expires_at=datetime.now(UTC) + timedelta(days=3))
    parsed = parse_invite(good)
    unsigned = encode_slug(dataclasses.replace(parsed, signature=b"\x00" * 64 + b"\x01").to_bytes())
    cases = {
        "garbage-that-is-not-an-invite-at-all": "not a valid Convos invite",
        "https://example.com/nothing-here": "does not contain an invite code",
        offline_invite(expires_at=past): "This invite expired at",
        offline_invite(conversation_expires_at=past): "The conversation of this invite expired at",
        unsigned: "signature is invalid",
    }
    for text, reason in cases.items():
        for args in (("configure", "--non-interactive", "--invite", text), ("invite", "inspect", text)):
            result = await cli(*args)
            assert result.code == 4, (args, result.text)
            assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
            assert reason in result.err, (reason, result.err)
    json_result = await cli("invite", "inspect", "--json", offline_invite(expires_at=past))
    assert json_result.code == 4 and '"problem": "expired"' in json_result.out

    # no node: everything is shown, but the signer is not vouched for (exit 5, not "valid")
    inspected = await cli(
        "invite", "inspect", "--api-url", "http://127.0.0.1:9", invite_url(good, "production")
    )
    assert inspected.code == 5, inspected.text
    for text in (
        "Party",
        "🎈",
        FAKE_INBOX,
        "AbCdEfGh12",
        "in 2 days",
        "not checked against the creator",
        "production",
    ):
        assert text in inspected.out, text
    assert "unknown (only its creator's key opens the token)" in inspected.out

    # the wizard shows the invite and warns about the wrong network; declining changes nothing
    answers = "\n".join([invite_url(good, "production"), "n"]) + "\n"
    wizard = await cli("configure", "--env", "local", stdin=answers)
    assert wizard.code == 0, wizard.text
    assert "Conversation: 🎈 Party" in wizard.out and "Single use: no" in wizard.out
    assert "for the Convos production network" in wizard.err
    assert "Nothing was changed." in wizard.out
    assert not cli.config_path.exists()
    ended = await cli("configure", stdin="")
    assert ended.code == 1 and "cancelled" in ended.err
