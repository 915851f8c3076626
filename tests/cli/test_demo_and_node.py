"""The offline demo end to end (echo, a fake OpenAI backend, a failing backend), and ``node``."""

from __future__ import annotations

import re
import signal

from tests.agents.chat_server import ChatServer, Reply, completion, unused_port

from .conftest import Cli


async def test_demo_runs_offline_and_leaves_home_alone(offline_cli: Cli) -> None:
    env = offline_cli.env
    del env["OPENCLAW_STATE_DIR"], env["OPENCLAW_CONFIG_PATH"]  # the demo must not need or use them
    home = offline_cli.root / "home"
    demo = offline_cli.spawn("demo", env=env)
    assert demo.proc.wait(timeout=60) == 0, demo.output
    demo.stop(signal.SIGTERM)  # already ended; joins the reader
    out = demo.output
    steps = re.findall(r"^ *(\d+)\. .* (\d+) ms$", out, re.MULTILINE)
    assert [int(n) for n, _ms in steps] == list(range(1, 14)), out
    for text in (
        "Alice \u203a Hi! Are you there?",
        "OpenClaw \u203a Hi! Are you there?",
        "an S3-compatible store for attachments",
        "Alice \u203a [picture lobster.png, ",
        ": the same bytes, freshly encrypted and uploaded]",
        "OpenClaw \u203a Here is my lobster!",
        "Pairing code:",
        "Pairing request from Bob",
        "Alice \u203a approve ",
        "Device paired successfully",
        "Bob \u203a Great, thanks! What can you do?",
        "OpenClaw \u203a Great, thanks! What can you do?",
        "Demo finished in",
    ):
        assert text in out, text
    for noise in ("sqlcipher", "WARNING", "ERROR", "Traceback"):
        assert noise not in out, noise
    assert not (home / ".openclaw").exists()


async def test_demo_uses_the_openai_backend_when_configured(offline_cli: Cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with ChatServer() as server:
        server.replies = [
            Reply(body=completion("I am a helpful test model.")),
            Reply(body=completion("A QR code.")),
            Reply(body=completion("Hello Bob!")),
        ]
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_MODEL", "test-model")
        result = await offline_cli("demo")
    assert result.code == 0, result.text
    assert f"the openai backend (test-model at {server.base_url}" in result.out
    assert (
        "OpenClaw \u203a I am a helpful test model." in result.out
        and "OpenClaw \u203a A QR code." in result.out
        and "OpenClaw \u203a Hello Bob!" in result.out
    )
    assert len(server.requests) == 3 and server.requests[0].json()["model"] == "test-model"
    text, image = server.requests[1].json()["messages"][-1]["content"]  # the picture and its caption
    assert "What is in this picture?" in text["text"]
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


async def test_a_rate_limited_backend_is_retried_and_its_answer_arrives(
    offline_cli: Cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The whole gateway (the demo's): a 429 with Retry-After: 1, then 200, gives the answer."""
    async with ChatServer() as server:
        server.replies = [
            Reply(status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "1"}),
            Reply(body=completion("I am a helpful test model.")),
            Reply(body=completion("A QR code.")),
            Reply(body=completion("Hello Bob!")),
        ]
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_MODEL", "test-model")
        result = await offline_cli("demo")
    assert result.code == 0, result.text
    assert "OpenClaw \u203a I am a helpful test model." in result.out
    assert "Sorry, I could not answer" not in result.out
    assert len(server.requests) == 4


async def test_demo_fails_clearly_when_the_backend_is_down(offline_cli: Cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{unused_port()}/v1")
    result = await offline_cli("demo")
    assert result.code == 1, result.text
    assert "FAILED after" in result.out
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("error: demo failed at step 5") and "agent backend failed" in line


async def test_node_command_serves_until_interrupted(offline_cli: Cli) -> None:
    node = offline_cli.spawn("node", "--port", "0")
    line = node.wait_for_line("devnode listening on http://127.0.0.1:")
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
    assert port > 0
    assert node.stop(signal.SIGINT) == 0, node.output
    assert "devnode stopped" in node.output
