"""The media service: opens inbound attachments for a turn and sends files out.

Inbound (:meth:`MediaService.receive`): each item of an attachment message becomes a
:class:`MediaFile`. Remote items are downloaded by :class:`SafeDownloader`, checked against
their digest and decrypted; any failure becomes a one-line log entry and a short ``note`` on
the file for the agent, never an exception. Audio is transcribed when transcription is set up.

Outbound (:meth:`MediaService.encode_outbound`): a file is encrypted with fresh keys, uploaded
by the configured provider, and returned as the encoded ``remoteStaticAttachment`` content to
send, one message per file.

The caller decides *whether* to call ``receive``: the gateway calls it only for admitted senders.
Nothing is written to disk here; attachment bytes and keys are never logged (``--debug`` logs
name, type and size only).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import httpx

from .. import APP_VERSION
from ..errors import ConfigError, MediaError
from ..xmtp.attachments import (
    InlineAttachment,
    RemoteAttachment,
    decrypt_attachment,
    encode_remote_attachment,
    encrypt_attachment,
)
from ..xmtp.content import Attachment
from .config import MediaConfig, resolve_upload_settings
from .errors import DownloadRefused, UploadFailed
from .fetch import SafeDownloader
from .files import guess_mime_type, sanitize_filename
from .transcribe import Transcriber
from .types import MediaFile, MediaRef
from .upload import Uploader, build_uploader

__all__ = ["MediaService"]

log = logging.getLogger(__name__)


class MediaService:
    """Owns the HTTP clients of the media layer; ``await aclose()`` when done."""

    def __init__(
        self,
        config: MediaConfig,
        *,
        downloader: SafeDownloader,
        uploader: Uploader | None = None,
        transcriber: Transcriber | None = None,
        upload_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.downloader = downloader
        self.uploader = uploader
        self._transcriber = transcriber
        self._upload_client = upload_client

    @classmethod
    def from_config(cls, config: MediaConfig, *, environ: Mapping[str, str], env: str) -> MediaService:
        """Build from ``channels.convos.media`` and the environment (convos-cli's variables).
        Loopback downloads over plain http are allowed only for ``env == "local"``."""
        settings = resolve_upload_settings(config, environ, env)
        downloader = SafeDownloader(
            max_bytes=config.max_bytes,
            timeout=config.download_timeout_seconds,
            allow_loopback=env == "local",
        )
        client = None
        uploader = None
        if settings is not None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(config.download_timeout_seconds * 2),
                trust_env=False,
                headers={"User-Agent": APP_VERSION},
            )
            uploader = build_uploader(settings, client)
        transcriber = None
        if config.transcription is not None:
            t = config.transcription
            key = environ.get(t.api_key_env, "").strip() if t.api_key_env else ""
            if t.api_key_env and not key:
                raise ConfigError(
                    f"channels.convos.media.transcription: the variable {t.api_key_env} is not set"
                )
            transcriber = Transcriber(base_url=t.base_url, model=t.model, api_key=key or None)
        return cls(
            config, downloader=downloader, uploader=uploader, transcriber=transcriber, upload_client=client
        )

    def __repr__(self) -> str:
        return f"MediaService(uploader={self.uploader!r}, downloader={self.downloader!r})"

    @property
    def can_send(self) -> bool:
        return self.uploader is not None

    async def aclose(self) -> None:
        await self.downloader.aclose()
        if self._upload_client is not None:
            await self._upload_client.aclose()
        if self._transcriber is not None:
            await self._transcriber.aclose()

    # -- inbound -----------------------------------------------------------------------------

    async def receive(self, attachment: Attachment) -> tuple[MediaFile, ...]:
        """Open every item of an attachment message (see the module docstring)."""
        files: list[MediaFile] = []
        for item in attachment.items:
            if isinstance(item, InlineAttachment):
                files.append(await self._accept(item))
            else:
                files.append(await self._open_remote(item))
        return tuple(files)

    async def _open_remote(self, ref: RemoteAttachment) -> MediaFile:
        name = sanitize_filename(ref.filename)
        try:
            payload = await self.downloader.fetch(ref.url, expected_length=ref.content_length)
            inline = decrypt_attachment(payload, ref)
        except MediaError as exc:
            kind = "refused" if isinstance(exc, DownloadRefused) else "failed"
            log.warning("attachment %s %s: %s", name, kind, exc)
            return MediaFile(
                filename=name,
                mime_type=guess_mime_type(name),
                note=f"could not be opened ({_short(exc)})",
                declared_size=ref.content_length,
            )
        if inline.filename is None and ref.filename:
            inline = InlineAttachment(ref.filename, inline.mime_type, inline.content)
        return await self._accept(inline)

    async def _accept(self, inline: InlineAttachment) -> MediaFile:
        name = sanitize_filename(inline.filename)
        mime = inline.mime_type.strip().lower() or guess_mime_type(name)
        if inline.size > self.config.max_bytes:
            log.warning(
                "attachment %s refused: %d bytes, above the limit %d",
                name,
                inline.size,
                self.config.max_bytes,
            )
            return MediaFile(
                filename=name, mime_type=mime, note="too large to open", declared_size=inline.size
            )
        log.debug("attachment received: %s (%s, %d bytes)", name, mime, inline.size)
        file = MediaFile(filename=name, mime_type=mime, content=inline.content)
        if file.kind == "audio" and self._transcriber is not None:
            try:
                transcript = await self._transcriber.transcribe(file)
            except MediaError as exc:
                log.warning("transcribing %s failed: %s", name, exc)
                return MediaFile(
                    filename=name, mime_type=mime, content=inline.content, note="not transcribed"
                )
            return MediaFile(filename=name, mime_type=mime, content=inline.content, transcript=transcript)
        return file

    # -- outbound ----------------------------------------------------------------------------

    async def encode_outbound(self, file: MediaFile) -> bytes:
        """:meth:`upload_file`, encoded as a remote attachment message's content."""
        return encode_remote_attachment(await self.upload_file(file))

    async def upload_file(self, file: MediaFile) -> RemoteAttachment:
        """Encrypt ``file`` with fresh keys and upload it; the reference to send.
        Raises :class:`MediaError` (no provider, too large, upload failed)."""
        if self.uploader is None:
            raise UploadFailed(
                "no upload provider is configured, so the agent's file was not sent; set "
                "CONVOS_UPLOAD_PROVIDER (s3, convos-api, pinata) or channels.convos.media.provider"
            )
        if file.size > self.config.max_bytes:
            raise UploadFailed(
                f"the agent's file {file.filename} is {file.size} bytes, above the limit {self.config.max_bytes}"
            )
        encrypted = encrypt_attachment(
            InlineAttachment(sanitize_filename(file.filename), file.mime_type, file.content)
        )
        url = await self.uploader.upload(encrypted.payload)
        log.debug("attachment uploaded: %s (%s, %d bytes)", file.filename, file.mime_type, file.size)
        return encrypted.at(url)

    async def resolve(self, ref: MediaRef, *, roots: tuple[Path, ...]) -> MediaFile:
        """The file an agent named: an https URL (safe download) or a path inside ``roots``."""
        source = ref.source.strip()
        if source.lower().startswith(("https://", "http://")):
            content = await self.downloader.fetch(source)
            name = sanitize_filename(source.rsplit("/", 1)[-1].split("?", 1)[0], fallback="file")
            return MediaFile(filename=name, mime_type=guess_mime_type(name), content=content)
        path = Path(source.removeprefix("file://")).expanduser()
        try:
            real = path.resolve(strict=True)
        except OSError as exc:
            raise DownloadRefused(f"the agent's file {path.name} does not exist") from exc
        if not any(real.is_relative_to(root.resolve()) for root in roots):
            raise DownloadRefused(
                f"the agent's file {path.name} is outside the folders named in channels.convos.media.mediaDirs; not sent"
            )
        size = real.stat().st_size
        if size > self.config.max_bytes:
            raise DownloadRefused(
                f"the agent's file {path.name} is {size} bytes, above the limit {self.config.max_bytes}"
            )
        content = real.read_bytes()
        return MediaFile(
            filename=sanitize_filename(real.name), mime_type=guess_mime_type(real.name), content=content
        )


def _short(exc: Exception) -> str:
    text = str(exc).split(";", 1)[0]
    return text[:160]
