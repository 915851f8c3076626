"""The OpenAI-compatible backend against a real local HTTP server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from openclaw_convos.agents import (
    AgentConfig,
    AgentHTTPError,
    AgentReply,
    AgentResponseError,
    AgentTimeout,
    AgentTurn,
    AgentUnavailable,
    HistoryItem,
    OpenAICompatibleAgent,
    build_agent,
)
from openclaw_convos.errors import AgentError, ConfigError

from .chat_server import ChatServer, Reply, completion, unused_port

API_KEY = "sk-test-0123456789abcdef"
ALICE = "a" * 64
CONV = "0123456789abcdef0123456789abcdef"

TURN = AgentTurn(
    conversation_id=CONV.upper(),
    sender_inbox_id=ALICE,
    sender_name="Alice",
    text="What is 2+2?",
    message_id="m3",
    history=(
        HistoryItem(role="user", text="Hi", sender_inbox_id=ALICE, sender_name="Alice"),
        HistoryItem(role="assistant", text="Hello!"),
        HistoryItem(role="user", text="  ", sender_inbox_id=ALICE),
    ),
)


@pytest.fixture
async def server() -> AsyncIterator[ChatServer]:
    async with ChatServer() as srv:
        yield srv


def agent_for(server: ChatServer, **kwargs: object) -> OpenAICompatibleAgent:
    options: dict[str, object] = {
        "base_url": server.base_url,
        "model": "test-model",
        "api_key": API_KEY,
        "api_key_env": "TEST_KEY",
        "system_prompt": "You are terse.",
        "timeout_seconds": 5.0,
    }
    options.update(kwargs)
    return OpenAICompatibleAgent(**options)  # type: ignore[arg-type]


async def test_request_shape_and_reply(server: ChatServer) -> None:
    server.replies.append(Reply(body=completion("4")))
    async with agent_for(server, temperature=0.2, max_tokens=50) as agent:
        reply = await agent.respond(TURN)
    assert reply == AgentReply(text="4")
    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("openclaw-convos/")
    assert "x-openclaw-agent-id" not in request.headers
    assert request.json() == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Alice: Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Alice: What is 2+2?"},
        ],
        "stream": False,
        "temperature": 0.2,
        "max_tokens": 50,
    }


async def test_minimal_request_without_key_prompt_or_history(server: ChatServer) -> None:
    turn = AgentTurn(
        conversation_id=CONV,
        sender_inbox_id=ALICE,
        text="hey",
        message_id="m1",
        is_group=False,
        history=TURN.history,
    )
    async with agent_for(server, api_key=None, system_prompt=None, send_history=False) as agent:
        await agent.respond(turn)
    (request,) = server.requests
    assert "authorization" not in request.headers
    assert request.json() == {
        "model": "test-model",
        "messages": [{"role": "user", "content": "hey"}],
        "stream": False,
    }


async def test_reply_and_reaction_context(server: ChatServer) -> None:
    turn = AgentTurn(
        conversation_id=CONV,
        sender_inbox_id=ALICE,
        text="",
        message_id="m9",
        reaction="\U0001f44d",
        reply_to_text="Shall I book it?",
    )
    async with agent_for(server, system_prompt=None) as agent:
        await agent.respond(turn)
        await agent.respond(
            AgentTurn(
                conversation_id=CONV,
                sender_inbox_id=ALICE,
                text="yes",
                message_id="m10",
                reply_to_text="Book it?",
            )
        )
    first, second = (r.json()["messages"][-1]["content"] for r in server.requests)
    assert first == 'aaaaaaaaaaaa: [reacted \U0001f44d to: "Shall I book it?"]'
    assert second == 'aaaaaaaaaaaa: [replying to: "Book it?"]\nyes'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("hello", AgentReply(text="hello")),
        (None, AgentReply()),
        ("   ", AgentReply()),
        (
            [{"type": "text", "text": "part one, "}, {"type": "image_url"}, {"type": "text", "text": "two"}],
            AgentReply(text="part one, two"),
        ),
    ],
)
async def test_content_forms(server: ChatServer, content: object, expected: AgentReply) -> None:
    server.replies.append(Reply(body=completion(content)))
    async with agent_for(server) as agent:
        assert await agent.respond(TURN) == expected


async def test_openclaw_gateway_headers(server: ChatServer) -> None:
    config = AgentConfig(
        kind="openai",
        preset="openclaw",
        base_url=server.base_url,
        model="openclaw:ops",
        api_key_env="OPENCLAW_GATEWAY_TOKEN",
        agent_id="ops",
        send_history=False,
    )
    agent = build_agent(config, environ={"OPENCLAW_GATEWAY_TOKEN": "gw-token"})
    assert agent.name == "openclaw"
    try:
        await agent.respond(TURN)
    finally:
        await agent.aclose()
    (request,) = server.requests
    assert request.headers["authorization"] == "Bearer gw-token"
    assert request.headers["x-openclaw-agent-id"] == "ops"
    assert request.headers["x-openclaw-session-key"] == f"agent:ops:convos:group:{CONV}"
    assert request.json()["model"] == "openclaw:ops"
    assert [m["role"] for m in request.json()["messages"]] == ["user"]  # OpenClaw keeps the session


@pytest.mark.parametrize(
    ("status", "body", "headers", "fragments", "transient"),
    [
        (
            401,
            {
                "error": {
                    "message": f"Incorrect API key provided: {API_KEY}.",
                    "type": "invalid_request_error",
                }
            },
            {},
            [
                "HTTP 401",
                "Incorrect API key provided: <redacted>",
                "check the API key in the environment variable TEST_KEY",
            ],
            False,
        ),
        (
            400,
            {"error": {"message": "Missing user message in `messages`."}},
            {},
            ["HTTP 400", "Missing user message"],
            False,
        ),
        (
            404,
            "no such route",
            {},
            ["HTTP 404", "no such route", "check channels.convos.agent.baseUrl and model"],
            False,
        ),
        (429, {"error": "slow down"}, {"Retry-After": "7"}, ["HTTP 429", "slow down", "rate limited"], True),
        (500, {"message": "boom"}, {}, ["HTTP 500", "boom", "try again later"], True),
        (503, b"", {}, ["HTTP 503"], True),
    ],
)
async def test_error_statuses(
    server: ChatServer,
    status: int,
    body: object,
    headers: dict[str, str],
    fragments: list[str],
    transient: bool,
) -> None:
    server.replies.append(Reply(status=status, body=body, headers=headers))  # type: ignore[arg-type]
    async with agent_for(server) as agent:
        with pytest.raises(AgentHTTPError) as excinfo:
            await agent.respond(TURN)
    error = excinfo.value
    assert isinstance(error, AgentError)
    assert error.status == status
    assert error.transient is transient
    for fragment in fragments:
        assert fragment in str(error)
    assert API_KEY not in str(error)
    if status == 429:
        assert error.retry_after == 7.0


async def test_missing_key_hint(server: ChatServer) -> None:
    server.replies.append(Reply(status=401, body={"error": {"message": "no auth"}}))
    async with agent_for(server, api_key=None) as agent:
        with pytest.raises(
            AgentHTTPError, match="no API key was sent; set the environment variable TEST_KEY"
        ):
            await agent.respond(TURN)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>proxy error</html>", "not JSON"),
        ({"choices": []}, "no choices"),
        ({"object": "error"}, "no choices"),
        ({"choices": [{"index": 0}]}, "without a message"),
        ({"choices": [{"message": {"content": 42}}]}, "content of type int"),
    ],
)
async def test_bad_bodies(server: ChatServer, body: object, message: str) -> None:
    server.replies.append(Reply(body=body))  # type: ignore[arg-type]
    async with agent_for(server) as agent:
        with pytest.raises(AgentResponseError, match=message):
            await agent.respond(TURN)


async def test_timeout(server: ChatServer) -> None:
    server.replies.append(Reply(body=completion("late"), delay=10))
    async with agent_for(server, timeout_seconds=0.3) as agent:
        started = time.monotonic()
        with pytest.raises(AgentTimeout, match=r"did not answer within 0\.3 s") as excinfo:
            await agent.respond(TURN)
    assert time.monotonic() - started < 3
    assert excinfo.value.transient


async def test_connection_refused() -> None:
    agent = OpenAICompatibleAgent(base_url=f"http://127.0.0.1:{unused_port()}/v1", model="m", api_key=API_KEY)
    async with agent:
        with pytest.raises(AgentUnavailable, match="cannot reach the openai backend") as excinfo:
            await agent.respond(TURN)
    assert API_KEY not in str(excinfo.value)


async def test_caller_can_cancel_a_turn(server: ChatServer) -> None:
    server.replies.append(Reply(body=completion("late"), delay=10))
    async with agent_for(server, timeout_seconds=30) as agent:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):  # the gateway's per-turn deadline
                await agent.respond(TURN)


async def test_repr_hides_the_key(server: ChatServer) -> None:
    async with agent_for(server) as agent:
        assert API_KEY not in repr(agent)
        assert "api_key='<redacted>'" in repr(agent)


async def test_shared_client_is_not_closed(server: ChatServer) -> None:
    async with httpx.AsyncClient() as client:
        agent = agent_for(server, client=client)
        await agent.respond(TURN)
        await agent.aclose()
        assert not client.is_closed
    own = agent_for(server)
    await own.aclose()
    assert own._client.is_closed


# -- factory -------------------------------------------------------------------------------------


def openai_config(server: ChatServer, **kwargs: object) -> AgentConfig:
    options: dict[str, object] = {
        "kind": "openai",
        "preset": "openai",
        "base_url": server.base_url,
        "model": "gpt-test",
        "api_key_env": "OPENAI_API_KEY",
        "api_key_required": True,
        "system_prompt": "sys",
    }
    options.update(kwargs)
    return AgentConfig(**options)  # type: ignore[arg-type]


async def test_factory_reads_the_key_from_the_environment(server: ChatServer) -> None:
    agent = build_agent(openai_config(server), environ={"OPENAI_API_KEY": API_KEY})
    try:
        await agent.respond(TURN)
    finally:
        await agent.aclose()
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert server.requests[0].json()["model"] == "gpt-test"


def test_factory_requires_a_required_key(server: ChatServer) -> None:
    with pytest.raises(ConfigError, match="set the environment variable OPENAI_API_KEY"):
        build_agent(openai_config(server), environ={"OPENAI_API_KEY": " "})


async def test_factory_openclaw_key_fallbacks(server: ChatServer) -> None:
    config = openai_config(
        server,
        preset="openclaw",
        api_key_env="OPENCLAW_GATEWAY_TOKEN",
        api_key_required=False,
        fallback_api_key="from-file",
    )
    for environ, expected in [
        ({"OPENCLAW_GATEWAY_TOKEN": "tok"}, "Bearer tok"),
        ({"OPENCLAW_GATEWAY_PASSWORD": "pw"}, "Bearer pw"),
        ({}, "Bearer from-file"),
    ]:
        agent = build_agent(config, environ=environ)
        await agent.respond(TURN)
        await agent.aclose()
        assert server.requests[-1].headers["authorization"] == expected
    agent = build_agent(
        openai_config(server, preset=None, api_key_env=None, api_key_required=False), environ={}
    )
    await agent.respond(TURN)
    await agent.aclose()
    assert "authorization" not in server.requests[-1].headers


async def test_time_zone_and_reaction_guidance_reach_the_model(server: ChatServer) -> None:
    turn = AgentTurn(
        conversation_id=CONV,
        sender_inbox_id=ALICE,
        text="when is lunch?",
        message_id="m11",
        sender_timezone="Europe/Paris",
        reaction_guidance="minimal",
    )
    async with agent_for(server, send_history=False) as agent:
        await agent.respond(turn)
        await agent.respond(
            AgentTurn(conversation_id=CONV, sender_inbox_id=ALICE, text="hi", message_id="m12")
        )
    with_context, without = (r.json()["messages"] for r in server.requests)
    assert with_context[:2] == [
        {"role": "system", "content": "You are terse."},
        {
            "role": "system",
            "content": "The sender's time zone is Europe/Paris. You can react to the message with one emoji "
            "(reply field react); do so sparingly.",
        },
    ]
    assert [m["role"] for m in without] == ["system", "user"]
