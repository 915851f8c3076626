"""File names and private folders for attachments (pure helpers plus one folder context)."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

__all__ = ["guess_mime_type", "private_folder", "sanitize_filename"]

_UNSAFE = re.compile(r"[^\w.\- ()+,@=]")
_MAX_NAME = 100


def sanitize_filename(name: str | None, *, fallback: str = "attachment") -> str:
    """A safe single path component for a name a peer chose.

    Keeps the last component of either path separator, drops control and unusual characters and
    leading dots, caps the length at 100 (keeping the extension); never empty, ``.`` or ``..``.
    """
    if not name:
        return fallback
    text = unicodedata.normalize("NFKC", name)
    text = text.replace("\\", "/").split("/")[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text).strip(" .")
    text = text.lstrip(".-")
    if len(text) > _MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: _MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else text[:_MAX_NAME]
    return text or fallback


def guess_mime_type(filename: str, default: str = "application/octet-stream") -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or default


@contextlib.contextmanager
def private_folder(parent: Path) -> Iterator[Path]:
    """A new 0700 folder under ``parent`` (created 0700 if missing), removed on exit."""
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = parent / f"turn-{secrets.token_hex(8)}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_private(folder: Path, name: str, content: bytes) -> Path:
    """Write ``content`` as ``folder/<sanitised name>`` (0600), never outside ``folder``."""
    safe = sanitize_filename(name)
    path = folder / safe
    if path.resolve().parent != folder.resolve():  # pragma: no cover - sanitize_filename forbids it
        raise ValueError("attachment name escapes its folder")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return path
