"""Upload providers: where the encrypted payload of an outbound attachment is stored.

Each takes the *encrypted* payload (never the file) and returns the public URL to put into the
remote attachment message. The shapes follow convos-cli (``src/utils/upload.ts``):

- ``s3``: a path-style ``PUT <endpoint>/<bucket>/<key>`` signed with AWS Signature V4 (by
  botocore's signer, not ours); the URL is ``<publicUrl>/<key>``. Any S3-compatible store.
- ``convos-api``: ``GET <base>/v2/agents/assets/presigned`` with ``X-Agent-API-Key``, then a
  ``PUT`` of the payload (``application/octet-stream``) to ``uploadUrl``; the URL is ``assetUrl``.
- ``pinata``: ``POST https://api.pinata.cloud/pinning/pinFileToIPFS`` (multipart, Bearer JWT);
  the URL is ``<gateway>/ipfs/<IpfsHash>``.

Object keys are random (the payload is encrypted; its name would only leak metadata).
Credentials go into request headers only; they are never logged.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .config import UploadSettings
from .errors import UploadFailed

__all__ = ["ConvosApiUploader", "PinataUploader", "S3Uploader", "Uploader", "build_uploader"]

log = logging.getLogger(__name__)

_OCTET = "application/octet-stream"
_DETAIL = 200
PINATA_API_URL = "https://api.pinata.cloud/pinning/pinFileToIPFS"


class Uploader(Protocol):
    name: str

    async def upload(self, payload: bytes) -> str:
        """Store ``payload``; return its public URL. Raises :class:`UploadFailed`."""
        ...


def _detail(response: httpx.Response) -> str:
    return " ".join(response.text.split())[:_DETAIL]


async def _send(client: httpx.AsyncClient, what: str, request: httpx.Request) -> httpx.Response:
    try:
        response = await client.send(request)
    except httpx.HTTPError as exc:
        raise UploadFailed(f"{what}: {type(exc).__name__}; is the store reachable?") from exc
    if response.status_code >= 300:
        raise UploadFailed(f"{what}: HTTP {response.status_code}: {_detail(response)}")
    return response


def _random_key() -> str:
    return secrets.token_hex(16)


class S3Uploader:
    name = "s3"

    def __init__(self, settings: UploadSettings, client: httpx.AsyncClient) -> None:
        assert settings.bucket and settings.endpoint and settings.public_url
        access_key, secret_key = settings.token.split(":", 1)
        self._credentials = Credentials(access_key, secret_key)
        self._settings = settings
        self._client = client

    def __repr__(self) -> str:
        return f"S3Uploader(endpoint={self._settings.endpoint!r}, bucket={self._settings.bucket!r})"

    async def upload(self, payload: bytes) -> str:
        s = self._settings
        key = _random_key()
        url = f"{s.endpoint}/{s.bucket}/{key}"
        signed = AWSRequest(method="PUT", url=url, data=payload, headers={"Content-Type": _OCTET})
        S3SigV4Auth(self._credentials, "s3", s.region).add_auth(signed)
        request = self._client.build_request(
            "PUT", url, content=payload, headers=dict(signed.headers.items())
        )
        await _send(self._client, f"S3 upload to {s.endpoint} bucket {s.bucket} failed", request)
        log.debug("uploaded %d bytes to s3 bucket %s", len(payload), s.bucket)
        return f"{s.public_url}/{key}"


class ConvosApiUploader:
    name = "convos-api"

    def __init__(self, settings: UploadSettings, client: httpx.AsyncClient) -> None:
        assert settings.api_base_url
        self._settings = settings
        self._client = client

    def __repr__(self) -> str:
        return f"ConvosApiUploader(base_url={self._settings.api_base_url!r})"

    async def upload(self, payload: bytes) -> str:
        base = self._settings.api_base_url
        what = f"Convos API presigned upload ({base})"
        request = self._client.build_request(
            "GET", f"{base}/v2/agents/assets/presigned", headers={"X-Agent-API-Key": self._settings.token}
        )
        response = await _send(self._client, f"{what}: presigned URL request failed", request)
        try:
            data = response.json()
            upload_url, asset_url = data["uploadUrl"], data["assetUrl"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UploadFailed(f"{what}: the presigned answer lacks uploadUrl/assetUrl") from exc
        if not isinstance(upload_url, str) or not isinstance(asset_url, str):
            raise UploadFailed(f"{what}: uploadUrl and assetUrl must be strings")
        put = self._client.build_request("PUT", upload_url, content=payload, headers={"Content-Type": _OCTET})
        await _send(self._client, f"{what}: upload to the presigned URL failed", put)
        return asset_url


class PinataUploader:
    name = "pinata"

    def __init__(
        self, settings: UploadSettings, client: httpx.AsyncClient, *, api_url: str = PINATA_API_URL
    ) -> None:
        assert settings.public_url
        self._settings = settings
        self._client = client
        self._api_url = api_url

    def __repr__(self) -> str:
        return f"PinataUploader(gateway={self._settings.public_url!r})"

    async def upload(self, payload: bytes) -> str:
        request = self._client.build_request(
            "POST",
            self._api_url,
            headers={"Authorization": f"Bearer {self._settings.token}"},
            files={"file": (_random_key(), payload, _OCTET)},
        )
        response = await _send(self._client, "Pinata upload failed", request)
        try:
            cid = response.json()["IpfsHash"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UploadFailed("Pinata upload: the answer lacks IpfsHash") from exc
        if not isinstance(cid, str) or not cid.isalnum():
            raise UploadFailed("Pinata upload: IpfsHash is not a content id")
        return f"{self._settings.public_url}/ipfs/{cid}"


def build_uploader(settings: UploadSettings, client: httpx.AsyncClient) -> Uploader:
    """The uploader for ``settings``; ``client`` is used as is (the caller closes it)."""
    if settings.provider == "s3":
        return S3Uploader(settings, client)
    if settings.provider == "convos-api":
        return ConvosApiUploader(settings, client)
    return PinataUploader(settings, client)
