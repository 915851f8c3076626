"""systemd's notify protocol, against a real datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from openclaw_convos.cli.sdnotify import Notifier


def test_lines_reach_the_socket_and_nothing_happens_without_one(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000"})
        assert notifier.enabled and notifier.watchdog_interval == 10.0
        assert notifier.send(READY="1", STATUS="healthy: 2 conversations\nsecond line")
        assert server.recv(4096) == b"READY=1\nSTATUS=healthy: 2 conversations second line"
    assert not Notifier({}).enabled and not Notifier({}).send(READY="1")
    other = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None or os.getpid() == 1
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).send(READY="1")
