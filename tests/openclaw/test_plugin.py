"""OpenClaw 2026.9.6 with ``extensions/convos``: install, setup by invite, answers, pairing, status, stop.

One gateway run carries the whole story (each step needs the previous one, and a gateway start
costs 20-50 s here): a simulated Convos user creates a conversation, ``openclaw channels add
convos --invite-url`` joins it, OpenClaw's agent (a fake model provider) answers, a stranger gets
OpenClaw's pairing code and is approved with ``openclaw pairing approve``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.simuser import SimulatedUser
from openclaw_convos.xmtp import BackendPool, Endpoint

from .fake_provider import ANSWER, FakeProvider
from .harness import PLUGIN_DIR, OpenClaw

TIMINGS: dict[str, float] = {}


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.timeout(600)  # 2.5-3 min here; more when the machine is busy
async def test_openclaw_channel_end_to_end(openclaw_tools: Path, tmp_path: Path) -> None:
    oc = OpenClaw(openclaw_tools, tmp_path / "state")
    with FakeProvider() as provider:
        oc.write_base_config(provider.port)
        async with Devnode(port=0) as node:
            pool = BackendPool(Endpoint(node.url))
            alice = await SimulatedUser.create("Alice", pool, tmp_path / "phones")
            mallory = await SimulatedUser.create("Mallory", pool, tmp_path / "phones")
            bob = await SimulatedUser.create("Bob", pool, tmp_path / "phones")
            users = (alice, mallory, bob)
            for user in users:
                await user.start()
            try:
                await _story(oc, node, users, provider)
            finally:
                await oc.kill_everything()
                for user in users:
                    await user.stop()
    print("timings:", json.dumps(TIMINGS))


async def _story(
    oc: OpenClaw, node: Devnode, users: tuple[SimulatedUser, ...], provider: FakeProvider
) -> None:
    alice, mallory, bob = users
    # 1. the plugin installs from the checkout (a copy, no npm) and is small
    result = await oc.run("plugins", "install", str(PLUGIN_DIR), "--force", "--accept-capabilities")
    assert result.code == 0, result.text
    installed = oc.state / "extensions" / "convos"
    assert (installed / "openclaw.plugin.json").exists()
    TIMINGS["plugin_installed_bytes"] = _tree_size(installed)
    assert TIMINGS["plugin_installed_bytes"] < 64_000  # README: under 64 KB

    # 2. `channels add` joins the conversation Alice made in her app, and saves a valid config
    conversation = await alice.create_conversation("Agent room")
    invite = alice.invite(conversation)
    began = time.monotonic()
    result = await oc.run(
        "channels", "add", "convos", "--invite-url", invite, "--api-url", node.url, timeout=180
    )
    TIMINGS["channels_add_s"] = time.monotonic() - began
    assert result.code == 0, result.text
    section = oc.config()["channels"]["convos"]
    assert section["ownerConversationId"] == conversation.id
    assert section["enabled"] is True and section["apiUrl"] == node.url and section["identityId"]
    assert oc.config()["commands"]["ownerAllowFrom"] == [f"convos:{alice.inbox_id}"]
    assert "Invite: Agent room" in result.text  # what the invite is, before joining

    # 2b. a second agent (account "work") joins Bob's conversation with its own identity
    bobs = await bob.create_conversation("Work room")
    result = await oc.run(
        "channels", "add", "convos", "--account", "work", "--invite-url", bob.invite(bobs), "--api-url", node.url,
        timeout=180,
    )  # fmt: skip
    assert result.code == 0, result.text
    section = oc.config()["channels"]["convos"]
    assert section["ownerConversationId"] == conversation.id  # the default account is untouched
    work = section["accounts"]["work"]
    assert work["ownerConversationId"] == bobs.id and work["identityId"] != section["identityId"]
    owners = [f"convos:{alice.inbox_id}", f"convos:{bob.inbox_id}"]
    assert oc.config()["commands"]["ownerAllowFrom"] == owners
    result = await oc.run("config", "validate")
    assert result.code == 0 and "Config valid" in result.text, result.text

    # 3. the gateway starts one engine per account; Alice's message is answered by OpenClaw's agent
    began = time.monotonic()
    await oc.start_gateway()
    await oc.wait_log(r"\[convos:default\] engine ready", timeout=150)
    TIMINGS["gateway_to_engine_ready_s"] = time.monotonic() - began
    hello = await alice.say(conversation.id, "hello agent")
    answer = await alice.wait_for(lambda s: s.text == ANSWER, timeout=120)
    TIMINGS["gateway_to_first_answer_s"] = time.monotonic() - began
    assert answer.conversation_id == conversation.id
    assert any("hello agent" in json.dumps(r) for r in provider.requests)
    del hello
    await oc.wait_log(r"\[convos:work\] engine ready", timeout=60)
    await bob.say(bobs.id, "hello work agent")
    answer = await bob.wait_for(lambda s: s.text == ANSWER, timeout=120)
    assert answer.conversation_id == bobs.id

    # 4. a stranger gets OpenClaw's pairing code; approving it lets them talk
    joined = await mallory.join(invite, timeout=60)
    assert joined.conversation_id == conversation.id
    mark = len(mallory.seen)
    await mallory.say(conversation.id, "let me in")
    reply = await mallory.wait_for(lambda s: "Pairing code" in s.text, timeout=90, after=mark)
    assert mallory.inbox_id in reply.text
    found = re.search(r"Pairing code:\W*([A-Z2-9]{8})\b", reply.text)  # the code may sit in a fence
    assert found is not None, reply.text
    code = found.group(1)
    assert not any(s.text == ANSWER for s in mallory.seen[mark:])  # not answered by the agent
    listed = await oc.run("pairing", "list", "convos", "--json")
    assert listed.code == 0, listed.text
    requests = json.loads(listed.out[listed.out.index("{") :])["requests"]
    assert [(r["code"], r["id"]) for r in requests] == [(code, mallory.inbox_id)]
    approved = await oc.run("pairing", "approve", "convos", code)
    assert approved.code == 0 and f"Approved convos sender {mallory.inbox_id}" in approved.text, approved.text
    await mallory.wait_for(lambda s: "access approved" in s.text, timeout=60, after=mark)
    assert oc.config()["commands"]["ownerAllowFrom"] == owners  # the stranger is no command owner
    mark = len(mallory.seen)
    await mallory.say(conversation.id, "thanks, now answer me")
    await mallory.wait_for(lambda s: s.text == ANSWER, timeout=90, after=mark)

    # 5. status --probe: both accounts running, each with its conversation
    status = await oc.run("channels", "status", "--probe", "--json", timeout=90)
    assert status.code == 0, status.text
    data = json.loads(status.out[status.out.index("{") :])
    accounts = {a["accountId"]: a for a in data["channelAccounts"]["convos"]}
    assert sorted(accounts) == ["default", "work"]
    assert all(a["running"] is True for a in accounts.values()), accounts
    probe = accounts["default"]["probe"]
    assert [c["conversationId"] for c in probe["conversations"]] == [conversation.id]
    assert [c["conversationId"] for c in accounts["work"]["probe"]["conversations"]] == [bobs.id]
    engine_pid = probe["enginePid"]
    os.kill(engine_pid, 0)  # alive

    # 6. an engine crash: the plugin restarts it (with backoff) and the conversation goes on
    os.kill(engine_pid, signal.SIGKILL)
    await oc.wait_log(r"\[convos:default\] restarting the engine in 1000 ms \(restart 1\)", timeout=30)
    await oc.wait_log(r"\[convos:default\] engine ready", timeout=60, nth=2)
    mark = len(alice.seen)
    await alice.say(conversation.id, "still there?")
    await alice.wait_for(lambda s: s.text == ANSWER, timeout=90, after=mark)

    # 7. stopping the gateway stops the engine
    await oc.stop_gateway()
    await asyncio.sleep(0.5)
    assert oc.processes_on_state() == []
