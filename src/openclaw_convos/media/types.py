"""Media records shared by the gateway and the agent backends (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MediaFile", "MediaRef"]


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A file in a turn or a reply.

    Inbound: ``filename`` is already sanitised; ``note`` says why the file could not be opened
    (then ``content`` is empty); ``transcript`` is set for audio when transcription is configured.
    """

    filename: str
    mime_type: str
    content: bytes = field(default=b"", repr=False)
    note: str | None = None
    transcript: str | None = field(default=None, repr=False)
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return len(self.content) if self.content else (self.declared_size or 0)

    @property
    def kind(self) -> str:
        """``image``, ``audio``, ``video`` or ``file``."""
        major = self.mime_type.split("/", 1)[0].lower()
        return major if major in ("image", "audio", "video") else "file"

    def __repr__(self) -> str:
        return (
            f"MediaFile(filename={self.filename!r}, mime_type={self.mime_type!r}, size={self.size}, "
            f"note={self.note!r})"
        )


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file an agent names instead of returning it (OpenClaw's ``MEDIA:<path or URL>``)."""

    source: str
