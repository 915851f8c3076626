"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, OpenClaw's own gateway, ...).

``POST <baseUrl>/chat/completions`` with ``{"model", "messages", "stream": false}``; the messages
are the system prompt, the turn's history (unless disabled) and the turn itself. Replies are
read from ``choices[0].message.content``.

For OpenClaw's gateway (``openclaw`` preset) each request also names the OpenClaw agent
(``x-openclaw-agent-id``) and a session key per Convos conversation
(``x-openclaw-session-key: agent:<agentId>:convos:group:<conversationId>``), so each
conversation keeps its own OpenClaw session. Note that OpenClaw runs such requests with owner
privileges: the gateway applies ``dmPolicy`` before anything reaches this backend.

Attachments: images of the turn go to the model as ``image_url`` parts with a base64 data URL,
in the same user message as the text (``vision`` false: described instead); other files are
described by name, type and size (audio by its transcript when transcription is configured).
A reply line ``MEDIA:<path or URL>`` (OpenClaw's convention) is taken out of the text and sent
as a file; the gateway resolves it (URLs downloaded safely, paths only inside ``mediaDirs``).

The whole request is bounded by ``timeout_seconds``. The API key goes only into the
``Authorization`` header; it is never logged, never in ``repr``, and scrubbed from error texts.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .. import APP_VERSION
from ..media.types import MediaRef
from .base import AgentBase, AgentReply, AgentTurn, render_context, render_history_text, render_turn_text
from .errors import AgentHTTPError, AgentResponseError, AgentTimeout, AgentUnavailable

__all__ = ["OpenAICompatibleAgent"]

log = logging.getLogger(__name__)

_DETAIL_LIMIT = 300
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,})")
_MEDIA_LINE = re.compile(r"^[ \t]*MEDIA:[ \t]*(\S[^\r\n]*?)[ \t]*$", re.MULTILINE)
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Larger images are described instead (OpenAI's limit per image)."""


def split_media_lines(text: str) -> tuple[str, tuple[MediaRef, ...]]:
    """OpenClaw's ``MEDIA:<path or URL>`` lines out of a reply: (the rest of the text, the refs)."""
    refs = tuple(MediaRef(m.group(1).strip("`\"'<>")) for m in _MEDIA_LINE.finditer(text))
    if not refs:
        return text, ()
    rest = _MEDIA_LINE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", rest).strip(), refs


class OpenAICompatibleAgent(AgentBase):
    """A Chat Completions client for one model; ``name`` is the preset (or ``"openai"``)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        system_prompt: str | None = None,
        timeout_seconds: float = 60.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        send_history: bool = True,
        openclaw_agent_id: str | None = None,
        name: str = "openai",
        client: httpx.AsyncClient | None = None,
        vision: bool = True,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self.name = name
        self._base_url = base_url.rstrip("/")
        self._url = f"{self._base_url}/chat/completions"
        self._model = model
        self._api_key = api_key or None
        self._api_key_env = api_key_env
        self._system_prompt = system_prompt
        self._timeout = timeout_seconds
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._send_history = send_history
        self._openclaw_agent_id = openclaw_agent_id
        self._vision = vision
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds), headers={"User-Agent": APP_VERSION}
        )

    def __repr__(self) -> str:
        key = "'<redacted>'" if self._api_key else "None"
        return (
            f"OpenAICompatibleAgent(name={self.name!r}, base_url={self._base_url!r}, "
            f"model={self._model!r}, api_key={key})"
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -- request ------------------------------------------------------------------------------

    def build_messages(self, turn: AgentTurn) -> list[dict[str, Any]]:
        """System prompt, then history (oldest first), then the turn (with its image parts)."""
        messages: list[dict[str, Any]] = []
        if self._system_prompt:
            messages.append({"role": "system", "content": self._system_prompt})
        context = render_context(turn)
        if context:
            messages.append({"role": "system", "content": context})
        if self._send_history:
            for item in turn.history:
                if item.text.strip():
                    content = render_history_text(item, is_group=turn.is_group)
                    messages.append({"role": item.role, "content": content})
        images = [
            f
            for f in turn.attachments
            if self._vision
            and f.content
            and not f.note
            and f.mime_type in _IMAGE_TYPES
            and f.size <= _MAX_IMAGE_BYTES
        ]
        text = render_turn_text(turn, images_included=bool(images))
        if not images:
            messages.append({"role": "user", "content": text})
            return messages
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for image in images:
            data = base64.b64encode(image.content).decode("ascii")
            parts.append({"type": "image_url", "image_url": {"url": f"data:{image.mime_type};base64,{data}"}})
        messages.append({"role": "user", "content": parts})
        return messages

    def build_request(self, turn: AgentTurn) -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON body and the extra headers for ``turn``."""
        body: dict[str, Any] = {"model": self._model, "messages": self.build_messages(turn), "stream": False}
        if self._temperature is not None:
            body["temperature"] = self._temperature
        if self._max_tokens is not None:
            body["max_tokens"] = self._max_tokens
        headers: dict[str, str] = {}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if self._openclaw_agent_id:
            agent = self._openclaw_agent_id
            headers["x-openclaw-agent-id"] = agent
            headers["x-openclaw-session-key"] = f"agent:{agent}:convos:group:{turn.conversation_id}".lower()
        return body, headers

    async def respond(self, turn: AgentTurn) -> AgentReply:
        body, headers = self.build_request(turn)
        log.debug(
            "%s: POST %s model=%s (%d messages)", self.name, self._url, self._model, len(body["messages"])
        )
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(self._url, json=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise AgentTimeout(
                f"{self.name} backend at {self._base_url} did not answer within {self._timeout:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise AgentUnavailable(
                f"cannot reach the {self.name} backend at {self._base_url} ({type(exc).__name__}: "
                f"{self._scrub(str(exc))}); is it running, and is baseUrl right?"
            ) from exc
        if response.status_code >= 400:
            raise self._http_error(response)
        return self._parse(response)

    # -- response -----------------------------------------------------------------------------

    def _parse(self, response: httpx.Response) -> AgentReply:
        try:
            data = response.json()
        except ValueError as exc:
            raise AgentResponseError(
                f"{self.name} backend returned a body that is not JSON "
                f"(HTTP {response.status_code}, {response.headers.get('content-type', 'no content-type')})"
            ) from exc
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise AgentResponseError(f"{self.name} backend returned no choices")
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise AgentResponseError(f"{self.name} backend returned a choice without a message")
        content = message.get("content")
        if content is None:
            return AgentReply()
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
            content = "".join(
                part["text"]
                for part in content
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            )
        if not isinstance(content, str):
            raise AgentResponseError(
                f"{self.name} backend returned message content of type {type(content).__name__}"
            )
        text, refs = split_media_lines(content)
        return AgentReply(text=text if text.strip() else None, attachments=refs)

    def _http_error(self, response: httpx.Response) -> AgentHTTPError:
        status = response.status_code
        detail = self._error_detail(response)
        message = f"{self.name} backend: HTTP {status} from {self._url}"
        if detail:
            message += f": {detail}"
        hint = self._hint(status)
        if hint:
            message += f" ({hint})"
        retry_after = _parse_retry_after(response.headers.get("retry-after"))
        return AgentHTTPError(message, status=status, retry_after=retry_after)

    def _hint(self, status: int) -> str | None:
        if status in (401, 403):
            where = f"the environment variable {self._api_key_env}" if self._api_key_env else "apiKeyEnv"
            return f"check the API key in {where}" if self._api_key else f"no API key was sent; set {where}"
        if status == 404:
            return "check channels.convos.agent.baseUrl and model"
        if status == 429:
            return "rate limited; try again later"
        if status >= 500:
            return "the backend failed; try again later"
        return None

    def _error_detail(self, response: httpx.Response) -> str:
        detail: object = None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict):
                detail = error.get("message")
            elif isinstance(error, str):
                detail = error
            if detail is None and isinstance(data.get("message"), str):
                detail = data["message"]
        if detail is None:
            detail = response.text
        text = " ".join(str(detail).split())
        return self._scrub(text)[:_DETAIL_LIMIT]

    def _scrub(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "<redacted>")
        return _KEYLIKE.sub("<redacted>", text)


def _parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds, or an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None  # neither: callers fall back to their own backoff
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if seconds >= 0 else None
