"""Set-up is all or nothing, and ``status`` and ``run`` agree on what is set up."""

from __future__ import annotations

import json
import shutil
import time

from tests.agents.chat_server import unused_port

from .conftest import Cli


def identity_files(cli: Cli) -> list[str]:
    return sorted(p.name for p in cli.state_dir.rglob("*.json") if "convos-identities" in p.parts)


async def test_invite_create_on_a_dead_node_leaves_no_identity(offline_cli: Cli) -> None:
    dead = ["--env", "local", "--api-url", f"http://127.0.0.1:{unused_port()}"]
    started = time.monotonic()
    made = await offline_cli("invite", "create", *dead, "--no-qr")
    assert made.code == 5, made.text
    assert time.monotonic() - started < 60
    assert identity_files(offline_cli) == []
    status = await offline_cli("status", *dead)
    assert "Convos: needs setup (run `openclaw-convos configure`" in status.out
    assert json.loads((await offline_cli("status", "--json", *dead)).out)["setup"] == "needs setup"


async def test_configure_on_a_dead_node_leaves_no_identity(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Alice & agent")
    dead = ["--env", "local", "--api-url", f"http://127.0.0.1:{unused_port()}"]
    done = await cli(
        "configure", "--non-interactive", *dead, "--invite", alice.invite(room), "--timeout", "5"
    )
    assert done.code != 0, done.text
    assert identity_files(cli) == []
    assert json.loads((await cli("status", "--json", *cli.net)).out)["setup"] == "needs setup"


async def test_left_over_identities_still_mean_needs_setup(offline_cli: Cli) -> None:
    from openclaw_convos.gateway.service import identity_store

    offline_cli.config_path.parent.mkdir(parents=True, exist_ok=True)
    offline_cli.config_path.write_text(json.dumps({"channels": {"convos": {"env": "local"}}}))
    from openclaw_convos.gateway.config import load_config

    identity_store(load_config()).create(role="owner")  # what an older failed set-up left behind
    status = json.loads((await offline_cli("status", "--json")).out)
    assert status["setup"] == "needs setup" and len(status["identities"]) == 1


async def test_a_hand_written_seed_config_works_as_the_readme_says(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Alice & agent")
    configured = await cli("configure", "--non-interactive", *cli.net, "--invite", alice.invite(room))
    assert configured.code == 0, configured.text
    (key_file,) = [p for p in cli.state_dir.rglob("*.json") if "convos-identities" in p.parts]
    wallet = json.loads(key_file.read_text())["walletKey"]
    # a fresh state folder with only the README's hand-written config: privateKey + ownerConversationId
    shutil.rmtree(cli.state_dir)
    cli.state_dir.mkdir(mode=0o700)
    convos = {"enabled": True, "privateKey": wallet, "ownerConversationId": room.id, "env": "local"}
    convos["apiUrl"] = cli.node.url  # type: ignore[union-attr]
    cli.config_path.write_text(json.dumps({"channels": {"convos": convos}}))
    cli.config_path.chmod(0o600)

    status = json.loads((await cli("status", "--json")).out)
    assert status["setup"] == "configured" and status["ownerConversationId"] == room.id
    gateway = cli.spawn("run")
    banner = gateway.wait_for_line("Convos gateway running", timeout=60)
    assert "1 conversation(s)" in banner, banner
    # dmPolicy "pairing" (the default): her first message asks for approval, as the README says
    # the key's new installation is in the conversation once her app adds it (libxmtp does that
    # when it next looks at the members' installations): messages before that cannot reach it
    for attempt in range(12):
        await alice.say(room.id, f"hello from the app {attempt}")
        try:
            await alice.wait_for(lambda s: "Pairing request from" in s.text, timeout=5)
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("the gateway never answered with a pairing request")
    listed = json.loads((await cli("pairing", "list", "--json")).out)
    (request,) = listed["requests"]
    assert request["id"] == alice.inbox_id
    approved = await cli("pairing", "approve", request["code"])
    assert approved.code == 0, approved.text
    await alice.say(room.id, "and now?")
    await alice.wait_for(lambda s: s.text == "and now?" and s.sender_inbox_id != alice.inbox_id, timeout=60)
    after = json.loads((await cli("status", "--json")).out)
    assert after["setup"] == "configured" and after["identities"][0]["conversationId"] == room.id
