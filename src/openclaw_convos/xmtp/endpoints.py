"""Where each XMTP environment lives. Pure data; does not load the native binding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from ..errors import ConfigError

Env = Literal["production", "dev", "local"]

#: v3 node URLs (libxmtp ``crates/xmtp_configuration/src/common/api.rs``).
ENV_URLS: dict[str, str] = {
    "production": "https://grpc.production.xmtp.network:443",
    "dev": "https://grpc.dev.xmtp.network:443",
    "local": "http://localhost:5556",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A v3 node URL, and optionally a d14n gateway host (which makes libxmtp ignore the URL)."""

    url: str
    gateway_host: str | None = None

    @property
    def is_secure(self) -> bool:
        return self.url.startswith("https://")


def resolve_endpoint(env: str, api_url: str | None = None, gateway_host: str | None = None) -> Endpoint:
    """The endpoint for ``env``; ``api_url`` (a local or custom node) overrides the env's URL."""
    if api_url:
        parsed = urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(
                f"apiUrl {api_url!r} is not an http:// or https:// URL (example: http://127.0.0.1:5556)"
            )
        return Endpoint(api_url.rstrip("/"), gateway_host or None)
    try:
        return Endpoint(ENV_URLS[env], gateway_host or None)
    except KeyError:
        raise ConfigError(f"env must be one of production, dev, local (got {env!r})") from None
