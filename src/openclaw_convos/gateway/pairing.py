"""Pairing: codes for unknown senders, and the two store files OpenClaw's CLI reads and writes.

Interoperable with ``openclaw pairing list/approve convos``: same constants, file names and JSON
shapes (OpenClaw ``src/pairing/pairing-store.ts``)::

    credentials/convos-pairing.json    {"version": 1, "requests": [{"id", "code", "createdAt",
                                        "lastSeenAt", "meta"?}]}
    credentials/convos-allowFrom.json  {"version": 1, "allowFrom": ["<inbox id>", ...]}

Concurrency: the running gateway and a CLI ``pairing approve`` both read-modify-write these
files. Every read-modify-write holds the same lock OpenClaw takes (proper-lockfile's strategy:
an atomic ``mkdir`` of ``<real path of the file>.lock``, considered stale after 30 s), so our
processes and OpenClaw's serialise with each other. Lock order is pairing file, then allowFrom
file, as in OpenClaw. Writes are atomic (temp file + ``os.replace``), 0600 files in a 0700 dir.
We hold a lock for milliseconds and do not refresh its mtime, so a hold longer than the stale
time could be broken by another process; that needs a stalled disk.

Time comes from an injected clock (``clock=``), so TTL behaviour is testable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..errors import StateError
from ..fsutil import ensure_private_dir, write_private_file
from .paths import CHANNEL_ID, channel_file_key

__all__ = [
    "PAIRING_CODE_ALPHABET",
    "PAIRING_CODE_LENGTH",
    "PAIRING_MAX_PENDING",
    "PAIRING_TTL",
    "WILDCARD",
    "ApprovedSender",
    "PairingRequest",
    "PairingStore",
    "UpsertResult",
    "approve_command",
    "build_approval_notice",
    "build_pairing_reply",
    "format_approved",
    "format_no_pending",
    "format_unknown_code",
    "generate_code",
    "normalize_allow_entry",
    "normalize_code",
]

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_T = TypeVar("_T")

PAIRING_CODE_LENGTH = 8
#: No ``0 O 1 I``.
PAIRING_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Measured from ``createdAt``.
PAIRING_TTL = timedelta(hours=1)
#: Per channel.
PAIRING_MAX_PENDING = 3
#: ``allowFrom`` entry meaning everyone; never written to the store.
WILDCARD = "*"

_CODE_ATTEMPTS = 500
_STORE_VERSION = 1
_LOCK_STALE_SECONDS = 30.0
_LOCK_TIMEOUT_SECONDS = 35.0  # longer than the stale time, so a crashed holder's lock is broken
_CHANNEL_PREFIX = f"{CHANNEL_ID}:"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _format_time(value: datetime) -> str:
    """JavaScript ``toISOString()`` form: ``2026-02-13T10:00:00.000Z``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def normalize_allow_entry(entry: str | int) -> str:
    """Convos' ``normalizeAllowEntry``: trimmed, ``convos:`` prefix removed, lower-cased."""
    text = str(entry).strip()
    if text[: len(_CHANNEL_PREFIX)].lower() == _CHANNEL_PREFIX:
        text = text[len(_CHANNEL_PREFIX) :].strip()
    return text.lower()


def normalize_code(code: str) -> str:
    """Codes compare trimmed and upper-cased, so approval is case-insensitive."""
    return code.strip().upper()


def generate_code(
    existing: Collection[str] = (), *, randbelow: Callable[[int], int] = secrets.randbelow
) -> str:
    """A fresh 8-character code from :data:`PAIRING_CODE_ALPHABET`, unique among ``existing``."""
    taken = {normalize_code(code) for code in existing}
    for _ in range(_CODE_ATTEMPTS):
        code = "".join(
            PAIRING_CODE_ALPHABET[randbelow(len(PAIRING_CODE_ALPHABET))] for _ in range(PAIRING_CODE_LENGTH)
        )
        if code not in taken:
            return code
    raise StateError("failed to generate a unique pairing code; too many pending requests")


def approve_command(channel: str = CHANNEL_ID, *, profile: str | None = None) -> str:
    """The CLI line of the pairing reply. ``<code>`` stays literal, exactly as OpenClaw prints it."""
    profile_part = f"--profile {profile} " if profile else ""
    return f"openclaw {profile_part}pairing approve {channel} <code>"


