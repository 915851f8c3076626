"""libxmtp's Python bindings (``xmtp_bindings``), loaded in this one place.

The bindings ship only as binary wheels. Where none exists (another CPU, another Python, a
musl-based Linux), importing them raises :class:`~openclaw_convos.errors.XmtpUnavailable` with
the list of platforms that have one, instead of an ``ImportError`` from deep inside a command.
"""

from __future__ import annotations

import platform
import sys

from ..errors import XmtpUnavailable

__all__ = ["SUPPORTED_PLATFORMS", "ffi", "unavailable_message"]

#: Where ``xmtp-bindings==0.1.8`` has a wheel (the PyPI file list; no source distribution).
SUPPORTED_PLATFORMS = (
    "CPython 3.11, 3.12 or 3.13 on Linux x86_64 or aarch64 (glibc 2.17 or newer), "
    "macOS on Apple silicon (11 or newer), or Windows x64"
)


def unavailable_message(detail: str) -> str:
    here = f"{platform.system() or sys.platform} {platform.machine()}, Python {platform.python_version()}"
    return (
        f"libxmtp (the xmtp-bindings package) cannot be loaded here ({here}): {detail}. "
        f"It exists for {SUPPORTED_PLATFORMS}; install openclaw-convos on one of those"
    )


try:
    import xmtp_bindings.xmtpv3 as ffi
except ImportError as exc:  # no wheel for this platform, or a broken install
    raise XmtpUnavailable(unavailable_message(str(exc) or type(exc).__name__)) from exc
