"""systemd's notify protocol (``sd_notify``): ready, status line and watchdog pings.

Under a unit with ``Type=notify`` systemd sets ``$NOTIFY_SOCKET`` (a Unix datagram socket; a
leading ``@`` is the abstract namespace) and reads ``KEY=value`` lines from it: ``READY=1``,
``STATUS=<one line for systemctl status>``, ``WATCHDOG=1`` (with ``WatchdogSec=``, at least every
``$WATCHDOG_USEC`` microseconds or systemd restarts the service), ``STOPPING=1``. Without the
variable (not under systemd, or on Windows) every call does nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier"]


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self._address = ("\0" + path[1:]) if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_interval: float | None = (
            int(usec) / 1e6 / 3 if usec.isdigit() and int(usec) > 0 and mine else None
        )
        """How often to ping (a third of ``WatchdogSec``), or None when there is no watchdog."""

    @property
    def enabled(self) -> bool:
        return bool(self._address) and hasattr(socket, "AF_UNIX")

    def send(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines (``send(READY="1", STATUS="…")``); False when not delivered."""
        if not self.enabled:
            return False
        text = "\n".join(f"{key}={value.replace(chr(10), ' ')}" for key, value in fields.items())
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(text.encode("utf-8"), self._address)
            return True
        return False