def build_pairing_reply(sender_inbox_id: str, code: str, *, profile: str | None = None) -> str:
    """The message sent to an unknown sender (``buildPairingReply``, with a Convos id line).

    It names our command with the real code first (the owner may not run OpenClaw), then
    OpenClaw's own line, which works too since both use the same store files.

    ``profile`` is the value of ``OPENCLAW_PROFILE``, if set.
    """
    return "\n".join(
        [
            "OpenClaw: access not configured.",
            "",
            f"Your Convos inbox ID: {sender_inbox_id}",
            "",
            f"Pairing code: {code}",
            "",
            "Ask the bot owner to approve with:",
            f"openclaw-convos pairing approve {code}",
            f"(or, with OpenClaw: {approve_command(CHANNEL_ID, profile=profile)})",
        ]
    )


def build_approval_notice(inbox_id: str) -> str:
    """The notice posted after an approval (the SDK-era plugin's ``notifyApproval`` text)."""
    return f"\u2705 Device paired successfully (inbox: {inbox_id[:12]}...)"


def format_no_pending(channel: str = CHANNEL_ID) -> str:
    """``openclaw pairing list`` with nothing pending."""
    return f"No pending {channel} pairing requests."


def format_approved(sender_id: str, channel: str = CHANNEL_ID) -> str:
    """``openclaw pairing approve`` on success."""
    return f"Approved {channel} sender {sender_id}."


def format_unknown_code(code: str) -> str:
    """``openclaw pairing approve`` with a code that matches nothing pending."""
    return f"No pending pairing request found for code: {code}"


@dataclass(frozen=True, slots=True)
class PairingRequest:
    """One pending request. ``created_at`` is None when the stored value does not parse."""

    id: str
    code: str
    created_at: datetime | None
    last_seen_at: datetime | None
    meta: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Keys of the stored record that we do not know; written back unchanged."""

    def is_expired(self, now: datetime, ttl: timedelta = PAIRING_TTL) -> bool:
        """Expired when older than ``ttl`` (strictly), or when ``createdAt`` was unreadable."""
        return self.created_at is None or now - self.created_at > ttl

    @property
    def expires_at(self) -> datetime | None:
        return None if self.created_at is None else self.created_at + PAIRING_TTL

    def to_json(self) -> dict[str, Any]:
        """The stored record."""
        created = self.created_at
        seen = self.last_seen_at or created
        record: dict[str, Any] = dict(self.extra)
        record.update(
            {
                "id": self.id,
                "code": self.code,
                "createdAt": _format_time(created) if created else "",
                "lastSeenAt": _format_time(seen) if seen else "",
            }
        )
        if self.meta:
            record["meta"] = dict(self.meta)
        return record

    @classmethod
    def from_json(cls, record: object) -> PairingRequest | None:
        """Parse one stored record; None for records without a string id and code."""
        if not isinstance(record, dict):
            return None
        ident, code = record.get("id"), record.get("code")
        if not isinstance(ident, str | int) or isinstance(ident, bool) or not isinstance(code, str):
            return None
        meta_raw = record.get("meta")
        meta = (
            {str(k): v for k, v in meta_raw.items() if isinstance(v, str) and v.strip()}
            if isinstance(meta_raw, dict)
            else {}
        )
        known = {"id", "code", "createdAt", "lastSeenAt", "meta"}
        return cls(
            id=str(ident).strip(),
            code=code.strip(),
            created_at=_parse_time(record.get("createdAt")),
            last_seen_at=_parse_time(record.get("lastSeenAt")),
            meta=meta,
            extra={k: v for k, v in record.items() if k not in known},
        )


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """``created`` is True only for a new request: reply with the code only then.

    ``code`` is empty when the channel already has the maximum of pending requests.
    """

    code: str
    created: bool


@dataclass(frozen=True, slots=True)
class ApprovedSender:
    """An approved request: ``id`` was added to the allowFrom store as ``entry``."""

    id: str
    entry: str
    request: PairingRequest


def _clean_meta(meta: Mapping[str, str | None] | None) -> dict[str, str] | None:
    if meta is None:
        return None
    cleaned = {str(k): str(v).strip() for k, v in meta.items() if v is not None and str(v).strip()}
    return cleaned or None


def _read_json(path: Path) -> Any:
    """The parsed file; None when missing or corrupt (both read as the empty default)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(raw)
    except ValueError:
        log.warning("ignoring unreadable pairing store file %s (not JSON)", path)
        return None


