"""Reading, validating and writing ``channels.convos``."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import json5
import pytest

from openclaw_convos.errors import ConfigError
from openclaw_convos.gateway.config import (
    REMOVE,
    ConvosConfig,
    load_config,
    parse_convos_config,
    read_dotenv,
    substitute_env,
    update_convos_config,
)
from openclaw_convos.gateway.groups import ConversationKind, GroupEntry
from openclaw_convos.xmtp.endpoints import Endpoint

KEY = "0x" + "ab" * 32
INBOX = "c0" * 32
CONV = "0123456789abcdef0123456789abcdef"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str | None, **env: str) -> ConvosConfig:
    state = tmp_path / "state"
    if text is not None:
        write(state / "openclaw.json", text)
    environ = {"OPENCLAW_STATE_DIR": str(state), **env}
    return load_config(environ=environ, home=tmp_path, cwd=tmp_path).convos


def parse(section: dict[str, Any], **env: str) -> ConvosConfig:
    return parse_convos_config(section, environ=env)


# -- reading -------------------------------------------------------------------------------------


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    loaded = load_config(environ={"OPENCLAW_STATE_DIR": str(tmp_path / "none")}, cwd=tmp_path)
    assert not loaded.exists
    assert loaded.convos == ConvosConfig()
    config = loaded.convos
    assert config.enabled is True
    assert config.env == "production"
    assert config.dm_policy == "pairing"
    assert config.debug is False
    assert config.private_key is None and config.owner_conversation_id is None
    assert config.text_chunk_limit == 4000
    assert config.agent.kind == "echo"


def test_seed_example_in_json5(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        f"""
        // written by hand
        {{
          channels: {{
            convos: {{
              enabled: true,
              privateKey: "{KEY.upper().replace("0X", "0x")}",
              env: "dev",
              ownerConversationId: "{CONV.upper()}",
              dmPolicy: "allowlist",
              debug: true,   /* verbose */
            }},
          }},
        }}
        """,
    )
    assert config.enabled is True
    assert config.private_key == KEY
    assert config.env == "dev"
    assert config.owner_conversation_id == CONV
    assert config.dm_policy == "allowlist"
    assert config.debug is True


@pytest.mark.parametrize("policy", ["pairing", "allowlist", "open", "disabled"])
def test_every_dm_policy(policy: str) -> None:
    assert parse({"dmPolicy": policy, "allowFrom": ["*"]}).dm_policy == policy


def test_private_key_without_prefix_and_disabled_channel() -> None:
    config = parse({"enabled": False, "privateKey": "AB" * 32})
    assert config.enabled is False
    assert config.private_key == KEY


def test_config_path_env_override(tmp_path: Path) -> None:
    custom = write(tmp_path / "elsewhere" / "my.json5", '{channels: {convos: {env: "local"}}}')
    write(tmp_path / "state" / "openclaw.json", '{channels: {convos: {env: "dev"}}}')
    loaded = load_config(
        environ={"OPENCLAW_STATE_DIR": str(tmp_path / "state"), "OPENCLAW_CONFIG_PATH": str(custom)},
        cwd=tmp_path,
    )
    assert loaded.convos.env == "local"
    assert loaded.paths.config_path == custom
    assert loaded.paths.credentials_dir == tmp_path / "state" / "credentials"


def test_default_home_location(tmp_path: Path) -> None:
    write(tmp_path / ".openclaw" / "openclaw.json", '{"channels": {"convos": {"debug": true}}}')
    loaded = load_config(environ={}, home=tmp_path, cwd=tmp_path)
    assert loaded.exists
    assert loaded.paths.state_dir == tmp_path / ".openclaw"
    assert loaded.convos.debug is True


def test_endpoints() -> None:
    assert parse({}).endpoint() == Endpoint("https://grpc.production.xmtp.network:443")
    assert parse({"env": "dev"}).endpoint() == Endpoint("https://grpc.dev.xmtp.network:443")
    assert parse({"env": "local"}).endpoint() == Endpoint("http://localhost:5556")
    custom = parse({"env": "dev", "apiUrl": "http://127.0.0.1:6000/"})
    assert custom.api_url == "http://127.0.0.1:6000"
    assert custom.endpoint() == Endpoint("http://127.0.0.1:6000")
    assert not custom.endpoint().is_secure


def test_allow_from_is_normalised() -> None:
    config = parse({"allowFrom": ["convos:" + INBOX.upper(), INBOX, "*", " " + "d1" * 32 + " "]})
    assert config.allow_from == (INBOX, "*", "d1" * 32)


def test_groups_list_and_map_forms() -> None:
    assert dict(parse({"groups": [CONV.upper(), "*"]}).groups) == {CONV: GroupEntry(), "*": GroupEntry()}
    config = parse(
        {
            "groupPolicy": "allowlist",
            "groupAllowFrom": [INBOX],
            "groups": {CONV: {"requireMention": True, "allowFrom": ["*"]}, "*": {}, "b" * 32: None},
        }
    )
    assert dict(config.groups) == {
        CONV: GroupEntry(require_mention=True, allow_from=("*",)),
        "*": GroupEntry(),
        "b" * 32: GroupEntry(),
    }
    assert config.group_rules.policy == "allowlist"
    assert config.group_rules.group_allow_from == (INBOX,)
    assert config.group_rules.require_mention(CONV, ConversationKind.GROUP) is True
    assert config.group_rules.sender_list(CONV) == ("*",)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("markdown", {"tables": "bullets"}, "replies are sent as the agent wrote them"),
        ("poolApiKey", "pool-secret", "serves no HTTP routes"),
        ("accounts", {"default": {}}, "one gateway serves the one channels.convos account"),
        ("capabilities", ["x"], "does not act on"),
        ("configWrites", True, "does not act on"),
        ("dms", {}, "dmPolicy and allowFrom govern DMs"),
        ("blockStreaming", True, "does not act on"),
        ("blockStreamingCoalesce", {}, "does not act on"),
        ("actions", {"reactions": True}, "reactionLevel decides about reactions"),
        ("heartbeat", {"every": "1h"}, "does not act on"),
    ],
)
def test_upstream_keys_we_do_not_act_on_are_refused(
    tmp_path: Path, key: str, value: object, reason: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^channels\.convos\.{key} .*{re.escape(reason)}.*remove it"):
        parse({key: value})
    with pytest.raises(ConfigError, match=re.escape(reason)):
        update_convos_config(tmp_path / "openclaw.json", {key: value})


def test_all_acted_on_upstream_keys_are_accepted() -> None:
    config = parse(
        {
            "name": "Bot",
            "identityId": "abc123",
            "groupPolicy": "allowlist",
            "groupAllowFrom": [INBOX],
            "historyLimit": 20,
            "dmHistoryLimit": 0,
            "textChunkLimit": 100,
            "chunkMode": "newline",
            "reactionLevel": "ack",
            "systemPrompt": "Be brief.",
        }
    )
    assert config.name == "Bot"
    assert config.identity_id == "abc123"
    assert config.group_policy == "allowlist"
    assert config.group_allow_from == (INBOX,)
    assert (config.history_limit, config.dm_history_limit) == (20, 0)
    assert config.chunk_mode == "newline"
    assert config.reaction_level == "ack"
    assert config.read_receipts is True and parse({"readReceipts": False}).read_receipts is False
    assert config.agent.system_prompt == "Be brief."  # the channel prompt is the agent's default


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"dmPolicy": "friends"},
            "channels.convos.dmPolicy must be one of pairing, allowlist, open, disabled",
        ),
        ({"env": "staging"}, "channels.convos.env must be one of production, dev, local"),
        ({"enabled": "yes"}, "channels.convos.enabled must be true or false"),
        ({"debug": 1}, "channels.convos.debug must be true or false"),
        ({"enabled": None}, "channels.convos.enabled must be true or false (got null)"),
        ({"privateKey": "0x1234"}, "channels.convos.privateKey must be 64 hex characters"),
        ({"privateKey": 5}, "channels.convos.privateKey must be 64 hex characters"),
        ({"ownerConversationId": "abc"}, "channels.convos.ownerConversationId must be a conversation ID"),
        ({"allowFrom": "x"}, "channels.convos.allowFrom must be an array"),
        ({"allowFrom": [INBOX, "bob"]}, "channels.convos.allowFrom[1] must be an XMTP inbox ID"),
        ({"allowFrom": ["0x" + "1" * 40]}, "channels.convos.allowFrom[0] is an Ethereum address"),
        ({"allowFrom": [True]}, "channels.convos.allowFrom[0] must be a string"),
        ({"apiUrl": "localhost:5556"}, "channels.convos.apiUrl must be an http:// or https:// URL"),
        ({"textChunkLimit": 99}, "channels.convos.textChunkLimit must be at least 100"),
        ({"textChunkLimit": "4000"}, "channels.convos.textChunkLimit must be an integer"),
        ({"textChunkLimit": True}, "channels.convos.textChunkLimit must be an integer"),
        ({"chunkMode": "words"}, "channels.convos.chunkMode must be one of length, newline"),
        ({"historyLimit": -1}, "channels.convos.historyLimit must be at least 0"),
        ({"groups": ["nope"]}, "channels.convos.groups[0] must be a conversation ID"),
        (
            {"groups": {CONV: {"mention": True}}},
            f"channels.convos.groups.{CONV}.mention is not a known key (known: requireMention, allowFrom)",
        ),
        (
            {"groups": {CONV: {"allowFrom": ["bob"]}}},
            f"channels.convos.groups.{CONV}.allowFrom[0] must be an XMTP",
        ),
        (
            {"groups": {"*": {"requireMention": "yes"}}},
            "channels.convos.groups.*.requireMention must be true or false",
        ),
        ({"groupPolicy": "closed"}, "channels.convos.groupPolicy must be one of open, disabled, allowlist"),
        (
            {"reactionLevel": "lots"},
            "channels.convos.reactionLevel must be one of off, ack, minimal, extensive",
        ),
        ({"readReceipts": "yes"}, "channels.convos.readReceipts must be true or false"),
        ({"groups": "x"}, "channels.convos.groups must be an array"),
        ({"dmpolicy": "open"}, "channels.convos.dmpolicy is not a known key; did you mean dmPolicy?"),
        ({"agent": "openai"}, "channels.convos.agent must be an object"),
        ({"agent": {"kind": "gpt"}}, "channels.convos.agent.kind must be one of echo, openai, command"),
        ({"agent": {"modle": "x"}}, "channels.convos.agent.modle is not a known key; did you mean model?"),
        ({"agent": {"kind": "openai"}}, "channels.convos.agent.model is required"),
        (
            {"agent": {"preset": "ollama"}},
            "channels.convos.agent.model is required for this backend (for example",
        ),
        (
            {"agent": {"preset": "anthropic"}},
            "channels.convos.agent.preset must be one of openai, ollama, openclaw",
        ),
        ({"agent": {"kind": "echo", "model": "x"}}, "channels.convos.agent.model is only used when"),
        (
            {"agent": {"kind": "openai", "model": "m", "command": "x"}},
            "channels.convos.agent.command is only",
        ),
        ({"agent": {"command": []}}, "channels.convos.agent.command must name a program"),
        ({"agent": {"command": "a 'b"}}, "channels.convos.agent.command cannot be split"),
        (
            {"agent": {"command": [1]}},
            "channels.convos.agent.command must be a string or an array of strings",
        ),
        ({"agent": {"timeoutSeconds": 0}}, "channels.convos.agent.timeoutSeconds must be greater than 0"),
        ({"agent": {"model": "m", "temperature": 3}}, "channels.convos.agent.temperature must be at least 0"),
        ({"agent": {"model": "m", "maxTokens": 0}}, "channels.convos.agent.maxTokens must be at least 1"),
        ({"agent": {"model": "m", "agentId": "x"}}, "channels.convos.agent.agentId is only used with"),
        ({"agent": {"preset": "openclaw", "agentId": "Bad Id"}}, "channels.convos.agent.agentId must be"),
        (
            {"agent": {"model": "m", "baseUrl": "api.example"}},
            "channels.convos.agent.baseUrl must be an http",
        ),
    ],
)
def test_validation_errors_name_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse(section)
    assert message in str(excinfo.value)


def test_secret_values_are_not_echoed_in_errors() -> None:
    secret = "deadbeef" * 5
    with pytest.raises(ConfigError) as excinfo:
        parse({"privateKey": secret})
    assert secret not in str(excinfo.value)
    with pytest.raises(ConfigError) as excinfo:
        parse({"agent": {"model": "m", "apiKeyEnv": "sk-proj-abcdef123456"}})
    assert "sk-proj" not in str(excinfo.value)
    assert "name of an environment variable" in str(excinfo.value)


def test_bad_top_level_shapes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid JSON5"):
        load(tmp_path, "{channels: ")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        load(tmp_path, "[]")
    with pytest.raises(ConfigError, match="channels must be an object"):
        load(tmp_path, '{"channels": []}')
    with pytest.raises(ConfigError, match=r"channels\.convos must be an object"):
        load(tmp_path, '{"channels": {"convos": true}}')


def test_repr_redacts_secrets(tmp_path: Path) -> None:
    section = {"privateKey": KEY, "agent": {"preset": "openclaw"}}
    write(
        tmp_path / "s" / "openclaw.json",
        json.dumps({"channels": {"convos": section}, "gateway": {"auth": {"token": "gw-token-123"}}}),
    )
    loaded = load_config(
        environ={"OPENCLAW_STATE_DIR": str(tmp_path / "s"), "OTHER": "env-secret"}, cwd=tmp_path
    )
    assert loaded.convos.agent.fallback_api_key == "gw-token-123"
    text = repr(loaded)
    for secret in (KEY, KEY[2:], "gw-token-123", "env-secret"):
        assert secret not in text
    assert "private_key='<redacted>'" in text
    assert "private_key=None" in repr(ConvosConfig())


# -- environment substitution ---------------------------------------------------------------------


def test_substitution_rules() -> None:
    env = {"A": "x", "B_2": "y", "lower": "no", "EMPTY": ""}
    assert substitute_env("${A}/${B_2}-${A}", env, "k") == "x/y-x"
    assert substitute_env("$${A} ${A}", env, "k") == "${A} x"
    assert substitute_env("${lower} $A ${1X}", env, "k") == "${lower} $A ${1X}"
    assert substitute_env({"l": ["${A}", 3, None, True]}, env, "k") == {"l": ["x", 3, None, True]}
    assert substitute_env("${A}", {"A": "$${B}"}, "k") == "$${B}"  # values are not re-processed
    with pytest.raises(ConfigError, match=r"k\.l\[1\] uses \$\{MISSING\}"):
        substitute_env({"l": ["ok", "${MISSING}"]}, env, "k")
    with pytest.raises(ConfigError, match="EMPTY is not set or empty"):
        substitute_env("${EMPTY}", env, "k")


def test_substitution_in_the_convos_section(tmp_path: Path) -> None:
    text = json.dumps(
        {"channels": {"convos": {"env": "${XMTP_ENV}", "privateKey": "${CONVOS_KEY}", "name": "$${LITERAL}"}}}
    )
    config = load(tmp_path, text, XMTP_ENV="dev", CONVOS_KEY=KEY)
    assert config.env == "dev"
    assert config.private_key == KEY
    assert config.name == "${LITERAL}"
    with pytest.raises(ConfigError, match=r"channels\.convos\.privateKey uses \$\{CONVOS_KEY\}"):
        load(tmp_path, text, XMTP_ENV="dev")


def test_unrelated_sections_are_not_substituted(tmp_path: Path) -> None:
    text = json.dumps({"models": {"providers": {"x": {"apiKey": "${NOT_SET_ANYWHERE}"}}}, "channels": {}})
    assert load(tmp_path, text) == ConvosConfig()


def test_dotenv_files_and_env_block_fill_only_missing_variables(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write(tmp_path / ".env", "FROM_CWD=cwd\nSHARED=cwd\n")
    write(state / ".env", "# comment\nexport FROM_STATE='state'\nSHARED=state\nPROCESS=state\n")
    write(
        state / "openclaw.json",
        json.dumps(
            {
                "env": {"INLINE": "inline", "vars": {"FROM_VARS": "vars", "SHARED": "vars"}, "shellEnv": {}},
                "channels": {
                    "convos": {
                        "systemPrompt": "${FROM_CWD} ${FROM_STATE} ${SHARED} ${PROCESS} ${INLINE} ${FROM_VARS}"
                    }
                },
            }
        ),
    )
    loaded = load_config(environ={"OPENCLAW_STATE_DIR": str(state), "PROCESS": "process"}, cwd=tmp_path)
    assert loaded.convos.system_prompt == "cwd state cwd process inline vars"
    assert loaded.environ["FROM_VARS"] == "vars"


def test_read_dotenv(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".env",
        "A=1\n  export B = two words  # note\nC=\"quoted # not a comment\\nline\"\nD='single'\nbad line\n=x\n",
    )
    assert read_dotenv(path) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment\nline",
        "D": "single",
    }
    assert read_dotenv(tmp_path / "missing") == {}


# -- includes ------------------------------------------------------------------------------------


def test_include_merges_files(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write(state / "channels.json5", f'{{convos: {{env: "dev", allowFrom: ["{INBOX}"], debug: true}}}}')
    write(state / "more.json5", f'{{convos: {{allowFrom: ["{"d1" * 32}"]}}}}')
    text = '{channels: {$include: ["./channels.json5", "./more.json5"], convos: {debug: false}}}'
    config = load(tmp_path, text)
    assert config.env == "dev"
    assert config.allow_from == (INBOX, "d1" * 32)  # arrays concatenate
    assert config.debug is False  # sibling keys win


def test_include_nested_and_whole_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write(state / "parts" / "a.json5", '{$include: "./b.json5"}')
    write(state / "parts" / "b.json5", '{channels: {convos: {env: "local"}}}')
    assert load(tmp_path, '{$include: "./parts/a.json5"}').env == "local"


def test_include_errors(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write(tmp_path / "outside.json5", "{}")
    with pytest.raises(ConfigError, match="outside the config folder"):
        load(tmp_path, '{$include: "../outside.json5"}')
    write(state / "loop.json5", '{$include: "./openclaw.json"}')
    with pytest.raises(ConfigError, match="circular"):
        load(tmp_path, '{$include: "./loop.json5"}')
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path, '{$include: "./missing.json5"}')
    with pytest.raises(ConfigError, match="must be a path or an array"):
        load(tmp_path, "{$include: 3}")
    write(state / "list.json5", "[1]")
    with pytest.raises(ConfigError, match="sibling keys must include an object"):
        load(tmp_path, '{$include: "./list.json5", channels: {}}')


def test_include_depth_limit(tmp_path: Path) -> None:
    state = tmp_path / "state"
    for i in range(12):
        write(state / f"f{i}.json5", f'{{$include: "./f{i + 1}.json5"}}')
    write(state / "f12.json5", "{}")
    with pytest.raises(ConfigError, match="more than 10 levels"):
        load(tmp_path, '{$include: "./f0.json5"}')


# -- agent settings ------------------------------------------------------------------------------


def test_agent_defaults_and_inference() -> None:
    assert parse({}).agent.kind == "echo"
    assert parse({"agent": {}}).agent.kind == "echo"
    assert parse({"agent": {"command": "./bot --fast"}}).agent.command == ("./bot", "--fast")
    assert parse({"agent": {"command": ["a b", "c"]}}).agent.command == ("a b", "c")
    openai = parse({"agent": {"model": "gpt-4o-mini", "systemPrompt": "Hi", "timeoutSeconds": 12.5}}).agent
    assert openai.kind == "openai"
    assert openai.preset == "openai"
    assert openai.base_url == "https://api.openai.com/v1"
    assert openai.api_key_env == "OPENAI_API_KEY" and openai.api_key_required
    assert openai.system_prompt == "Hi"
    assert openai.timeout_seconds == 12.5
    assert openai.send_history


def test_agent_presets() -> None:
    ollama = parse({"agent": {"preset": "ollama", "model": "llama3.2"}}).agent
    assert ollama.base_url == "http://localhost:11434/v1"
    assert ollama.api_key_env is None and not ollama.api_key_required
    custom = parse({"agent": {"baseUrl": "https://llm.example/v1/", "model": "m"}}).agent
    assert custom.preset is None and custom.base_url == "https://llm.example/v1"
    assert custom.api_key_env is None
    named = parse(
        {"agent": {"baseUrl": "https://llm.example/v1", "model": "m", "apiKeyEnv": "LLM_KEY"}}
    ).agent
    assert named.api_key_env == "LLM_KEY" and named.api_key_required


def test_openclaw_preset_uses_the_gateway_section() -> None:
    gateway = {"port": 19999, "auth": {"mode": "token", "token": "${GW_TOKEN}"}}
    agent = parse_convos_config(
        {"agent": {"preset": "openclaw", "agentId": "Ops"}}, environ={"GW_TOKEN": "tok"}, gateway=gateway
    ).agent
    assert agent.base_url == "http://127.0.0.1:19999/v1"
    assert agent.model == "openclaw:ops"
    assert agent.agent_id == "ops"
    assert agent.api_key_env == "OPENCLAW_GATEWAY_TOKEN" and not agent.api_key_required
    assert agent.fallback_api_key == "tok"
    assert agent.send_history is False
    password = parse_convos_config(
        {"agent": {"preset": "openclaw"}},
        environ={},
        gateway={"auth": {"mode": "password", "password": "pw"}},
    ).agent
    assert password.base_url == "http://127.0.0.1:18789/v1"
    assert password.fallback_api_key == "pw"
    unresolved = parse_convos_config(
        {"agent": {"preset": "openclaw"}}, environ={}, gateway={"auth": {"token": "${UNSET}"}}
    ).agent
    assert unresolved.fallback_api_key is None


# -- writing -------------------------------------------------------------------------------------

ORIGINAL = """// my config
{
  meta: {lastTouchedVersion: "2026.2.1"},
  gateway: {port: 18789, auth: {token: "${OPENCLAW_GATEWAY_TOKEN}"}},
  agents: {list: [{id: "main", default: true}]},
  $include: "./extra.json5",
  channels: {
    telegram: {botToken: "123:abc", allowFrom: [1, "@me"]},
    convos: {enabled: true, env: "dev", dmPolicy: "pairing", futureKey: {keep: [1, 2]}},
  },
  numbers: {hex: 0x10, big: 12345678901234567890, float: 1.5},
}
"""


def test_update_keeps_every_other_key(tmp_path: Path) -> None:
    path = write(tmp_path / "openclaw.json", ORIGINAL)
    path.chmod(0o640)
    update_convos_config(path, {"ownerConversationId": CONV, "dmPolicy": "allowlist", "env": REMOVE})
    data = json.loads(path.read_text())  # now plain JSON
    before = json5.loads(ORIGINAL)
    before["channels"]["convos"].update({"ownerConversationId": CONV, "dmPolicy": "allowlist"})
    del before["channels"]["convos"]["env"]
    assert data == before
    assert list(data) == list(before)  # key order kept
    assert list(data["channels"]["convos"]) == ["enabled", "dmPolicy", "futureKey", "ownerConversationId"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    backup = tmp_path / "openclaw.json.bak"
    assert backup.read_text() == ORIGINAL
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openclaw.json", "openclaw.json.bak"]


def test_update_creates_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "new-state" / "openclaw.json"
    update_convos_config(path, {"enabled": True, "privateKey": KEY})
    assert json.loads(path.read_text()) == {"channels": {"convos": {"enabled": True, "privateKey": KEY}}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "new-state" / "openclaw.json.bak").exists()


def test_update_then_load_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "state"
    update_convos_config(
        state / "openclaw.json", {"env": "local", "allowFrom": [INBOX], "agent": {"command": "x"}}
    )
    config = load(tmp_path, None)
    assert (config.env, config.allow_from, config.agent.command) == ("local", (INBOX,), ("x",))


def test_update_rejects_bad_values_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = write(tmp_path / "openclaw.json", ORIGINAL)
    for changes, message in [
        ({"dmPolicy": "everyone"}, "channels.convos.dmPolicy must be one of"),
        ({"dmpolicy": "open"}, "did you mean dmPolicy"),
        ({"agent": {"kind": "openai"}}, "channels.convos.agent.model is required"),
        ({"enabled": object()}, "cannot be written as JSON"),
        ({"enabled": None}, "must be true or false"),
    ]:
        with pytest.raises(ConfigError, match=message):
            update_convos_config(path, changes)
    assert path.read_text() == ORIGINAL
    assert not (tmp_path / "openclaw.json.bak").exists()


def test_update_accepts_env_references(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    update_convos_config(path, {"env": "${XMTP_ENV}", "groups": {"*": {"requireMention": True}}})
    assert json.loads(path.read_text())["channels"]["convos"] == {
        "env": "${XMTP_ENV}",
        "groups": {"*": {"requireMention": True}},
    }


def test_update_refuses_non_object_sections(tmp_path: Path) -> None:
    path = write(tmp_path / "openclaw.json", '{"channels": {"convos": []}}')
    with pytest.raises(ConfigError, match=r"channels\.convos in .* must be an object"):
        update_convos_config(path, {"enabled": True})
    write(path, '{"channels": 1}')
    with pytest.raises(ConfigError, match=r"channels in .* must be an object"):
        update_convos_config(path, {"enabled": True})
    write(path, "{bad")
    with pytest.raises(ConfigError, match="not valid JSON5"):
        update_convos_config(path, {"enabled": True})


def test_update_writes_through_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path / "real" / "openclaw.json", "{}")
    link = tmp_path / "openclaw.json"
    link.symlink_to(real)
    update_convos_config(link, {"debug": True})
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {"channels": {"convos": {"debug": True}}}


def test_noop_update_does_not_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    update_convos_config(path, {"debug": True})
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    update_convos_config(path, {"debug": True})
    assert path.stat().st_mtime_ns == before - 10**9
    assert not (tmp_path / "openclaw.json.bak").exists()


def test_reading_config_does_not_load_the_native_binding() -> None:
    import subprocess
    import sys

    code = (
        "import sys, openclaw_convos.gateway.config, openclaw_convos.gateway.pairing, "
        "openclaw_convos.agents; print(any(m.startswith('xmtp_bindings') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
