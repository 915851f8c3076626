"""Terminal input and output for the commands: prompts, notes, progress, tables, QR codes, times.

Every command writes through a :class:`Console`, so tests can hand it their own streams and drive
the prompts with lines of input. Nothing here knows about XMTP or the config.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO, TypeVar

from .errors import Cancelled, UsageError

T = TypeVar("T")

_DIGITS = re.compile(r"\d+")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Console:
    """Where a command reads answers and writes what it has to say.

    ``stdin``/``stdout``/``stderr`` default to the process streams at the time of the call, so
    redirected streams (pytest's, a pipe) are honoured.
    """

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.clock = clock

    @property
    def is_tty(self) -> bool:
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    # -- output --------------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def warn(self, text: str) -> None:
        self.stderr.write(f"warning: {text}\n")
        self.stderr.flush()

    def json(self, value: Any) -> None:
        self.say(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))

    def note(self, title: str, lines: Sequence[str]) -> None:
        """A titled block, like the wizard notes of OpenClaw."""
        self.say()
        self.say(f"◇  {title}")
        for line in lines:
            self.say(f"│  {line}" if line else "│")
        self.say()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [len(h) for h in headers]
        for row in rows:
            for index, cell in enumerate(row):
                widths[index] = max(widths[index], len(cell))

        def line(cells: Sequence[str]) -> str:
            return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()

        self.say(line(headers))
        self.say(line(["-" * w for w in widths]))
        for row in rows:
            self.say(line(row))

    # -- input ---------------------------------------------------------------------------------

    def ask(self, question: str, *, default: str | None = None, hint: str | None = None) -> str:
        """One line of input (stripped); ``default`` when the answer is empty. End of input cancels."""
        shown = question
        if hint:
            shown += f" ({hint})"
        if default:
            shown += f" [{default}]"
        self.stdout.write(f"?  {shown}: ")
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            self.stdout.write("\n")
            raise Cancelled("cancelled: no answer (end of input)")
        if not _interactive_input(self.stdin):
            self.stdout.write("\n")  # piped answers are not echoed; keep the transcript readable
        answer = line.strip()
        return answer or (default or "")

    def confirm(self, question: str, *, default: bool) -> bool:
        suffix = "Y/n" if default else "y/N"
        while True:
            answer = self.ask(f"{question} ({suffix})").lower()
            if not answer:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.say("   Please answer yes or no.")

    def choose(self, question: str, options: Sequence[tuple[T, str]], *, default: T) -> T:
        """Pick one of ``options`` (value, label) by number or by value."""
        self.say(f"?  {question}")
        default_index = 1
        for index, (value, label) in enumerate(options, start=1):
            marker = " (default)" if value == default else ""
            if value == default:
                default_index = index
            self.say(f"   {index}. {label}{marker}")
        while True:
            answer = self.ask("Choice", default=str(default_index))
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][0]
            for value, _label in options:
                if str(value).lower() == answer.lower():
                    return value
            self.say(f"   Please answer with a number from 1 to {len(options)}.")

    # -- progress ------------------------------------------------------------------------------

    def progress(self) -> Progress:
        return Progress(self)


def _interactive_input(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """A status line for long waits: rewritten in place on a terminal, else printed now and then.

    Off a terminal, a line is printed when its text (digits aside) changes, or every
    ``interval`` seconds, so logs stay short.
    """

    def __init__(self, console: Console, *, interval: float = 5.0) -> None:
        self.console = console
        self.interval = interval
        self._last_stem: str | None = None
        self._last_at = 0.0
        self._open_line = False

    def update(self, text: str) -> None:
        out = self.console.stdout
        if self.console.is_tty:
            out.write("\r\x1b[2K   " + text)
            out.flush()
            self._open_line = True
            return
        stem = _DIGITS.sub("#", text)
        now = self.console.clock()
        if stem != self._last_stem or now - self._last_at >= self.interval:
            self.console.say(f"   {text}")
            self._last_stem = stem
            self._last_at = now

    def done(self, text: str | None = None) -> None:
        if self._open_line:
            self.console.stdout.write("\r\x1b[2K")
            self.console.stdout.flush()
            self._open_line = False
        if text:
            self.console.say(f"   {text}")


# -- times -------------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` -> a positive timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"cannot read {text!r} as a duration; use for example 30m, 12h, 7d or 2w")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise UsageError("a duration must be more than zero")
    if seconds > 10 * 365 * 86400:
        raise UsageError(f"{text!r} is more than ten years; pick a shorter expiry")
    return timedelta(seconds=seconds)


def format_span(delta: timedelta) -> str:
    """``3 days``, ``5 hours``, ``12 minutes``, ``40 seconds`` (rounded down, at least 1 unit)."""
    seconds = abs(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


def format_when(moment: datetime | None, now: datetime | None = None) -> str:
    """``2026-02-13 10:00 UTC (in 3 days)`` / ``(2 hours ago)``; ``never`` for None."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    delta = moment - now
    relative = f"in {format_span(delta)}" if delta.total_seconds() >= 0 else f"{format_span(delta)} ago"
    return f"{text} ({relative})"


def parse_timestamp(text: str | None) -> datetime | None:
    """An ISO time as the gateway stores it, or None."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def short(identifier: str | None, length: int = 12) -> str:
    """The first ``length`` characters of an id, with an ellipsis."""
    if not identifier:
        return "-"
    return identifier if len(identifier) <= length else identifier[:length] + "…"


# -- QR codes ----------------------------------------------------------------------------------

_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_text(data: str, *, border: int = 2) -> str:
    """``data`` as a QR code in Unicode half blocks (two modules per character cell).

    Light modules are drawn filled, so the code reads as dark-on-light on the usual dark
    terminal background, which is what phone cameras expect.
    """
    import segno

    code = segno.make(data, error="l", micro=False)
    rows = [[not bool(dark) for dark in row] for row in code.matrix_iter(border=border)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        lines.append("".join(_HALF_BLOCKS[(a, b)] for a, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def save_qr_png(data: str, path: str, *, scale: int = 8) -> None:
    """``data`` as a QR code PNG at ``path``."""
    import segno

    segno.make(data, error="l", micro=False).save(path, kind="png", scale=scale, border=4)
