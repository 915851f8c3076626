"""``channels.convos.media``: limits, the upload provider, and audio transcription.

The upload provider is chosen by the config or, for each key the config leaves out, by the same
environment variables convos-cli reads, so one setup serves both::

    media (all keys optional)
      maxBytes                 largest attachment downloaded or sent; default 26214400 (25 MB)
      downloadTimeoutSeconds   whole download (connect + body); default 30
      provider                 "s3" | "convos-api" | "pinata"      env CONVOS_UPLOAD_PROVIDER
                               (none: attachments can be received but not sent; with only
                               CONVOS_API_KEY set, "convos-api", as convos-cli does)
      tokenEnv                 variable holding the provider token; default
                               CONVOS_UPLOAD_PROVIDER_TOKEN (s3: <accessKeyId>:<secretAccessKey>,
                               pinata: the JWT)
      apiKeyEnv                convos-api: variable holding the key; default CONVOS_API_KEY
      apiBaseUrl               convos-api: default from env      env CONVOS_API_BASE_URL
      bucket                   s3 bucket                          env CONVOS_S3_BUCKET
      region                   s3 region, default us-east-1       env CONVOS_S3_REGION
      endpoint                 s3 endpoint (path-style), default https://s3.<region>.amazonaws.com
                                                                  env CONVOS_S3_ENDPOINT
      publicUrl                public URL prefix of uploaded objects (s3 default
                               https://<bucket>.s3.<region>.amazonaws.com, pinata default
                               https://gateway.pinata.cloud)     env CONVOS_UPLOAD_PROVIDER_GATEWAY
      mediaDirs                folders whose files an agent may send by path (``MEDIA:/path``);
                               default none (only URLs and returned bytes)
      transcription            {"baseUrl": ".../v1", "model": "whisper-1", "apiKeyEnv": "..."}:
                               an OpenAI-compatible /audio/transcriptions endpoint for voice notes

Secrets are never config values: only names of environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import urlparse

from ..errors import ConfigError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "PROVIDERS",
    "MediaConfig",
    "Provider",
    "TranscriptionConfig",
    "UploadSettings",
    "parse_media_config",
    "resolve_upload_settings",
]

Provider = Literal["s3", "convos-api", "pinata"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
DEFAULT_MAX_BYTES = 25 * 1024 * 1024

_CONVOS_API_BASE_URLS = {
    "dev": "https://api.dev.convos.xyz/api",
    "production": "https://api.prod.convos.xyz/api",
    "local": "http://localhost:4000/api",
}
_KEYS = frozenset(
    {
        "maxBytes",
        "downloadTimeoutSeconds",
        "provider",
        "tokenEnv",
        "apiKeyEnv",
        "apiBaseUrl",
        "bucket",
        "region",
        "endpoint",
        "publicUrl",
        "transcription",
        "mediaDirs",
    }
)
_TRANSCRIPTION_KEYS = frozenset({"baseUrl", "model", "apiKeyEnv"})


@dataclass(frozen=True, slots=True)
class TranscriptionConfig:
    base_url: str
    model: str = "whisper-1"
    api_key_env: str | None = None


@dataclass(frozen=True, slots=True)
class MediaConfig:
    """The parsed ``media`` section (no secrets; environment variables are read later)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    download_timeout_seconds: float = 30.0
    provider: Provider | None = None
    token_env: str = "CONVOS_UPLOAD_PROVIDER_TOKEN"  # noqa: S105 - a variable name
    api_key_env: str = "CONVOS_API_KEY"
    api_base_url: str | None = None
    bucket: str | None = None
    region: str | None = None
    endpoint: str | None = None
    public_url: str | None = None
    transcription: TranscriptionConfig | None = None
    media_dirs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
class UploadSettings:
    """A resolved provider with its credentials (a secret: ``repr`` hides it)."""

    provider: Provider
    token: str = field(repr=False)
    bucket: str | None = None
    region: str = "us-east-1"
    endpoint: str | None = None
    public_url: str | None = None
    api_base_url: str | None = None

    def __repr__(self) -> str:
        return (
            f"UploadSettings(provider={self.provider!r}, bucket={self.bucket!r}, region={self.region!r}, "
            f"endpoint={self.endpoint!r}, public_url={self.public_url!r}, token='<redacted>')"
        )


def _url(value: object, key: str) -> str:
    if (
        not isinstance(value, str)
        or urlparse(value).scheme not in ("http", "https")
        or not urlparse(value).netloc
    ):
        raise ConfigError(f"{key} must be an http(s) URL")
    return value.rstrip("/")