def _dump(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write_json(path: Path, value: object) -> None:
    write_private_file(path, _dump(value))


def _create_if_missing(path: Path, value: object) -> None:
    """Create ``path`` holding ``value`` unless it exists; never clobbers a concurrent writer."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_dump(value))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic create-if-absent
    except OSError as exc:
        raise StateError(f"cannot create {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextlib.contextmanager
def _file_lock(path: Path, *, timeout: float, stale: float) -> Iterator[None]:
    """proper-lockfile compatible lock: ``mkdir <realpath>.lock``; break it when stale."""
    lock_dir = Path(os.path.realpath(path) + ".lock")
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            os.mkdir(lock_dir, 0o700)
            break
        except FileExistsError:
            pass
        except OSError as exc:
            raise StateError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        try:
            age = time.time() - lock_dir.stat().st_mtime
        except FileNotFoundError:
            continue  # released between our mkdir and stat
        if age > stale:
            log.warning("breaking stale lock %s (%.0f s old)", lock_dir, age)
            with contextlib.suppress(OSError):
                if lock_dir.is_dir():
                    lock_dir.rmdir()
                else:
                    lock_dir.unlink()
            continue
        if time.monotonic() >= deadline:
            raise StateError(
                f"{path} is locked by another process ({lock_dir}); try again, or remove that "
                "folder if no openclaw or openclaw-convos process is running"
            )
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 1.0)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_dir.rmdir()


class PairingStore:
    """The pairing and allowFrom store files of one channel, safe to share with other processes.

    All methods are coroutines; the file work runs in a worker thread.
    """

    def __init__(
        self,
        credentials_dir: Path,
        *,
        channel: str = CHANNEL_ID,
        clock: Callable[[], datetime] = _utc_now,
        ttl: timedelta = PAIRING_TTL,
        max_pending: int = PAIRING_MAX_PENDING,
        randbelow: Callable[[int], int] = secrets.randbelow,
        lock_timeout: float = _LOCK_TIMEOUT_SECONDS,
        lock_stale: float = _LOCK_STALE_SECONDS,
    ) -> None:
        key = channel_file_key(channel)
        self.pairing_path = credentials_dir / f"{key}-pairing.json"
        self.allow_from_path = credentials_dir / f"{key}-allowFrom.json"
        self._clock = clock
        self._ttl = ttl
        self._max_pending = max_pending
        self._randbelow = randbelow
        self._lock_timeout = lock_timeout
        self._lock_stale = lock_stale
        self._local_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PairingStore({str(self.pairing_path.parent)!r})"

    # -- public API ---------------------------------------------------------------------------

    async def upsert(self, sender_id: str, meta: Mapping[str, str | None] | None = None) -> UpsertResult:
        """Record a request from ``sender_id`` (``upsertChannelPairingRequest``)."""
        return await self._run(self._upsert_sync, normalize_allow_entry(sender_id), _clean_meta(meta))

    async def list_pending(self) -> list[PairingRequest]:
        """Live requests, oldest first; expired ones are pruned from the file."""
        return await self._run(self._list_sync)

    async def approve(self, code: str) -> ApprovedSender | None:
        """Approve by code (case-insensitive): move the sender to allowFrom; None if no match."""
        wanted = normalize_code(code)
        if not wanted:
            return None
        return await self._run(self._approve_sync, wanted)

    async def read_allow_from(self) -> tuple[str, ...]:
        """The approved senders (normalised; ``"*"`` and empty entries dropped)."""
        return await asyncio.to_thread(self._read_allow_from_sync)

    async def add_allow_from(self, entry: str) -> bool:
        """Add one sender; False when already present (or the entry is ``"*"``/empty)."""
        return await self._run(self._add_allow_sync, normalize_allow_entry(entry))

    async def remove_allow_from(self, entry: str) -> bool:
        """Remove one sender; False when it was not there."""
        return await self._run(self._remove_allow_sync, normalize_allow_entry(entry))

    # -- machinery ----------------------------------------------------------------------------

    async def _run(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        async with self._local_lock:
            return await asyncio.to_thread(func, *args, **kwargs)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the pairing clock must return timezone-aware datetimes")
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # the stored precision

    @contextlib.contextmanager
    def _locked(self, path: Path, default: object) -> Iterator[None]:
        if not path.exists():  # OpenClaw locks the file itself, so it must exist first
            _create_if_missing(path, default)
        with _file_lock(path, timeout=self._lock_timeout, stale=self._lock_stale):
            yield

    def _read_requests(self) -> list[PairingRequest]:
        data = _read_json(self.pairing_path)
        records = data.get("requests") if isinstance(data, dict) else None
        if not isinstance(records, list):
            return []
        parsed = (PairingRequest.from_json(record) for record in records)
        return [request for request in parsed if request is not None]

    def _write_requests(self, requests: list[PairingRequest]) -> None:
        _write_json(
            self.pairing_path,
            {"version": _STORE_VERSION, "requests": [request.to_json() for request in requests]},
        )

    def _prune(self, requests: list[PairingRequest], now: datetime) -> list[PairingRequest]:
        return [request for request in requests if not request.is_expired(now, self._ttl)]

    def _upsert_sync(self, sender: str, meta: dict[str, str] | None) -> UpsertResult:
        if not sender:
            raise ValueError("a pairing request needs a sender id")
        with self._locked(self.pairing_path, {"version": _STORE_VERSION, "requests": []}):
            now = self._now()
            stored = self._read_requests()
            requests = self._prune(stored, now)
            codes = [request.code for request in requests]
            for index, existing in enumerate(requests):
                if normalize_allow_entry(existing.id) != sender:
                    continue
                code = existing.code or generate_code(codes, randbelow=self._randbelow)
                requests[index] = PairingRequest(
                    id=existing.id,
                    code=code,
                    created_at=existing.created_at,
                    last_seen_at=now,
                    meta=meta if meta is not None else existing.meta,
                    extra=existing.extra,
                )
                self._write_requests(requests)
                return UpsertResult(code, created=False)
            if len(requests) > self._max_pending:
                requests.sort(key=lambda r: r.last_seen_at or r.created_at or now, reverse=True)
                requests = sorted(
                    requests[: self._max_pending], key=lambda r: r.created_at or now
                )  # keep the most recently seen, in creation order
            if len(requests) >= self._max_pending:
                if requests != stored:
                    self._write_requests(requests)
                log.info("pairing request from %s not recorded: %d already pending", sender, len(requests))
                return UpsertResult("", created=False)
            code = generate_code(codes, randbelow=self._randbelow)
            requests.append(PairingRequest(sender, code, now, now, meta or {}))
            self._write_requests(requests)
            log.info("new pairing request from %s", sender)
            return UpsertResult(code, created=True)

    def _list_sync(self) -> list[PairingRequest]:
        with self._locked(self.pairing_path, {"version": _STORE_VERSION, "requests": []}):
            now = self._now()
            stored = self._read_requests()
            requests = self._prune(stored, now)
            if len(requests) != len(stored):
                self._write_requests(requests)
        return sorted(requests, key=lambda r: r.created_at or now)

    def _approve_sync(self, code: str) -> ApprovedSender | None:
        with self._locked(self.pairing_path, {"version": _STORE_VERSION, "requests": []}):
            now = self._now()
            stored = self._read_requests()
            requests = self._prune(stored, now)
            match = next((r for r in requests if normalize_code(r.code) == code), None)
            if match is None:
                if len(requests) != len(stored):
                    self._write_requests(requests)
                return None
            entry = normalize_allow_entry(match.id)
            # Allow first, then forget the request: a crash in between leaves a harmless
            # leftover request rather than a lost approval.
            self._add_allow_sync(entry)
            self._write_requests([r for r in requests if r is not match])
        log.info("approved pairing for %s", entry)
        return ApprovedSender(id=match.id, entry=entry, request=match)

    def _read_allow_list(self) -> list[str]:
        data = _read_json(self.allow_from_path)
        entries = data.get("allowFrom") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return []
        out: list[str] = []
        for raw in entries:
            if isinstance(raw, str | int) and not isinstance(raw, bool):
                entry = normalize_allow_entry(raw)
                if entry and entry != WILDCARD and entry not in out:
                    out.append(entry)
        return out

    def _read_allow_from_sync(self) -> tuple[str, ...]:
        return tuple(self._read_allow_list())

    def _write_allow_list(self, entries: list[str]) -> None:
        _write_json(self.allow_from_path, {"version": _STORE_VERSION, "allowFrom": entries})

    def _add_allow_sync(self, entry: str) -> bool:
        if not entry or entry == WILDCARD:
            return False
        with self._locked(self.allow_from_path, {"version": _STORE_VERSION, "allowFrom": []}):
            current = self._read_allow_list()
            if entry in current:
                return False
            self._write_allow_list([*current, entry])
            return True

    def _remove_allow_sync(self, entry: str) -> bool:
        with self._locked(self.allow_from_path, {"version": _STORE_VERSION, "allowFrom": []}):
            current = self._read_allow_list()
            if entry not in current:
                return False
            self._write_allow_list([e for e in current if e != entry])
            return True
