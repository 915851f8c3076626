"""The command backend with a real Python program, the echo backend, and turn rendering."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from openclaw_convos.agents import (
    Agent,
    AgentCommandFailed,
    AgentConfig,
    AgentReply,
    AgentResponseError,
    AgentTimeout,
    AgentTurn,
    AgentUnavailable,
    CommandAgent,
    EchoAgent,
    HistoryItem,
    RetryingAgent,
    build_agent,
)
from openclaw_convos.agents.base import render_turn_text, turn_to_json
from openclaw_convos.agents.command import parse_command_output

PROGRAM = textwrap.dedent(
    """
    import json, os, signal, subprocess, sys, time

    mode = sys.argv[1]
    if mode == "record":
        data = sys.stdin.read()
        with open(sys.argv[2], "w", encoding="utf-8") as handle:
            handle.write(data)
        print("recorded")
    elif mode == "print":
        sys.stdin.read()
        sys.stdout.write(sys.argv[2])
    elif mode == "reply":
        turn = json.loads(sys.stdin.readline())
        print(json.dumps({"text": "you said: " + turn["text"], "react": "\\U0001f44d"}))
    elif mode == "fail":
        sys.stderr.write("starting\\nbad thing happened\\n")
        sys.exit(3)
    elif mode == "signal":
        os.kill(os.getpid(), signal.SIGTERM)
    elif mode == "bytes":
        sys.stdout.buffer.write(b"\\xff\\xfe")
    elif mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        with open(sys.argv[2], "w") as handle:
            handle.write(f"{os.getpid()} {child.pid}")
        time.sleep(60)
    """
)

TURN = AgentTurn(
    conversation_id="c" * 32,
    sender_inbox_id="a" * 64,
    sender_name="Alice",
    text="héllo",
    message_id="m1",
    history=(HistoryItem(role="user", text="before", sender_inbox_id="a" * 64),),
)


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "agent_program.py"
    path.write_text(PROGRAM, encoding="utf-8")
    return path


def command(program: Path, *args: str, timeout: float = 10.0, prompt: str | None = None) -> CommandAgent:
    return CommandAgent([sys.executable, str(program), *args], timeout_seconds=timeout, system_prompt=prompt)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def wait_for_file(path: Path) -> str:
    for _ in range(200):
        if path.exists() and path.read_text().strip():
            return path.read_text()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


# -- command backend -----------------------------------------------------------------------------


async def test_program_receives_the_turn_as_json(program: Path, tmp_path: Path) -> None:
    seen = tmp_path / "stdin.json"
    reply = await command(program, "record", str(seen), prompt="Be kind.").respond(TURN)
    assert reply == AgentReply(text="recorded")
    raw = seen.read_text(encoding="utf-8")
    assert raw.endswith("\n") and raw.count("\n") == 1  # one line of JSON
    assert json.loads(raw) == {
        "version": 1,
        "conversationId": "c" * 32,
        "messageId": "m1",
        "senderInboxId": "a" * 64,
        "senderName": "Alice",
        "text": "héllo",
        "isGroup": True,
        "replyToText": None,
        "reaction": None,
        "senderTimezone": None,
        "reactionGuidance": None,
        "systemPrompt": "Be kind.",
        "history": [{"role": "user", "text": "before", "senderInboxId": "a" * 64, "senderName": None}],
        "attachments": [],
    }


async def test_plain_text_and_json_answers(program: Path) -> None:
    assert await command(program, "print", "  plain answer\n\n").respond(TURN) == AgentReply(
        text="plain answer"
    )
    assert await command(program, "print", "").respond(TURN) == AgentReply()
    assert await command(program, "reply").respond(TURN) == AgentReply(
        text="you said: héllo", react="\U0001f44d"
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"text": "hi"}', AgentReply(text="hi")),
        ('{"react": " \U0001f389 "}', AgentReply(react="\U0001f389")),
        ('{"text": null, "react": null, "extra": 1}', AgentReply()),
        ('{"text": "   "}', AgentReply()),
        ("{not json at all", AgentReply(text="{not json at all")),
        ("Use {braces} freely", AgentReply(text="Use {braces} freely")),
    ],
)
def test_parse_command_output(output: str, expected: AgentReply) -> None:
    assert parse_command_output(output) == expected


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("{broken: json}", "invalid JSON"),
        ('{"text": 5}', 'field "text" must be a string or null'),
        ('{"react": ["x"]}', 'field "react" must be a string or null'),
    ],
)
def test_parse_command_output_errors(output: str, message: str) -> None:
    with pytest.raises(AgentResponseError, match=message):
        parse_command_output(output)


async def test_bad_json_from_the_program(program: Path) -> None:
    with pytest.raises(AgentResponseError, match="invalid JSON"):
        await command(program, "print", "{oops}").respond(TURN)


async def test_non_zero_exit(program: Path) -> None:
    with pytest.raises(AgentCommandFailed) as excinfo:
        await command(program, "fail").respond(TURN)
    assert excinfo.value.returncode == 3
    program_name = Path(sys.executable).name
    assert str(excinfo.value) == f"agent command {program_name} exited with status 3: bad thing happened"
    assert not excinfo.value.transient


async def test_killed_by_a_signal(program: Path) -> None:
    with pytest.raises(AgentCommandFailed, match="was killed by SIGTERM"):
        await command(program, "signal").respond(TURN)


async def test_output_that_is_not_utf8(program: Path) -> None:
    with pytest.raises(AgentResponseError, match="not UTF-8"):
        await command(program, "bytes").respond(TURN)


async def test_timeout_kills_the_program_and_its_children(program: Path, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    agent = command(program, "hang", str(pids_file), timeout=1.5)
    started = time.monotonic()
    with pytest.raises(AgentTimeout, match=r"did not answer within 1\.5 s and was killed"):
        await agent.respond(TURN)
    assert time.monotonic() - started < 8
    parent, child = (int(pid) for pid in pids_file.read_text().split())
    for _ in range(50):
        if not alive(parent) and not alive(child):
            break
        await asyncio.sleep(0.05)
    assert not alive(parent)
    assert not alive(child)


async def test_cancelling_the_turn_kills_the_program(program: Path, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    task = asyncio.create_task(command(program, "hang", str(pids_file), timeout=60).respond(TURN))
    parent, child = (int(pid) for pid in (await wait_for_file(pids_file)).split())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if not alive(parent) and not alive(child):
            break
        await asyncio.sleep(0.05)
    assert not alive(parent) and not alive(child)


async def test_missing_or_unrunnable_program(tmp_path: Path) -> None:
    with pytest.raises(AgentUnavailable, match="not found"):
        await CommandAgent([str(tmp_path / "no-such-program")]).respond(TURN)
    not_executable = tmp_path / "plain.txt"
    not_executable.write_text("hi")
    with pytest.raises(AgentUnavailable, match="not executable"):
        await CommandAgent([str(not_executable)]).respond(TURN)


def test_command_agent_arguments() -> None:
    with pytest.raises(ValueError):
        CommandAgent([])
    with pytest.raises(ValueError):
        CommandAgent(["x"], timeout_seconds=0)
    assert repr(CommandAgent(["/opt/bots/mybot", "--secret-flag"])) == (
        "CommandAgent(program='mybot', timeout_seconds=60.0)"
    )
    assert CommandAgent(["~/bot"])._argv[0] == os.path.expanduser("~/bot")


async def test_factory_builds_the_command_backend(program: Path) -> None:
    config = AgentConfig(kind="command", command=(sys.executable, str(program), "reply"), timeout_seconds=10)
    agent = build_agent(config)
    assert isinstance(agent, RetryingAgent) and isinstance(agent.inner, CommandAgent)
    assert (await agent.respond(TURN)).text == "you said: héllo"
    await agent.aclose()


# -- echo and rendering --------------------------------------------------------------------------


async def test_echo() -> None:
    agent = build_agent(AgentConfig())
    assert isinstance(agent, EchoAgent)
    assert isinstance(agent, Agent)
    assert agent.name == "echo"
    async with agent:
        assert await agent.respond(TURN) == AgentReply(text="héllo")
        blank = AgentTurn(conversation_id="c", sender_inbox_id="a", text=" \n", message_id="m")
        assert await agent.respond(blank) == AgentReply()
        reaction = AgentTurn(conversation_id="c", sender_inbox_id="a", text="", message_id="m", reaction="x")
        assert await agent.respond(reaction) == AgentReply()


def test_render_turn_text() -> None:
    assert render_turn_text(TURN) == "Alice: héllo"
    direct = AgentTurn(
        conversation_id="c", sender_inbox_id="b" * 64, text="hi", message_id="m", is_group=False
    )
    assert render_turn_text(direct) == "hi"
    anonymous = AgentTurn(
        conversation_id="c", sender_inbox_id="b" * 64, text="hi", message_id="m", sender_name=" "
    )
    assert render_turn_text(anonymous) == "bbbbbbbbbbbb: hi"
    long_quote = AgentTurn(
        conversation_id="c",
        sender_inbox_id="b",
        text="ok",
        message_id="m",
        is_group=False,
        reply_to_text="q " * 500,
    )
    rendered = render_turn_text(long_quote)
    assert rendered.startswith('[replying to: "q q') and rendered.endswith('\u2026"]\nok')
    assert len(rendered) < 300 + 30


def test_turn_to_json_is_serialisable() -> None:
    assert json.loads(json.dumps(turn_to_json(TURN)))["history"][0]["role"] == "user"
