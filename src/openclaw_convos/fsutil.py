"""Private files: 0700 folders, 0600 files, written atomically (temp file + fsync + os.replace)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import StateError


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 if missing; tighten an existing folder to 0700."""
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        for created in missing[1:]:  # mkdir gives only the leaf the mode; parents get the umask's
            created.chmod(0o700)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        raise StateError(f"cannot create private folder {path}: {exc.strerror or exc}") from exc
    return path


def set_mode(fd: int, path: str | Path, mode: int) -> None:
    """``fchmod`` where the platform has it; ``chmod`` by name elsewhere (Windows before 3.13)."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # pragma: no cover - Windows
        os.chmod(path, mode)


def write_private_file(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically with ``mode``; a crash leaves the old file or the new one."""
    ensure_private_dir(path.parent)
    fd = -1
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        set_mode(fd, tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = ""
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise StateError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
