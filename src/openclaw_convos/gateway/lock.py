"""One gateway per state folder: an advisory lock held for the gateway's whole life.

``portalocker`` gives the same lock on every platform: ``flock`` on POSIX, ``msvcrt.locking`` on
Windows. Either way the lock ends with the process, even after a crash, so a stale lock never
blocks the next run. The pid is kept in a file of its own (a locked file cannot be read by
another process on Windows); other commands read it to hand their work to the running gateway.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import portalocker

from ..errors import StateError
from ..fsutil import ensure_private_dir
from .paths import StatePaths

LOCK_NAME = "gateway.lock"
PID_NAME = "gateway.pid"


class GatewayRunning(StateError):
    """Another gateway holds this state folder."""


def _lock_path(paths: StatePaths) -> Path:
    return paths.data_dir / LOCK_NAME


def _pid_path(paths: StatePaths) -> Path:
    return paths.data_dir / PID_NAME


def _read_pid(paths: StatePaths) -> int:
    try:
        text = _pid_path(paths).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return -1
    return int(text) if text.isdigit() else -1


# A probe takes a shared lock where the platform has one without extra packages (POSIX), so two
# probes at once never see each other as a gateway; on Windows it takes the exclusive lock briefly.
_PROBE = (
    portalocker.LockFlags.EXCLUSIVE if sys.platform == "win32" else portalocker.LockFlags.SHARED
) | portalocker.LockFlags.NON_BLOCKING


@dataclass
class GatewayLock:
    """Held by ``run`` for its whole life: one gateway per state folder, and a way for other
    commands to see that it runs."""

    paths: StatePaths
    handle: IO[str]

    @classmethod
    def acquire(cls, paths: StatePaths) -> GatewayLock:
        ensure_private_dir(paths.data_dir)
        handle = open(_lock_path(paths), "a+", encoding="ascii")  # noqa: SIM115 - held until release()
        try:
            portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.LockException:
            handle.close()
            pid = _read_pid(paths)
            raise GatewayRunning(
                f"a gateway is already running for {paths.state_dir} (pid {pid if pid > 0 else '?'}); "
                "stop it first, or use another state folder (--state-dir)"
            ) from None
        _pid_path(paths).write_text(f"{os.getpid()}\n", encoding="ascii")
        return cls(paths, handle)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            _pid_path(self.paths).unlink()
        with contextlib.suppress(OSError, portalocker.LockException):
            portalocker.unlock(self.handle)
        self.handle.close()


def run_started_at(paths: StatePaths) -> float | None:
    """When the running gateway took the lock (Unix time), or None."""
    try:
        return _pid_path(paths).stat().st_mtime
    except OSError:
        return None


def running_gateway(paths: StatePaths) -> int | None:
    """The pid of the gateway running for this state folder (-1 when unknown), or None."""
    try:
        handle = open(_lock_path(paths), encoding="ascii")  # noqa: SIM115 - closed below
    except OSError:
        return None
    try:
        try:
            portalocker.lock(handle, _PROBE)
        except portalocker.LockException:
            return _read_pid(paths)
        portalocker.unlock(handle)
        return None
    finally:
        handle.close()
