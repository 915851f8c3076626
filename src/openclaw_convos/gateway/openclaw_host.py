"""Is the real OpenClaw using this state folder, and does it have our Convos plugin?

From 2026.7 OpenClaw validates ``channels.<id>`` against the installed channel plugins: without
``extensions/convos`` installed, a ``channels.convos`` section makes it refuse its whole config
(``config validate`` fails, ``gateway run`` exits 78). So the standalone gateway writes
``channels.convos`` only where that is safe: no OpenClaw on the state folder, or OpenClaw with
the plugin. Otherwise :func:`check_convos_section_allowed` raises a :class:`ConfigError` that
says how to install the plugin. Only files are read here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["OpenClawHost", "check_config_file", "check_convos_section_allowed", "detect_openclaw"]

PLUGIN_ID = "convos"
PASSTHROUGH_BEFORE = (2026, 3)
"""OpenClaw versions before this passed ``channels.*`` through unvalidated (2026.2 did); later
ones (2026.7.35 and 2026.9.6 were tried) validate each channel against its installed plugin."""
INSTALL_HINT = (
    "openclaw plugins install <openclaw-convos checkout>/extensions/convos --force --accept-capabilities"
)


@dataclass(frozen=True, slots=True)
class OpenClawHost:
    """What the state folder says about OpenClaw."""

    present: bool
    version: str | None
    plugin_installed: bool

    @property
    def validates_channels(self) -> bool:
        """True unless the stamped version is one that passed ``channels.*`` through."""
        parts = (self.version or "").split(".")
        try:
            return (int(parts[0]), int(parts[1])) >= PASSTHROUGH_BEFORE
        except (ValueError, IndexError):
            return True


def _plugin_dir_is_ours(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "openclaw.plugin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("id") == PLUGIN_ID


def detect_openclaw(state_dir: Path, config: Mapping[str, Any]) -> OpenClawHost:
    """OpenClaw is present when it stamped the config (``meta.lastTouchedVersion``) or keeps its
    database in the state folder; the plugin is installed in ``<state>/extensions/convos`` or
    linked through ``plugins.load.paths``."""
    meta = config.get("meta")
    version = meta.get("lastTouchedVersion") if isinstance(meta, dict) else None
    present = isinstance(version, str) or (state_dir / "state" / "openclaw.sqlite").exists()
    installed = _plugin_dir_is_ours(state_dir / "extensions" / PLUGIN_ID)
    plugins = config.get("plugins")
    load = plugins.get("load") if isinstance(plugins, dict) else None
    paths = load.get("paths") if isinstance(load, dict) else None
    if not installed and isinstance(paths, list):
        installed = any(isinstance(p, str) and _plugin_dir_is_ours(Path(p).expanduser()) for p in paths)
    return OpenClawHost(present, version if isinstance(version, str) else None, installed)


def check_convos_section_allowed(state_dir: Path, config: Mapping[str, Any]) -> None:
    """Raise unless writing ``channels.convos`` keeps OpenClaw's config valid."""
    host = detect_openclaw(state_dir, config)
    if host.present and host.validates_channels and not host.plugin_installed:
        version = f" {host.version}" if host.version else ""
        raise ConfigError(
            f"OpenClaw{version} uses {state_dir} and, without its Convos plugin, refuses a config "
            f"with channels.convos (its whole config would stop validating). Install the plugin "
            f"(`{INSTALL_HINT}`, then `openclaw channels add convos --invite-url <link>`), or give "
            "this gateway its own state folder (--state-dir DIR)"
        )


def check_config_file(state_dir: Path, config_path: Path) -> None:
    """:func:`check_convos_section_allowed` for the file at ``config_path`` (missing: allowed).

    Commands that will write ``channels.convos`` call this first, before any network work."""
    import json5

    try:
        raw = json5.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {config_path}: {exc}") from exc
    check_convos_section_allowed(state_dir, raw if isinstance(raw, dict) else {})
