"""Pairing: codes for unknown senders, and the store files OpenClaw's CLI reads and writes.

Interoperable with ``openclaw pairing list/approve convos`` of OpenClaw's last JSON-store
release (2026.7.35; later releases keep pairing in SQLite): same constants, file names, JSON
shapes and lock (``src/pairing/pairing-store.ts``, ``src/plugin-sdk/file-lock.ts``)::

    credentials/convos-pairing.json              {"version": 1, "requests": [{"id", "code",
                                                  "createdAt", "lastSeenAt", "meta": {...,
                                                  "accountId"}}]}
    credentials/convos-allowFrom.json            {"version": 1, "allowFrom": ["<inbox id>", ...]}
    credentials/convos-<account>-allowFrom.json  the same, for one account

Accounts: every request carries ``meta.accountId``. We use the id of the gateway identity the
stranger wrote to, so the pending limit (3) holds per identity, as OpenClaw holds it per account,
and ``openclaw pairing list`` keeps them all. Approving a request adds the sender to the file of
its account, as OpenClaw does; an approved sender is approved everywhere (we read the plain file
and every account file).

Locking: every read-modify-write holds OpenClaw's lock FILE ``<real path>.lock``, created with
``O_CREAT|O_EXCL`` and holding ``{"pid", "createdAt", "starttime"}`` (``starttime`` is field 22 of
``/proc/<pid>/stat``). A lock is reclaimed when its process is gone or its pid was reused (another
start time); a lock without a pid when ``createdAt`` is older than 30 s; and (our addition, which
OpenClaw never holds) an unreadable one when its mtime is older than 30 s. Removal checks that the
file is still the one judged stale. Lock order is pairing file, then allowFrom file, as in
OpenClaw. Writes are atomic (temp file + ``os.replace``), 0600 files in a 0700 dir.

Corruption: a store file that is not the JSON shape above is never overwritten. Reads for
decisions treat it as empty (approved senders are strangers until it is repaired; nobody gains
access) and :meth:`PairingStore.problems` reports it; a write first moves it aside to
``<name>.corrupt-<UTC time>`` and reports that copy until the owner removes it.

Reads for decisions (:meth:`PairingStore.read_allow_from`, :meth:`PairingStore.read_pending`) take
no lock and parse a file only when its inode, size or mtime changed.

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
    "DEFAULT_ACCOUNT",
    "PAIRING_CODE_ALPHABET",
    "PAIRING_CODE_LENGTH",
    "PAIRING_MAX_PENDING",
    "PAIRING_TTL",
    "WILDCARD",
    "ApprovedSender",
    "PairingRequest",
    "PairingStore",
    "StoreProblem",
    "UpsertResult",
    "approve_command",
    "build_approval_notice",
    "build_pairing_reply",
    "format_approved",
    "format_no_pending",
    "format_unknown_code",
    "generate_code",
    "normalize_account",
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
#: Per account, that is per gateway identity (OpenClaw: per channel account).
PAIRING_MAX_PENDING = 3
#: ``meta.accountId`` of a request made without an account (OpenClaw's default account).
DEFAULT_ACCOUNT = "default"
#: ``allowFrom`` entry meaning everyone; never written to the store.
WILDCARD = "*"

_CODE_ATTEMPTS = 500
_STORE_VERSION = 1
_LOCK_STALE_SECONDS = 30.0
_LOCK_TIMEOUT_SECONDS = 35.0  # longer than the stale time, so a crashed holder's lock is broken
_CHANNEL_PREFIX = f"{CHANNEL_ID}:"
_CORRUPT_SUFFIX = ".corrupt-"


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


def normalize_account(account: str | None) -> str:
    """OpenClaw's account key: trimmed and lower-cased; empty means :data:`DEFAULT_ACCOUNT`."""
    return (account or "").strip().lower() or DEFAULT_ACCOUNT


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
    def account(self) -> str:
        """``meta.accountId`` (normalised), or :data:`DEFAULT_ACCOUNT`."""
        return normalize_account(self.meta.get("accountId"))

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


