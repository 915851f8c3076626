"""A pending owner join completes while the config file cannot be written: ``run`` keeps serving,
keeps the owner conversation in its state database, and writes the config once it can."""

from __future__ import annotations

import signal

import pytest

from .conftest import Cli, eventually


@pytest.mark.slow
async def test_owner_join_completing_during_a_bad_config_moment_is_not_lost(cli: Cli) -> None:
    alice = await cli.user("Alice", start=False)
    room = await alice.create_conversation("Alice & agent")
    pending = await cli(
        "configure", "--non-interactive", *cli.net, "--invite", alice.invite(room), "--timeout", "1"
    )
    assert pending.code == 0 and "Join pending" in pending.out, pending.text
    gateway = cli.spawn("run")
    gateway.wait_for_line("Convos gateway running")

    good = cli.config_path.read_text()
    cli.config_path.write_text('{"channels": {"convos": ')  # someone is half-way through editing it
    await alice.start()  # her app approves the join
    await eventually(  # (not wait_for_line: it would block the loop her app runs on)
        lambda: "is joined and kept in the state database" in gateway.output, timeout=60, what="the join"
    )
    assert gateway.proc.poll() is None  # still running
    await alice.say(room.id, "are you there?")
    await alice.wait_for(lambda s: s.text == "are you there?" and s.sender_inbox_id != alice.inbox_id)

    cli.config_path.write_text(good)  # the edit is finished
    await eventually(
        lambda: cli.config().get("ownerConversationId") == room.id, timeout=30, what="the config written"
    )
    assert gateway.stop(signal.SIGTERM) == 0
