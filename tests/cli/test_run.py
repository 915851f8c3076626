"""``run`` as a real process: it finishes a pending join, serves, pairs, takes requests from other
commands through its control folder, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal

from .conftest import Cli, eventually


async def test_run_finishes_join_serves_pairs_and_stops(cli: Cli) -> None:
    alice = await cli.user("Alice", start=False)
    room = await alice.create_conversation("Alice & agent")
    pending = await cli(
        "configure", "--non-interactive", *cli.net, "--invite", alice.invite(room), "--timeout", "1"
    )
    assert pending.code == 0 and "Join pending" in pending.out, pending.text

    gateway = cli.spawn("run")
    banner = gateway.wait_for_line("Convos gateway running")
    assert "1 join(s) waiting for approval" in banner
    assert "agent echo (no backend configured)" in banner

    await alice.start()  # her app opens and approves the request; run finishes the join
    await eventually(
        lambda: cli.config().get("ownerConversationId") == room.id, what="run saving the owner conversation"
    )
    await alice.say(room.id, "hello agent")
    await alice.wait_for(lambda s: s.text == "hello agent" and s.sender_inbox_id != alice.inbox_id)

    again = await cli("run")
    assert again.code == 1 and "already running" in again.err, again.text

    created = await cli("invite", "create", "--name", "Open room", "--no-qr", "--json")
    assert created.code == 0, created.text
    made = json.loads(created.out)
    assert made["gatewayRunning"] is True
    bob = await cli.user("Bob")
    joined = await bob.join(made["url"], timeout=20)
    assert joined.conversation_id == made["conversationId"], joined.message
    await bob.say(made["conversationId"], "can I talk to you?")
    code_msg = await bob.wait_for(lambda s: "Pairing code:" in s.text)
    code = code_msg.text.split("Pairing code:")[1].split()[0]

    listed = await cli("pairing", "list")
    assert listed.code == 0 and "Pairing requests (1)" in listed.out and code in listed.out
    assert bob.inbox_id in listed.out
    as_json = json.loads((await cli("pairing", "list", "convos", "--json")).out)
    assert as_json["channel"] == "convos" and as_json["requests"][0]["code"] == code

    approved = await cli("pairing", "approve", code, "--notify")  # through the running gateway
    assert approved.code == 0, approved.text
    assert approved.out.strip() == f"Approved convos sender {bob.inbox_id}."
    await bob.wait_for(lambda s: "Device paired successfully" in s.text)
    await alice.wait_for(lambda s: "Device paired successfully" in s.text and s.conversation_id == room.id)
    await bob.say(made["conversationId"], "now?")
    await bob.wait_for(lambda s: s.text == "now?" and s.sender_inbox_id != bob.inbox_id)

    sent = await cli("send", "owner", "a note from the command line")
    assert sent.code == 0, sent.text
    await alice.wait_for(lambda s: s.text == "a note from the command line")

    status = json.loads((await cli("status", "--json")).out)
    assert status["gateway"]["running"] is True and status["gateway"]["pid"] == gateway.pid
    assert status["configured"] is True and status["ownerConversationId"] == room.id
    assert status["activity"]["lastReplyAt"] and status["approvedSenders"] == [bob.inbox_id]

    # the owner removes a member from a conversation the gateway created (through the gateway)
    removed = await cli("conversations", "remove-member", made["conversationId"][:8], bob.inbox_id.upper())
    assert removed.code == 0, removed.text
    assert removed.out.startswith(f"Removed {bob.inbox_id} from conversation {made['conversationId']}.")
    again = await cli("conversations", "remove-member", made["conversationId"][:8], bob.inbox_id)
    assert again.code != 0 and "is not a member" in again.err, again.text

    assert gateway.stop(signal.SIGTERM) == 0, gateway.output
    assert "Stopping…" in gateway.output and "Convos gateway stopped." in gateway.output
    stopped = json.loads((await cli("status", "--json")).out)
    assert stopped["gateway"]["running"] is False


async def test_run_needs_a_setup(offline_cli: Cli) -> None:
    result = await offline_cli("run")
    assert result.code == 3, result.text
    assert "openclaw-convos configure" in result.err and result.err.count("\n") == 1
