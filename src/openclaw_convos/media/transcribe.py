"""Audio transcription through an OpenAI-compatible ``POST <baseUrl>/audio/transcriptions``."""

from __future__ import annotations

import httpx

from .. import APP_VERSION
from .errors import MediaError
from .types import MediaFile

__all__ = ["Transcriber", "TranscriptionFailed"]


class TranscriptionFailed(MediaError):
    """The transcription endpoint failed or answered without text."""


class Transcriber:
    """Multipart ``file`` + ``model``; reads ``text`` from the JSON answer. The key is a secret."""

    def __init__(self, *, base_url: str, model: str, api_key: str | None, timeout: float = 60.0) -> None:
        self._url = f"{base_url.rstrip('/')}/audio/transcriptions"
        self._model = model
        self._api_key = api_key
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), headers={"User-Agent": APP_VERSION})

    def __repr__(self) -> str:
        return f"Transcriber(url={self._url!r}, model={self._model!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def transcribe(self, file: MediaFile) -> str:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await self._client.post(
                self._url,
                headers=headers,
                data={"model": self._model, "response_format": "json"},
                files={"file": (file.filename, file.content, file.mime_type)},
            )
        except httpx.HTTPError as exc:
            raise TranscriptionFailed(f"cannot reach {self._url}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise TranscriptionFailed(f"{self._url} answered HTTP {response.status_code}")
        try:
            text = response.json()["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TranscriptionFailed(f"{self._url} answered without a text field") from exc
        if not isinstance(text, str):
            raise TranscriptionFailed(f"{self._url} answered with a text that is not a string")
        return text.strip()
