"""The parser and the small pure helpers of the command line."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from openclaw_convos.cli.console import format_span, format_when, parse_duration, qr_text
from openclaw_convos.cli.errors import UsageError

from .conftest import Cli

COMMANDS = (
    "configure",
    "invite",
    "run",
    "pairing",
    "status",
    "doctor",
    "conversations",
    "send",
    "node",
    "demo",
)


async def test_help_version_and_usage(offline_cli: Cli) -> None:
    helped = await offline_cli("--help")
    assert helped.code == 0
    for command in COMMANDS:
        assert command in helped.out, command
    assert (await offline_cli()).code == 2
    assert (await offline_cli("--version")).out.startswith("openclaw-convos ")
    assert (await offline_cli("frobnicate")).code == 2
    # global options work after the command too
    late = await offline_cli("status", "--state-dir", str(offline_cli.root / "elsewhere"), "--json")
    assert late.code == 0 and str(offline_cli.root / "elsewhere") in late.out
    sent = await offline_cli("send", "owner", "hi")
    assert sent.code == 3 and sent.err.count("\n") == 1 and "no owner conversation" in sent.err


def test_durations_and_times() -> None:
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("2W") == timedelta(weeks=2)
    for bad in ("", "soon", "-5m", "0", "20y"):
        with pytest.raises(UsageError):
            parse_duration(bad)
    assert format_span(timedelta(seconds=1)) == "1 second"
    assert format_span(timedelta(hours=49)) == "2 days"
    now = datetime(2026, 2, 13, 10, 0, tzinfo=UTC)
    assert format_when(now + timedelta(hours=3), now) == "2026-02-13 13:00 UTC (in 3 hours)"
    assert format_when(now - timedelta(minutes=5), now) == "2026-02-13 09:55 UTC (5 minutes ago)"
    assert format_when(None, now) == "never"


def test_qr_text_is_a_square_of_half_blocks() -> None:
    text = qr_text("https://dev.convos.org/v2?i=abc")
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert set(text) <= set(" ▀▄█\n")
    assert len(lines) == (len(lines[0]) + 1) // 2  # two modules per character row


def test_native_noise_is_dropped_and_the_rest_kept(capfd: pytest.CaptureFixture[str]) -> None:
    from openclaw_convos.cli.stderr_filter import NATIVE_NOISE, native_noise_filtered

    with native_noise_filtered():
        os.write(2, b"2026-01-01 WARN CORE " + NATIVE_NOISE[0] + b"\n")
        os.write(2, b"a real problem\n")
        os.write(2, b"no newline at the end")
    err = capfd.readouterr().err
    assert err == "a real problem\nno newline at the end"
