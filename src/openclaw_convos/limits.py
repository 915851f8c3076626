"""Operating-system limits the gateway needs raised: open files.

Each identity holds about six open files (its database connections and its connection to the
node), so the common soft limit of 1,024 open files (systemd's default for services, many
shells') stops a gateway at about 170 identities. ``run`` raises the soft limit to the hard
limit, which an unprivileged process may do; the systemd units also set ``LimitNOFILE``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("openclaw_convos.limits")

__all__ = ["FILES_PER_IDENTITY", "FileLimit", "raise_open_file_limit"]

#: Open files one served identity holds (measured: libxmtp's database pool and the backend socket).
FILES_PER_IDENTITY = 6


@dataclass(frozen=True, slots=True)
class FileLimit:
    before: int | None
    after: int | None
    """None: unknown or unlimited (or no such limit on this platform)."""

    @property
    def identities(self) -> int | None:
        """About how many identities fit (a margin left for everything else)."""
        return None if self.after is None else max(0, (self.after - 64) // FILES_PER_IDENTITY)


def raise_open_file_limit() -> FileLimit:
    """Raise the soft open-file limit to the hard one (POSIX; elsewhere nothing to do)."""
    try:
        import resource
    except ImportError:  # Windows: no such per-process limit to raise
        return FileLimit(None, None)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinity = resource.RLIM_INFINITY
    if hard == soft or (hard != infinity and hard < soft):
        return FileLimit(_finite(soft), _finite(soft))
    target = hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        # macOS refuses RLIM_INFINITY for open files: settle for what the kernel allows
        target = 10240 if hard == infinity else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %s: %s", soft, exc)
            return FileLimit(_finite(soft), _finite(soft))
    return FileLimit(_finite(soft), _finite(target))


def _finite(value: int) -> int | None:
    import resource

    return None if value == resource.RLIM_INFINITY else value
