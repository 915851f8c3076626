"""A test's OpenClaw state folder: ``<root>/state`` with its ``openclaw.json``, shared by the test worlds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openclaw_convos.gateway.config import LoadedConfig, load_config


class StateFolder:
    """Mixin for a world with a ``root`` folder; ``api_url`` is the node the config points at."""

    root: Path

    def config_api_url(self) -> str | None:
        """The ``apiUrl`` written into the config (None: env ``local`` = localhost:5556)."""
        return None

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "openclaw.json"

    @property
    def environ(self) -> dict[str, str]:
        return {"OPENCLAW_STATE_DIR": str(self.state_dir), "OPENCLAW_CONFIG_PATH": str(self.config_path)}

    def write_config(self, **convos: Any) -> None:
        """Set keys of ``channels.convos`` (env ``local``, plus ``apiUrl`` when the world has one)."""
        data: dict[str, Any] = {}
        if self.config_path.exists():
            data = json.loads(self.config_path.read_text())
        section = data.setdefault("channels", {}).setdefault("convos", {})
        section["env"] = "local"
        url = self.config_api_url()
        if url is not None:
            section["apiUrl"] = url
        section.update(convos)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(data, indent=2))

    def config(self) -> dict[str, Any]:
        """``channels.convos`` as written in the file."""
        return json.loads(self.config_path.read_text())["channels"]["convos"]  # type: ignore[no-any-return]

    def load(self) -> LoadedConfig:
        return load_config(environ=self.environ, home=self.root)
