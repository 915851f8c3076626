"""State dir, config path and credentials dir resolution, as OpenClaw resolves them."""

from __future__ import annotations

from pathlib import Path

from openclaw_convos.gateway.paths import (
    StatePaths,
    channel_file_key,
    resolve_config_path,
    resolve_state_dir,
    resolve_state_paths,
)


def test_state_dir_env_override_wins(tmp_path: Path) -> None:
    (tmp_path / ".openclaw").mkdir()
    assert resolve_state_dir({"OPENCLAW_STATE_DIR": "/srv/oc"}, home=tmp_path) == Path("/srv/oc")
    assert resolve_state_dir({"CLAWDBOT_STATE_DIR": "/srv/legacy"}, home=tmp_path) == Path("/srv/legacy")
    both = {"OPENCLAW_STATE_DIR": "/a", "CLAWDBOT_STATE_DIR": "/b"}
    assert resolve_state_dir(both, home=tmp_path) == Path("/a")


def test_state_dir_expands_tilde() -> None:
    assert resolve_state_dir({"OPENCLAW_STATE_DIR": "~/x"}) == Path.home() / "x"


def test_state_dir_default_and_legacy_fallbacks(tmp_path: Path) -> None:
    assert resolve_state_dir({}, home=tmp_path) == tmp_path / ".openclaw"  # nothing exists
    (tmp_path / ".moltbot").mkdir()
    assert resolve_state_dir({}, home=tmp_path) == tmp_path / ".moltbot"
    (tmp_path / ".clawdbot").mkdir()
    assert resolve_state_dir({}, home=tmp_path) == tmp_path / ".clawdbot"
    (tmp_path / ".openclaw").mkdir()
    assert resolve_state_dir({}, home=tmp_path) == tmp_path / ".openclaw"
    assert resolve_state_dir({"OPENCLAW_STATE_DIR": "  "}, home=tmp_path) == tmp_path / ".openclaw"


def test_config_path_resolution(tmp_path: Path) -> None:
    assert resolve_config_path({}, state_dir=tmp_path) == tmp_path / "openclaw.json"
    (tmp_path / "clawdbot.json").write_text("{}")
    assert resolve_config_path({}, state_dir=tmp_path) == tmp_path / "clawdbot.json"
    (tmp_path / "openclaw.json").write_text("{}")
    assert resolve_config_path({}, state_dir=tmp_path) == tmp_path / "openclaw.json"
    env = {"OPENCLAW_CONFIG_PATH": "/etc/oc.json5", "CLAWDBOT_CONFIG_PATH": "/etc/old.json"}
    assert resolve_config_path(env, state_dir=tmp_path) == Path("/etc/oc.json5")
    assert resolve_config_path({"CLAWDBOT_CONFIG_PATH": "/etc/old.json"}, state_dir=tmp_path) == Path(
        "/etc/old.json"
    )


def test_state_paths_layout(tmp_path: Path) -> None:
    paths = resolve_state_paths({"OPENCLAW_STATE_DIR": str(tmp_path)})
    assert paths == StatePaths(tmp_path, tmp_path / "openclaw.json", tmp_path / "credentials")
    assert paths.pairing_path() == tmp_path / "credentials" / "convos-pairing.json"
    assert paths.allow_from_path() == tmp_path / "credentials" / "convos-allowFrom.json"
    assert paths.upstream_identity_path == tmp_path / "credentials" / "convos-identity.json"
    assert paths.identities_dir("dev") == tmp_path / "credentials" / "convos-identities" / "dev"
    assert paths.store_path == tmp_path / "convos" / "gateway.sqlite3"
    assert paths.xmtp_db_dir("local") == tmp_path / "convos" / "xmtp" / "local"
    assert paths.env_file == tmp_path / ".env"
    key = "0xABCDEF12" + "0" * 56
    assert paths.legacy_sdk_db_path("production", key) == (
        tmp_path / "convos" / "xmtp" / "production" / "default" / "abcdef12" / "xmtp.db"
    )


def test_credentials_dir_override_and_explicit_config(tmp_path: Path) -> None:
    env = {"OPENCLAW_STATE_DIR": str(tmp_path), "OPENCLAW_OAUTH_DIR": str(tmp_path / "secrets")}
    paths = resolve_state_paths(env, config_path=tmp_path / "custom.json5")
    assert paths.credentials_dir == tmp_path / "secrets"
    assert paths.config_path == tmp_path / "custom.json5"
    assert paths.pairing_path() == tmp_path / "secrets" / "convos-pairing.json"


def test_channel_file_key() -> None:
    assert channel_file_key("Convos") == "convos"
    assert channel_file_key('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"
    assert channel_file_key("../x") == "__x"
