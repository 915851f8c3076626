"""The standalone gateway never writes a channels.convos that the installed OpenClaw would reject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw_convos.errors import ConfigError
from openclaw_convos.gateway.config import update_convos_config
from openclaw_convos.gateway.openclaw_host import check_config_file, detect_openclaw

STAMPED = {"meta": {"lastTouchedVersion": "2026.9.6"}, "gateway": {"mode": "local"}}


def _plugin(folder: Path, plugin_id: str = "convos") -> Path:
    folder.mkdir(parents=True)
    (folder / "openclaw.plugin.json").write_text(json.dumps({"id": plugin_id}))
    return folder


def test_no_openclaw_no_objection(tmp_path: Path) -> None:
    assert not detect_openclaw(tmp_path, {"channels": {}}).present
    update_convos_config(tmp_path / "openclaw.json", {"enabled": True})
    assert json.loads((tmp_path / "openclaw.json").read_text())["channels"]["convos"] == {"enabled": True}


@pytest.mark.parametrize("stamp", ["meta", "database"])
def test_openclaw_without_the_plugin_is_left_valid_and_told_how(tmp_path: Path, stamp: str) -> None:
    config = tmp_path / "openclaw.json"
    if stamp == "meta":
        config.write_text(json.dumps(STAMPED))
    else:
        config.write_text("{}")
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "openclaw.sqlite").write_bytes(b"")
    before = config.read_text()
    with pytest.raises(ConfigError, match=r"openclaw plugins install .*extensions/convos"):
        update_convos_config(config, {"enabled": True})
    with pytest.raises(ConfigError, match="--state-dir"):
        check_config_file(tmp_path, config)
    assert config.read_text() == before


def test_an_old_openclaw_that_passes_channels_through(tmp_path: Path) -> None:
    config = tmp_path / "openclaw.json"
    config.write_text(json.dumps({"meta": {"lastTouchedVersion": "2026.2.1"}}))
    assert not detect_openclaw(tmp_path, json.loads(config.read_text())).validates_channels
    update_convos_config(config, {"enabled": True})


def test_openclaw_with_the_plugin_installed_or_linked(tmp_path: Path) -> None:
    config = tmp_path / "openclaw.json"
    config.write_text(json.dumps(STAMPED))
    _plugin(tmp_path / "extensions" / "other", "other")
    assert not detect_openclaw(tmp_path, STAMPED).plugin_installed
    linked = _plugin(tmp_path / "checkout" / "extensions" / "convos")
    with_link = {**STAMPED, "plugins": {"load": {"paths": [str(linked)]}}}
    assert detect_openclaw(tmp_path, with_link).plugin_installed
    _plugin(tmp_path / "extensions" / "convos")
    update_convos_config(config, {"enabled": True})
    data = json.loads(config.read_text())
    assert data["channels"]["convos"] == {"enabled": True} and data["meta"] == STAMPED["meta"]
