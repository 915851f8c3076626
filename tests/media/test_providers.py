"""Upload providers: s3 against a real S3 server on loopback; the HTTP shapes of convos-api and pinata."""

from __future__ import annotations

import json

import httpx
import pytest

from openclaw_convos.errors import ConfigError
from openclaw_convos.media import MediaConfig, UploadFailed, parse_media_config, resolve_upload_settings
from openclaw_convos.media.config import UploadSettings
from openclaw_convos.media.localstore import LocalObjectStore
from openclaw_convos.media.upload import ConvosApiUploader, PinataUploader, S3Uploader, build_uploader

from ..agents.chat_server import ChatServer, Reply


async def test_s3_upload_is_signed_and_publicly_readable(object_store: LocalObjectStore) -> None:
    settings = resolve_upload_settings(MediaConfig(), object_store.environ(), "local")
    assert settings is not None and settings.provider == "s3"
    async with httpx.AsyncClient(trust_env=False) as client:
        uploader = build_uploader(settings, client)
        assert isinstance(uploader, S3Uploader)
        url = await uploader.upload(b"\x00encrypted bytes\xff" * 100)
        assert url.startswith(object_store.public_url + "/")
        got = await client.get(url)
        assert got.status_code == 200 and got.content == b"\x00encrypted bytes\xff" * 100
    assert len(object_store.objects()) == 1


async def test_s3_wrong_secret_is_refused_by_the_server(object_store: LocalObjectStore) -> None:
    env = object_store.environ() | {"CONVOS_UPLOAD_PROVIDER_TOKEN": f"{object_store.access_key}:wrong"}
    settings = resolve_upload_settings(MediaConfig(), env, "local")
    assert settings is not None
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(UploadFailed, match="HTTP 403"):
            await build_uploader(settings, client).upload(b"x")
    assert object_store.objects() == []


async def test_convos_api_presigned_flow() -> None:
    async with ChatServer() as api:
        base = f"http://127.0.0.1:{api.port}/api"
        api.replies = [
            Reply(
                body={
                    "objectKey": "k1",
                    "uploadUrl": f"http://127.0.0.1:{api.port}/upload/k1?sig=abc",
                    "assetUrl": "https://assets.example.test/k1",
                }
            ),
            Reply(body=""),
        ]
        settings = UploadSettings(provider="convos-api", token="agent-key-123", api_base_url=base)
        async with httpx.AsyncClient(trust_env=False) as client:
            uploader = build_uploader(settings, client)
            assert isinstance(uploader, ConvosApiUploader)
            assert await uploader.upload(b"payload") == "https://assets.example.test/k1"
    presign, put = api.requests
    assert (presign.method, presign.path) == ("GET", "/api/v2/agents/assets/presigned")
    assert presign.headers["x-agent-api-key"] == "agent-key-123"
    assert (put.method, put.path, put.body) == ("PUT", "/upload/k1?sig=abc", b"payload")
    assert put.headers["content-type"] == "application/octet-stream"


async def test_pinata_upload_shape_and_errors() -> None:
    async with ChatServer() as api:
        api.replies = [Reply(body={"IpfsHash": "bafy123", "PinSize": 7}), Reply(status=401, body="bad jwt")]
        settings = UploadSettings(provider="pinata", token="jwt-1", public_url="https://gw.example.test")
        async with httpx.AsyncClient(trust_env=False) as client:
            uploader = PinataUploader(
                settings, client, api_url=f"http://127.0.0.1:{api.port}/pinning/pinFileToIPFS"
            )
            assert await uploader.upload(b"payload") == "https://gw.example.test/ipfs/bafy123"
            with pytest.raises(UploadFailed, match="HTTP 401"):
                await uploader.upload(b"payload")
    req = api.requests[0]
    assert req.headers["authorization"] == "Bearer jwt-1"
    assert req.headers["content-type"].startswith("multipart/form-data")
    assert b"payload" in req.body


def test_settings_from_convos_cli_variables_and_config() -> None:
    env = {
        "CONVOS_UPLOAD_PROVIDER": "s3",
        "CONVOS_UPLOAD_PROVIDER_TOKEN": "AKID:se:cret",
        "CONVOS_S3_BUCKET": "b",
    }
    s = resolve_upload_settings(MediaConfig(), env, "production")
    assert s is not None
    assert (s.endpoint, s.public_url, s.region) == (
        "https://s3.us-east-1.amazonaws.com",
        "https://b.s3.us-east-1.amazonaws.com",
        "us-east-1",
    )
    assert "se:cret" not in repr(s)
    # config keys win over the variables
    cfg = parse_media_config({"bucket": "other", "endpoint": "https://r2.example.test/"}, "m")
    s2 = resolve_upload_settings(cfg, env, "production")
    assert s2 is not None and (s2.bucket, s2.endpoint) == ("other", "https://r2.example.test")
    # convos-api chosen by the key alone, as convos-cli does
    s3 = resolve_upload_settings(MediaConfig(), {"CONVOS_API_KEY": "k"}, "dev")
    assert (
        s3 is not None and s3.provider == "convos-api" and s3.api_base_url == "https://api.dev.convos.xyz/api"
    )
    assert resolve_upload_settings(MediaConfig(), {}, "dev") is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONVOS_UPLOAD_PROVIDER": "s3", "CONVOS_S3_BUCKET": "b"}, "accessKeyId"),
        ({"CONVOS_UPLOAD_PROVIDER": "s3", "CONVOS_UPLOAD_PROVIDER_TOKEN": "a:b"}, "bucket"),
        ({"CONVOS_UPLOAD_PROVIDER": "pinata"}, "JWT"),
        ({"CONVOS_UPLOAD_PROVIDER": "ftp"}, "must be one of"),
    ],
)
def test_incomplete_provider_settings_name_what_is_missing(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_upload_settings(MediaConfig(), env, "dev")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"maxBytes": 0}, "maxBytes"),
        ({"provider": "ftp"}, "provider"),
        ({"endpoint": "s3.example"}, "endpoint"),
        ({"bucket ": "x"}, "not a known key"),
        ({"transcription": {"model": "w"}}, "baseUrl is required"),
        ({"mediaDirs": "x"}, "mediaDirs"),
    ],
)
def test_media_config_validation(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_media_config(value, "channels.convos.media")


def test_media_config_values() -> None:
    cfg = parse_media_config(
        {
            "maxBytes": 1000,
            "downloadTimeoutSeconds": 5,
            "transcription": {"baseUrl": "http://127.0.0.1:1/v1"},
        },
        "m",
    )
    assert cfg.max_bytes == 1000 and cfg.download_timeout_seconds == 5.0
    assert cfg.transcription is not None and cfg.transcription.model == "whisper-1"
    json.dumps({"ok": True})