@dataclass(frozen=True, slots=True)
class StoreProblem:
    """A store file we could not use, for ``status`` and ``doctor``."""

    path: Path
    message: str


class _Corrupt(Exception):
    """The file exists but is not the store's JSON shape."""


def _parse_store(raw: bytes, key: str) -> dict[str, Any]:
    """The stored object; :class:`_Corrupt` unless it is ``{..., key: [...]}`` in UTF-8 JSON."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Corrupt("not JSON") from exc
    if not isinstance(data, dict):
        raise _Corrupt("not a JSON object")
    if key in data and not isinstance(data[key], list):
        raise _Corrupt(f'"{key}" is not a list')
    return data


def _file_identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


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


# -- OpenClaw's lock file ---------------------------------------------------------------------


def _process_start_time(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (clock ticks after boot); None off Linux or when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 1 :].split()
    try:
        value = int(fields[19])
    except (IndexError, ValueError):
        return None
    return value if value >= 0 else None


def _pid_definitely_dead(pid: int) -> bool:
    """True when ``pid`` is invalid, gone, or a zombie (OpenClaw's ``isPidDefinitelyDead``)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by someone else
    except OSError:
        return False
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    fields = raw[raw.rfind(")") + 1 :].split()
    return bool(fields) and fields[0] == "Z"


def _lock_payload() -> bytes:
    payload: dict[str, Any] = {"pid": os.getpid(), "createdAt": _format_time(datetime.now(UTC))}
    start = _process_start_time(os.getpid())
    if start is not None:
        payload["starttime"] = start
    return (json.dumps(payload, indent=2) + "\n").encode("utf-8")


def _lock_is_stale(raw: bytes | None, mtime: float, stale: float) -> bool:
    """OpenClaw's rule (dead or recycled pid; or no pid and an old ``createdAt``), plus ours:
    a lock whose content we cannot read is stale once its mtime is older than ``stale``."""
    payload: object = None
    if raw is not None:
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            payload = json.loads(raw.decode("utf-8"))
    if isinstance(payload, dict):
        pid = payload.get("pid")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid:
            start = payload.get("starttime")
            if isinstance(start, int) and not isinstance(start, bool):
                current = _process_start_time(pid)
                if current is not None and current != start:
                    return True
            return _pid_definitely_dead(pid)
        created = _parse_time(payload.get("createdAt"))
        if created is not None:
            return (datetime.now(UTC) - created).total_seconds() > stale
    return time.time() - mtime > stale


def _read_lock(lock: Path) -> tuple[tuple[int, int, int, int], bytes | None, float] | None:
    """(identity, content or None for a folder, mtime) of the lock; None when there is none."""
    try:
        st = lock.lstat()
    except FileNotFoundError:
        return None
    if not lock.is_file() or lock.is_symlink():
        return (_file_identity(st), None, st.st_mtime)  # an old proper-lockfile folder
    try:
        raw = lock.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        raw = b""
    return (_file_identity(st), raw, st.st_mtime)


def _remove_lock_if_unchanged(
    lock: Path, seen: tuple[tuple[int, int, int, int], bytes | None, float]
) -> None:
    current = _read_lock(lock)
    if current is None or current[0] != seen[0] or current[1] != seen[1]:
        return  # another waiter reclaimed it and a new holder owns it now
    with contextlib.suppress(OSError):
        if lock.is_dir() and not lock.is_symlink():
            lock.rmdir()
        else:
            lock.unlink()


@contextlib.contextmanager
def _file_lock(path: Path, *, timeout: float, stale: float) -> Iterator[None]:
    """OpenClaw's lock file ``<real dir>/<name>.lock`` (see the module docstring)."""
    lock = Path(os.path.realpath(path.parent)) / f"{path.name}.lock"
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fd = -1
        except OSError as exc:
            raise StateError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        if fd >= 0:
            try:
                os.write(fd, _lock_payload())
                mine = os.fstat(fd)
            except OSError as exc:
                os.close(fd)
                with contextlib.suppress(OSError):
                    lock.unlink()
                raise StateError(f"cannot lock {path}: {exc.strerror or exc}") from exc
            os.close(fd)
            break
        seen = _read_lock(lock)
        if seen is None:
            continue  # released between our open and our read
        if _lock_is_stale(seen[1], seen[2], stale):
            log.warning("reclaiming stale lock %s", lock)
            _remove_lock_if_unchanged(lock, seen)
            continue
        if time.monotonic() >= deadline:
            raise StateError(
                f"{path} is locked by another process ({lock}); try again, or remove that "
                "file if no openclaw or openclaw-convos process is running"
            )
        time.sleep(min(delay * (1 + random.random()), max(deadline - time.monotonic(), 0.01)))
        delay = min(delay * 2, 1.0)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            st = lock.lstat()
            if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
                lock.unlink()


# -- the store ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _CacheEntry:
    identity: tuple[int, int, int, int]
    data: dict[str, Any] | None
    """None when the file is corrupt."""
    reason: str = ""


class PairingStore:
    """The pairing and allowFrom store files of one channel, safe to share with other processes.

    All methods but :meth:`problems` are coroutines; the file work runs in a worker thread.
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
        self._key = channel_file_key(channel)
        self.credentials_dir = credentials_dir
        self.pairing_path = credentials_dir / f"{self._key}-pairing.json"
        self.allow_from_path = credentials_dir / f"{self._key}-allowFrom.json"
        self._clock = clock
        self._ttl = ttl
        self._max_pending = max_pending
        self._randbelow = randbelow
        self._lock_timeout = lock_timeout
        self._lock_stale = lock_stale
        self._local_lock = asyncio.Lock()
        self._cache: dict[Path, _CacheEntry] = {}
        self._dir_identity: tuple[int, int, int, int] | None = None
        self._allow_files: list[Path] = []
        self._allow_from_cached: tuple[str, ...] = ()
        self._missing: set[Path] = set()
        self._reported: set[tuple[Path, tuple[int, int, int, int]]] = set()
        self.parses = 0
        """How many times a store file was parsed (the cache's effect, for tests and benches)."""

    def __repr__(self) -> str:
        return f"PairingStore({str(self.pairing_path.parent)!r})"

    # -- public API ---------------------------------------------------------------------------

    async def upsert(
        self,
        sender_id: str,
        meta: Mapping[str, str | None] | None = None,
        *,
        account: str | None = None,
    ) -> UpsertResult:
        """Record a request from ``sender_id`` at ``account`` (``upsertChannelPairingRequest``).

        A sender has one request per account; the limit of pending requests is per account.
        """
        return await self._run(
            self._upsert_sync, normalize_allow_entry(sender_id), _clean_meta(meta), normalize_account(account)
        )

    async def list_pending(self, account: str | None = None) -> list[PairingRequest]:
        """Live requests (of ``account``, or all), oldest first; expired ones are pruned."""
        return await self._run(self._list_sync, None if account is None else normalize_account(account))

    async def read_pending(self, account: str | None = None) -> list[PairingRequest]:
        """Live requests (of ``account``, or all) for a decision: no lock, no write, cached."""
        wanted = None if account is None else normalize_account(account)
        if self._unchanged([self.pairing_path]):  # a few stat calls: no worker thread needed
            return self._read_pending_sync(wanted)
        return await asyncio.to_thread(self._read_pending_sync, wanted)

    async def approve(self, code: str) -> ApprovedSender | None:
        """Approve by code (case-insensitive): move the sender to allowFrom; None if no match."""
        wanted = normalize_code(code)
        if not wanted:
            return None
        return await self._run(self._approve_sync, wanted)

    async def read_allow_from(self) -> tuple[str, ...]:
        """The approved senders of every account (normalised; ``"*"`` and empty entries dropped).

        No lock; a file is parsed again only when it changed. A corrupt file counts as empty.
        """
        if self._dir_identity is not None and self._unchanged(
            [self.credentials_dir, self.allow_from_path, *self._allow_files]
        ):
            return self._allow_from_cached
        return await asyncio.to_thread(self._read_allow_from_sync)

    async def add_allow_from(self, entry: str, *, account: str | None = None) -> bool:
        """Add one sender (to the plain file, or ``account``'s); False when already there."""
        path = self.allow_from_path if account is None else self._account_allow_path(account)
        return await self._run(self._add_allow_sync, normalize_allow_entry(entry), path)

    async def remove_allow_from(self, entry: str) -> bool:
        """Remove one sender from every allowFrom file; False when it was in none."""
        return await self._run(self._remove_allow_sync, normalize_allow_entry(entry))

    def problems(self) -> list[StoreProblem]:
        """Corrupt store files, and copies of corrupt files moved aside; reads only."""
        out: list[StoreProblem] = []
        for path in [self.pairing_path, *self._allow_paths()]:
            entry = self._load(path, "requests" if path == self.pairing_path else "allowFrom")
            if entry is not None and entry.data is None:
                what = "pending pairing requests" if path == self.pairing_path else "approved senders"
                out.append(
                    StoreProblem(
                        path,
                        f"{path} is corrupt ({entry.reason}); its {what} do not count until it is "
                        "repaired. It is never overwritten: the next change moves it aside.",
                    )
                )
        with contextlib.suppress(OSError):
            for aside in sorted(self.credentials_dir.glob(f"{self._key}-*.json{_CORRUPT_SUFFIX}*")):
                out.append(
                    StoreProblem(
                        aside,
                        f"{aside} is a corrupt pairing store moved aside; the entries in it do not "
                        "count. Repair what you need from it (openclaw-convos pairing approve, or "
                        "allowFrom in the config), then delete it.",
                    )
                )
        return out

    # -- machinery ----------------------------------------------------------------------------

    async def _run(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        async with self._local_lock:
            return await asyncio.to_thread(func, *args, **kwargs)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the pairing clock must return timezone-aware datetimes")
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # the stored precision

    def _account_allow_path(self, account: str) -> Path:
        return (
            self.credentials_dir
            / f"{self._key}-{channel_file_key(normalize_account(account))}-allowFrom.json"
        )

    def _allow_paths(self) -> list[Path]:
        """The plain allowFrom file, then every account's, re-listed only when the folder changed."""
        try:
            identity = _file_identity(self.credentials_dir.stat())
        except FileNotFoundError:
            self._dir_identity, self._allow_files = None, []
            return [self.allow_from_path]
        except OSError as exc:
            raise StateError(f"cannot read {self.credentials_dir}: {exc.strerror or exc}") from exc
        if identity != self._dir_identity:
            prefix, suffix = f"{self._key}-", "-allowFrom.json"
            with os.scandir(self.credentials_dir) as entries:
                names = sorted(
                    e.name
                    for e in entries
                    if e.name.startswith(prefix)
                    and e.name.endswith(suffix)
                    and len(e.name) > len(prefix + suffix)
                )
            self._allow_files = [self.credentials_dir / name for name in names]
            self._dir_identity = identity
        return [self.allow_from_path, *self._allow_files]

    def _unchanged(self, paths: list[Path]) -> bool:
        """Whether every path is as last read (stat only); False when any changed or is unknown."""
        for path in paths:
            try:
                identity = _file_identity(path.stat())
            except FileNotFoundError:
                if path in self._missing:
                    continue
                return False
            except OSError:
                return False
            if path == self.credentials_dir:
                if identity != self._dir_identity:
                    return False
                continue
            cached = self._cache.get(path)
            if cached is None or cached.identity != identity:
                return False
        return True

    def _load(self, path: Path, key: str) -> _CacheEntry | None:
        """The parsed file (cached while unchanged); None when it does not exist."""
        try:
            st = path.stat()
        except FileNotFoundError:
            self._cache.pop(path, None)
            self._missing.add(path)
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self._missing.discard(path)
        identity = _file_identity(st)
        cached = self._cache.get(path)
        if cached is not None and cached.identity == identity:
            return cached
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self._cache.pop(path, None)
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self.parses += 1
        try:
            entry = _CacheEntry(identity, _parse_store(raw, key))
        except _Corrupt as exc:
            entry = _CacheEntry(identity, None, str(exc))
            if (path, identity) not in self._reported:
                self._reported.add((path, identity))
                log.error(
                    "pairing store %s is corrupt (%s); it counts as empty and is not rewritten", path, exc
                )
        self._cache[path] = entry
        return entry

    def _load_for_write(self, path: Path, key: str) -> dict[str, Any] | None:
        """Under the lock: the file's data; a corrupt file is moved aside first (never overwritten)."""
        entry = self._load(path, key)
        if entry is None:
            return None
        if entry.data is not None:
            return entry.data
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = path.with_name(f"{path.name}{_CORRUPT_SUFFIX}{stamp}")
        try:
            os.rename(path, aside)
        except OSError as exc:
            raise StateError(f"cannot move the corrupt {path} aside: {exc.strerror or exc}") from exc
        self._cache.pop(path, None)
        log.error("moved the corrupt pairing store %s to %s; its entries no longer count", path, aside)
        return None

    @contextlib.contextmanager
    def _locked(self, path: Path, default: object) -> Iterator[None]:
        if not path.exists():  # OpenClaw locks the file itself, so it must exist first
            _create_if_missing(path, default)
        with _file_lock(path, timeout=self._lock_timeout, stale=self._lock_stale):
            yield

    @staticmethod
    def _requests_of(data: Mapping[str, Any] | None) -> list[PairingRequest]:
        records = data.get("requests") if data is not None else None
        if not isinstance(records, list):
            return []
        parsed = (PairingRequest.from_json(record) for record in records)
        return [request for request in parsed if request is not None]

    def _read_requests(self) -> list[PairingRequest]:
        return self._requests_of(self._load_for_write(self.pairing_path, "requests"))

    def _write_requests(self, requests: list[PairingRequest]) -> None:
        _write_json(
            self.pairing_path,
            {"version": _STORE_VERSION, "requests": [request.to_json() for request in requests]},
        )
        self._cache.pop(self.pairing_path, None)

    def _prune(self, requests: list[PairingRequest], now: datetime) -> list[PairingRequest]:
        """Expired requests out; then at most ``max_pending`` per account (the most recently seen)."""
        live = [request for request in requests if not request.is_expired(now, self._ttl)]
        by_account: dict[str, list[PairingRequest]] = {}
        for request in live:
            by_account.setdefault(request.account, []).append(request)
        dropped: set[int] = set()
        for group in by_account.values():
            if len(group) > self._max_pending:
                group.sort(key=lambda r: r.last_seen_at or r.created_at or now)
                dropped.update(id(r) for r in group[: len(group) - self._max_pending])
        return [request for request in live if id(request) not in dropped]

    def _upsert_sync(self, sender: str, meta: dict[str, str] | None, account: str) -> UpsertResult:
        if not sender:
            raise ValueError("a pairing request needs a sender id")
        with self._locked(self.pairing_path, {"version": _STORE_VERSION, "requests": []}):
            now = self._now()
            stored = self._read_requests()
            requests = self._prune(stored, now)
            codes = [request.code for request in requests]
            for index, existing in enumerate(requests):
                if normalize_allow_entry(existing.id) != sender or existing.account != account:
                    continue
                code = existing.code or generate_code(codes, randbelow=self._randbelow)
                requests[index] = PairingRequest(
                    id=existing.id,
                    code=code,
                    created_at=existing.created_at,
                    last_seen_at=now,
                    meta={**(existing.meta if meta is None else meta), "accountId": account},
                    extra=existing.extra,
                )
                self._write_requests(requests)
                return UpsertResult(code, created=False)
            if sum(1 for r in requests if r.account == account) >= self._max_pending:
                if requests != stored:
                    self._write_requests(requests)
                log.info(
                    "pairing request from %s at %s not recorded: %d already pending there",
                    sender,
                    account,
                    self._max_pending,
                )
                return UpsertResult("", created=False)
            code = generate_code(codes, randbelow=self._randbelow)
            requests.append(PairingRequest(sender, code, now, now, {**(meta or {}), "accountId": account}))
            self._write_requests(requests)
            log.info("new pairing request from %s at %s", sender, account)
            return UpsertResult(code, created=True)

    def _list_sync(self, account: str | None) -> list[PairingRequest]:
        with self._locked(self.pairing_path, {"version": _STORE_VERSION, "requests": []}):
            now = self._now()
            stored = self._read_requests()
            requests = self._prune(stored, now)
            if requests != stored:
                self._write_requests(requests)
        if account is not None:
            requests = [r for r in requests if r.account == account]
        return sorted(requests, key=lambda r: r.created_at or now)

    def _read_pending_sync(self, account: str | None) -> list[PairingRequest]:
        entry = self._load(self.pairing_path, "requests")
        now = self._now()
        requests = self._prune(self._requests_of(entry.data if entry else None), now)
        if account is not None:
            requests = [r for r in requests if r.account == account]
        return sorted(requests, key=lambda r: r.created_at or now)

    def _approve_sync(self, code: str) -> ApprovedSender | None:
        with self._locked(self.pairing_path, {"version": _STORE_VERSION, "requests": []}):
            now = self._now()
            stored = self._read_requests()
            requests = self._prune(stored, now)
            match = next((r for r in requests if normalize_code(r.code) == code), None)
            if match is None:
                if requests != stored:
                    self._write_requests(requests)
                return None
            entry = normalize_allow_entry(match.id)
            # Allow first, then forget the request: a crash in between leaves a harmless
            # leftover request rather than a lost approval.
            self._add_allow_sync(entry, self._account_allow_path(match.account))
            self._write_requests([r for r in requests if r is not match])
        log.info("approved pairing for %s", entry)
        return ApprovedSender(id=match.id, entry=entry, request=match)

    @staticmethod
    def _allow_list_of(data: Mapping[str, Any] | None) -> list[str]:
        entries = data.get("allowFrom") if data is not None else None
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
        out: dict[str, None] = {}
        for path in self._allow_paths():
            entry = self._load(path, "allowFrom")
            for sender in self._allow_list_of(entry.data if entry else None):
                out.setdefault(sender)
        self._allow_from_cached = tuple(out)
        return self._allow_from_cached

    def _write_allow_list(self, path: Path, entries: list[str]) -> None:
        _write_json(path, {"version": _STORE_VERSION, "allowFrom": entries})
        self._cache.pop(path, None)

    def _add_allow_sync(self, entry: str, path: Path) -> bool:
        if not entry or entry == WILDCARD:
            return False
        with self._locked(path, {"version": _STORE_VERSION, "allowFrom": []}):
            current = self._allow_list_of(self._load_for_write(path, "allowFrom"))
            if entry in current:
                return False
            self._write_allow_list(path, [*current, entry])
            return True

    def _remove_allow_sync(self, entry: str) -> bool:
        removed = False
        for path in self._allow_paths():
            if not path.exists():
                continue
            with self._locked(path, {"version": _STORE_VERSION, "allowFrom": []}):
                current = self._allow_list_of(self._load_for_write(path, "allowFrom"))
                if entry in current:
                    self._write_allow_list(path, [e for e in current if e != entry])
                    removed = True
        return removed
