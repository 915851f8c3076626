"""Time values of the Convos protocol: unix seconds and ISO-8601 strings.

We emit ``YYYY-MM-DDTHH:MM:SSZ`` (whole seconds, as Swift's ``.iso8601`` writes); we accept
fractional seconds, ``Z`` and numeric offsets on input. Every function takes ``now`` or a value
from the caller; none reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import ArgumentError

_MIN_UNIX = int(datetime(1, 1, 1, tzinfo=UTC).timestamp())
_MAX_UNIX = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


def require_aware(moment: datetime, what: str = "now") -> datetime:
    """``moment`` in UTC; :class:`ArgumentError` when it is naive (naive times are ambiguous)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ArgumentError(f"{what} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def unix_seconds(moment: datetime) -> int:
    """Whole unix seconds (floor) of an aware datetime."""
    aware = require_aware(moment, "the time")
    return int(aware.timestamp() // 1)


def from_unix(seconds: int) -> datetime:
    """The UTC datetime of unix seconds, clamped to the range ``datetime`` can represent."""
    clamped = min(max(seconds, _MIN_UNIX), _MAX_UNIX)
    return datetime.fromtimestamp(clamped, UTC)


def has_passed(expires_at_unix: int, now: datetime) -> bool:
    """iOS semantics: expired when ``now > expiresAt`` (so the exact second itself is still valid)."""
    return require_aware(now).timestamp() > expires_at_unix


def format_iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, fractional seconds dropped."""
    return require_aware(moment, "the time").strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """An aware UTC datetime from an ISO-8601 string; a ValueError when it does not parse.

    A value without a time zone is taken as UTC.
    """
    if not isinstance(text, str) or not 0 < len(text) <= 64:
        raise ValueError("not an ISO-8601 date")
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date out of range") from exc
