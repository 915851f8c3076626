"""The bridge protocol's codec, and the plugin manifest against the engine's config keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw_convos.agents import AgentTurn
from openclaw_convos.bridge.engine import account_paths, loaded_for
from openclaw_convos.bridge.protocol import (
    BridgeProtocolError,
    ReactCommand,
    SendCommand,
    StartCommand,
    TurnDoneCommand,
    TypingCommand,
    parse_command,
    turn_event,
)
from openclaw_convos.errors import ConfigError
from openclaw_convos.gateway.config import _KNOWN_KEYS, PLUGIN_KEYS
from openclaw_convos.gateway.paths import resolve_state_paths

MANIFEST = Path(__file__).resolve().parents[2] / "extensions" / "convos" / "openclaw.plugin.json"


def test_commands_parse_into_typed_values() -> None:
    assert parse_command('{"type":"start","protocol":1,"config":{"env":"dev"}}') == StartCommand(
        1, "default", {"env": "dev"}
    )
    assert parse_command('{"type":"turn.done","turnId":"t1","text":null}') == TurnDoneCommand("t1")
    assert parse_command('{"type":"turn.done","turnId":"t1","text":"hi","react":"👍"}') == TurnDoneCommand(
        "t1", "hi", "👍"
    )
    assert parse_command('{"type":"send","id":"r1","conversationId":"c","text":"x","replyTo":"m"}') == (
        SendCommand("c", "x", "m", "r1")
    )
    assert parse_command(
        '{"type":"react","conversationId":"c","messageId":"m","emoji":"👍","action":"remove"}'
    ) == ReactCommand("c", "m", "👍", True)
    assert parse_command('{"type":"typing","conversationId":"c","active":false}') == TypingCommand("c", False)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("not json", "not a JSON line"),
        ("[1]", "JSON object"),
        ('{"type":"nope"}', "unknown command type"),
        ('{"type":"start","protocol":2}', "not supported"),
        ('{"type":"start","protocol":true}', "integer"),
        ('{"type":"send","conversationId":"c","text":"  "}', "text must be"),
        ('{"type":"send","text":"x"}', "conversationId is required"),
        ('{"type":"react","conversationId":"c","messageId":"m","emoji":"x","action":"wave"}', "action"),
        ('{"type":"typing","conversationId":"c","active":"yes"}', "true or false"),
        ('{"type":"turn.done","turnId":"t","text":5}', "string or null"),
    ],
)
def test_bad_commands_are_refused_with_the_field(line: str, says: str) -> None:
    with pytest.raises(BridgeProtocolError, match=says):
        parse_command(line)


def test_turn_event_carries_sender_id_and_name_apart() -> None:
    turn = AgentTurn(
        conversation_id="c" * 32, sender_inbox_id="a" * 64, sender_name="Alice", text="hi", message_id="m1"
    )
    event = json.loads(turn_event("t1", turn, is_owner=True))
    assert event == {
        "event": "turn", "turnId": "t1", "conversationId": "c" * 32, "messageId": "m1",
        "senderInboxId": "a" * 64, "senderName": "Alice", "isOwner": True, "isGroup": True, "text": "hi",
    }  # fmt: skip


def test_the_manifest_schema_lists_exactly_the_keys_the_engine_reads() -> None:
    """`openclaw config validate` uses the manifest: a key it accepts must not stop the engine,
    and every engine key must pass OpenClaw's validation (root and accounts.<id> alike)."""
    schema = json.loads(MANIFEST.read_text())["channelConfigs"]["convos"]["schema"]
    root = set(schema["properties"])
    assert root == set(_KNOWN_KEYS) | set(PLUGIN_KEYS) | {"accounts"}
    account = schema["properties"]["accounts"]["additionalProperties"]
    assert set(account["properties"]) == root - {"accounts"}
    assert schema["additionalProperties"] is False and account["additionalProperties"] is False


def test_engine_config_comes_from_the_start_command(tmp_path: Path) -> None:
    environ = {"OPENCLAW_STATE_DIR": str(tmp_path)}
    start = StartCommand(1, "work", {"env": "dev", "name": "Bot", "engineCommand": ["x"], "accounts": {}})
    loaded = loaded_for(start, environ)
    assert loaded.convos.env == "dev" and loaded.convos.name == "Bot"
    assert loaded.paths.state_dir == tmp_path / "convos" / "accounts" / "work"
    base = resolve_state_paths(environ)
    assert account_paths(base, "default") == base
    with pytest.raises(ConfigError, match="cannot name a folder"):
        account_paths(base, "../x")
    with pytest.raises(ConfigError, match="poolApiKey"):
        loaded_for(StartCommand(1, "default", {"poolApiKey": "k"}), environ)