def _name(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string")
    return value.strip()


def parse_media_config(value: object, key: str) -> MediaConfig:
    """Validate ``channels.convos.media``; raises :class:`ConfigError` naming the key."""
    if value is None:
        return MediaConfig()
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]} is not a known key (known keys: {', '.join(sorted(_KEYS))})")
    out: dict[str, Any] = {}
    if "maxBytes" in value:
        v = value["maxBytes"]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1024 * 1024 * 1024:
            raise ConfigError(f"{key}.maxBytes must be an integer from 1 to 1073741824")
        out["max_bytes"] = v
    if "downloadTimeoutSeconds" in value:
        v = value["downloadTimeoutSeconds"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 3600:
            raise ConfigError(f"{key}.downloadTimeoutSeconds must be a number above 0, at most 3600")
        out["download_timeout_seconds"] = float(v)
    if value.get("provider") is not None:
        if value["provider"] not in PROVIDERS:
            raise ConfigError(f"{key}.provider must be one of {', '.join(PROVIDERS)}")
        out["provider"] = value["provider"]
    for name, attr in (
        ("tokenEnv", "token_env"),
        ("apiKeyEnv", "api_key_env"),
        ("bucket", "bucket"),
        ("region", "region"),
    ):
        if value.get(name) is not None:
            out[attr] = _name(value[name], f"{key}.{name}")
    for name, attr in (("apiBaseUrl", "api_base_url"), ("endpoint", "endpoint"), ("publicUrl", "public_url")):
        if value.get(name) is not None:
            out[attr] = _url(value[name], f"{key}.{name}")
    dirs = value.get("mediaDirs")
    if dirs is not None:
        if not isinstance(dirs, list) or not all(isinstance(d, str) and d.strip() for d in dirs):
            raise ConfigError(f"{key}.mediaDirs must be a list of folder paths")
        out["media_dirs"] = tuple(d.strip() for d in dirs)
    t = value.get("transcription")
    if t is not None:
        tkey = f"{key}.transcription"
        if not isinstance(t, dict):
            raise ConfigError(f"{tkey} must be an object")
        bad = sorted(set(t) - _TRANSCRIPTION_KEYS)
        if bad:
            raise ConfigError(f"{tkey}.{bad[0]} is not a known key (known keys: baseUrl, model, apiKeyEnv)")
        if "baseUrl" not in t:
            raise ConfigError(f"{tkey}.baseUrl is required")
        out["transcription"] = TranscriptionConfig(
            base_url=_url(t["baseUrl"], f"{tkey}.baseUrl"),
            model=_name(t.get("model", "whisper-1"), f"{tkey}.model"),
            api_key_env=_name(t["apiKeyEnv"], f"{tkey}.apiKeyEnv") if t.get("apiKeyEnv") else None,
        )
    return MediaConfig(**out)


def resolve_upload_settings(
    media: MediaConfig, environ: Mapping[str, str], env: str
) -> UploadSettings | None:
    """The upload provider from the config, then convos-cli's environment variables; None when
    none is configured. Raises :class:`ConfigError` when one is chosen but incomplete."""

    def get(name: str) -> str | None:
        return environ.get(name, "").strip() or None

    provider = media.provider or get("CONVOS_UPLOAD_PROVIDER")
    api_key = get(media.api_key_env)
    if provider is None and api_key:
        provider = "convos-api"
    if provider is None:
        return None
    if provider not in PROVIDERS:
        raise ConfigError(f"CONVOS_UPLOAD_PROVIDER must be one of {', '.join(PROVIDERS)} (got {provider!r})")
    token = get(media.token_env)
    public_url = media.public_url or get("CONVOS_UPLOAD_PROVIDER_GATEWAY")
    if provider == "s3":
        if not token or ":" not in token or not all(token.split(":", 1)):
            raise ConfigError(
                f"the s3 upload provider needs {media.token_env}=<accessKeyId>:<secretAccessKey>"
            )
        bucket = media.bucket or get("CONVOS_S3_BUCKET")
        if not bucket:
            raise ConfigError(
                "the s3 upload provider needs a bucket: channels.convos.media.bucket or CONVOS_S3_BUCKET"
            )
        region = media.region or get("CONVOS_S3_REGION") or "us-east-1"
        endpoint = (
            media.endpoint or get("CONVOS_S3_ENDPOINT") or f"https://s3.{region}.amazonaws.com"
        ).rstrip("/")
        return UploadSettings(
            provider="s3",
            token=token,
            bucket=bucket,
            region=region,
            endpoint=endpoint,
            public_url=(public_url or f"https://{bucket}.s3.{region}.amazonaws.com").rstrip("/"),
        )
    if provider == "pinata":
        if not token:
            raise ConfigError(f"the pinata upload provider needs its JWT in {media.token_env}")
        return UploadSettings(
            provider="pinata",
            token=token,
            public_url=(public_url or "https://gateway.pinata.cloud").rstrip("/"),
        )
    key = api_key or token
    if not key:
        raise ConfigError(f"the convos-api upload provider needs {media.api_key_env} (or {media.token_env})")
    base = (
        media.api_base_url
        or get("CONVOS_API_BASE_URL")
        or _CONVOS_API_BASE_URLS.get(env, _CONVOS_API_BASE_URLS["dev"])
    )
    return UploadSettings(provider="convos-api", token=key, api_base_url=base.rstrip("/"))
