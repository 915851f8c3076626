"""Keep one harmless native log line off the terminal.

SQLCipher inside libxmtp writes ``WARN CORE sqlcipherCodecAttach: no codec attached to db``
straight to file descriptor 2 whenever a client opens its database, and nothing in the binding
turns it off. While a command runs, fd 2 is a pipe read by a thread that drops exactly those
lines and passes everything else through at once, in order. ``--debug`` shows everything.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

NATIVE_NOISE: tuple[bytes, ...] = (b"sqlcipherCodecAttach: no codec attached to db",)


def _pump(read_fd: int, target_fd: int, noise: tuple[bytes, ...]) -> None:
    pending = b""
    try:
        while chunk := os.read(read_fd, 65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not any(n in line for n in noise))
            if kept:
                os.write(target_fd, kept)
        if pending and not any(n in pending for n in noise):
            os.write(target_fd, pending)
    except OSError:
        pass
    finally:
        os.close(read_fd)


@contextlib.contextmanager
def native_noise_filtered(noise: tuple[bytes, ...] = NATIVE_NOISE) -> Iterator[None]:
    """Filter fd 2 for the duration (a no-op when fd 2 cannot be redirected)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, saved, noise), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end here closes; the pump drains and ends
        pump.join(timeout=2.0)
        if not pump.is_alive():  # a child process may still hold the pipe; then leave fd open
            os.close(saved)
