"""Per-conversation profiles: ``convos.org/profile_update`` and ``convos.org/profile_snapshot``.

A ``ProfileUpdate`` is sent by a member about itself (the sender is the member); a
``ProfileSnapshot`` is sent by whoever adds members, listing everyone's profile. An update with
neither name nor image clears the sender's profile. An AI agent should send an update with
``member_kind = AGENT`` after joining, or the iOS app shows it as "Somebody".

:func:`resolve_display_names` computes the names to show from a conversation's decoded messages,
with the CLI's precedence (mirroring iOS): the member's own latest update, then the newest
snapshot entry, then legacy appData profiles; a blank name never hides a known one.
"""

from __future__ import annotations

import enum
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from google.protobuf.internal.containers import MessageMap
from google.protobuf.message import DecodeError

from .encoded import ContentTypeId, encode_envelope
from .errors import ContentArgumentError, ContentMalformed
from .metadata import LegacyProfile
from .proto import profile_messages_pb2 as pb
from .timefmt import require_aware

PROFILE_UPDATE = ContentTypeId("convos.org", "profile_update", 1, 0)
PROFILE_SNAPSHOT = ContentTypeId("convos.org", "profile_snapshot", 1, 0)

MetadataScalar = str | float | bool
_EMPTY: Mapping[str, MetadataScalar] = MappingProxyType({})
_INBOX_ID = re.compile(r"[0-9a-fA-F]{64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")


class MemberKind(enum.IntEnum):
    """What a member is. Unknown values from newer clients are kept as plain ints."""

    UNSPECIFIED = 0
    AGENT = 1


@dataclass(frozen=True, slots=True)
class ProfileImage:
    """An encrypted profile image: where it is and how to open it (salt 32 bytes, nonce 12 bytes)."""

    url: str
    salt: bytes
    nonce: bytes


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """A member's own profile. Blank names decode as ``None``."""

    name: str | None = None
    encrypted_image: ProfileImage | None = None
    member_kind: int = MemberKind.UNSPECIFIED
    metadata: Mapping[str, MetadataScalar] = field(default_factory=lambda: _EMPTY)

    @property
    def clears_profile(self) -> bool:
        """True when the update has neither name nor image (it clears the sender's profile)."""
        return self.name is None and self.encrypted_image is None

    @property
    def is_agent(self) -> bool:
        return self.member_kind == MemberKind.AGENT

    @property
    def timezone(self) -> str | None:
        """The sender's IANA time zone (metadata ``timezone``), when it is a known zone."""
        return profile_timezone(self.metadata)


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """One member's entry in a snapshot."""

    inbox_id: str  # lowercase hex
    name: str | None = None
    encrypted_image: ProfileImage | None = None
    member_kind: int = MemberKind.UNSPECIFIED
    metadata: Mapping[str, MetadataScalar] = field(default_factory=lambda: _EMPTY)

    @property
    def is_agent(self) -> bool:
        return self.member_kind == MemberKind.AGENT

    @property
    def timezone(self) -> str | None:
        """The member's IANA time zone (metadata ``timezone``), when it is a known zone."""
        return profile_timezone(self.metadata)


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """Everyone's profiles, as the sender knew them."""

    profiles: tuple[MemberProfile, ...] = ()


TIMEZONE_KEY = "timezone"
"""ProfileUpdate metadata key (conversation-scoped) with the sender's IANA zone, e.g. ``Europe/Paris``."""


def profile_timezone(metadata: Mapping[str, MetadataScalar]) -> str | None:
    """The IANA zone in profile metadata, or None when absent or not a zone this machine knows.

    A peer chooses the value, so it is checked against the zone database (no path tricks, no
    arbitrary text reaching the agent).
    """
    value = metadata.get(TIMEZONE_KEY)
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not _ZONE_NAME.fullmatch(value):
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return value


# --- protobuf <-> records ---


def _image_to_pb(image: ProfileImage, target: pb.EncryptedProfileImageRef) -> None:
    target.url = image.url
    target.salt = bytes(image.salt)
    target.nonce = bytes(image.nonce)


def _metadata_to_pb(
    metadata: Mapping[str, MetadataScalar], target: MessageMap[str, pb.MetadataValue]
) -> None:
    for key, value in metadata.items():
        slot = target[key]
        if isinstance(value, bool):
            slot.bool_value = value
        elif isinstance(value, int | float):
            slot.number_value = float(value)
        elif isinstance(value, str):
            slot.string_value = value
        else:
            raise ContentArgumentError(f"profile metadata value for {key!r} must be str, number or bool")


def _metadata_from_pb(entries: Mapping[str, pb.MetadataValue]) -> Mapping[str, MetadataScalar]:
    out: dict[str, MetadataScalar] = {}
    for key, value in entries.items():
        kind = value.WhichOneof("value")
        if kind == "string_value":
            out[key] = value.string_value
        elif kind == "number_value":
            out[key] = value.number_value
        elif kind == "bool_value":
            out[key] = value.bool_value
    return MappingProxyType(out) if out else _EMPTY


def _image_from_pb(message: pb.EncryptedProfileImageRef) -> ProfileImage:
    return ProfileImage(url=message.url, salt=bytes(message.salt), nonce=bytes(message.nonce))


def _store(action: str, fill: Callable[[], None]) -> None:
    try:
        fill()
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ContentArgumentError):
            raise
        raise ContentArgumentError(f"{action}: {exc}") from exc


def encode_profile_update(update: ProfileUpdate) -> bytes:
    """Serialized ``ProfileUpdate`` protobuf."""
    message = pb.ProfileUpdate()

    def fill() -> None:
        if update.name:
            message.name = update.name
        if update.encrypted_image is not None:
            _image_to_pb(update.encrypted_image, message.encrypted_image)
        message.member_kind = int(update.member_kind)  # type: ignore[assignment]
        _metadata_to_pb(update.metadata, message.metadata)

    _store("cannot encode the profile update", fill)
    return message.SerializeToString(deterministic=True)


def decode_profile_update(data: bytes) -> ProfileUpdate:
    """Decode a ``ProfileUpdate`` protobuf."""
    message = pb.ProfileUpdate()
    try:
        message.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RecursionError) as exc:
        raise ContentMalformed("not a ProfileUpdate protobuf", str(PROFILE_UPDATE)) from exc
    return ProfileUpdate(
        name=(message.name or None) if message.HasField("name") else None,
        encrypted_image=_image_from_pb(message.encrypted_image)
        if message.HasField("encrypted_image")
        else None,
        member_kind=_kind(message.member_kind),
        metadata=_metadata_from_pb(message.metadata),
    )


def _kind(value: int) -> int:
    try:
        return MemberKind(value)
    except ValueError:
        return int(value)


def _member_to_pb(member: MemberProfile, target: pb.MemberProfile) -> None:
    if not isinstance(member.inbox_id, str) or _INBOX_ID.fullmatch(member.inbox_id) is None:
        raise ContentArgumentError("a snapshot inbox id must be 64 hex characters")
    target.inbox_id = bytes.fromhex(member.inbox_id)
    if member.name:
        target.name = member.name
    if member.encrypted_image is not None:
        _image_to_pb(member.encrypted_image, target.encrypted_image)
    target.member_kind = int(member.member_kind)  # type: ignore[assignment]
    _metadata_to_pb(member.metadata, target.metadata)


def encode_profile_snapshot(snapshot: ProfileSnapshot) -> bytes:
    """Serialized ``ProfileSnapshot`` protobuf."""
    message = pb.ProfileSnapshot()

    def fill() -> None:
        for member in snapshot.profiles:
            _member_to_pb(member, message.profiles.add())

    _store("cannot encode the profile snapshot", fill)
    return message.SerializeToString(deterministic=True)


def decode_profile_snapshot(data: bytes) -> ProfileSnapshot:
    """Decode a ``ProfileSnapshot`` protobuf."""
    message = pb.ProfileSnapshot()
    try:
        message.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RecursionError) as exc:
        raise ContentMalformed("not a ProfileSnapshot protobuf", str(PROFILE_SNAPSHOT)) from exc
    return ProfileSnapshot(
        profiles=tuple(
            MemberProfile(
                inbox_id=bytes(p.inbox_id).hex(),
                name=(p.name or None) if p.HasField("name") else None,
                encrypted_image=_image_from_pb(p.encrypted_image) if p.HasField("encrypted_image") else None,
                member_kind=_kind(p.member_kind),
                metadata=_metadata_from_pb(p.metadata),
            )
            for p in message.profiles
        )
    )


def profile_update_content(update: ProfileUpdate) -> bytes:
    """``EncodedContent`` bytes of a ``convos.org/profile_update:1.0`` message (no fallback)."""
    return encode_envelope(PROFILE_UPDATE, encode_profile_update(update))


def profile_snapshot_content(snapshot: ProfileSnapshot) -> bytes:
    """``EncodedContent`` bytes of a ``convos.org/profile_snapshot:1.0`` message (no fallback)."""
    return encode_envelope(PROFILE_SNAPSHOT, encode_profile_snapshot(snapshot))


# --- display names ---

SentAt = int | datetime
"""When a message was sent: libxmtp's ``sent_at_ns`` (int) or an aware datetime."""


def _ns(sent_at: SentAt) -> int:
    if isinstance(sent_at, datetime):
        aware = require_aware(sent_at, "sent_at")
        return (aware - _EPOCH) // timedelta(microseconds=1) * 1000
    if isinstance(sent_at, int) and not isinstance(sent_at, bool):
        return sent_at
    raise TypeError("sent_at must be int nanoseconds or an aware datetime")


def _blank(name: str | None) -> bool:
    return name is None or not name.strip()


def resolve_display_names(
    items: Iterable[tuple[str, object, SentAt]],
    legacy_profiles: Iterable[LegacyProfile] = (),
) -> dict[str, str]:
    """Current display name per member inbox id (lowercase hex), from ``(sender, content, sent_at)``.

    ``content`` is any decoded value; only :class:`ProfileUpdate` and :class:`ProfileSnapshot`
    count. Per member:

    1. the member's own updates, newest first: the first with a non-blank name gives the name; an
       update that clears the profile (no name, no image) ends the search with no name; an
       image-only update is skipped;
    2. otherwise the newest snapshot entry for the member with a non-blank name;
    3. otherwise a legacy appData profile with a non-blank name.

    Members without a name are left out. Ties in ``sent_at`` go to the later item.
    """
    updates: dict[str, list[tuple[int, int, ProfileUpdate]]] = {}
    snapshot_names: dict[str, tuple[int, int, str]] = {}
    for index, (sender, content, sent_at) in enumerate(items):
        if isinstance(content, ProfileUpdate):
            updates.setdefault(sender.lower(), []).append((_ns(sent_at), index, content))
        elif isinstance(content, ProfileSnapshot):
            when = _ns(sent_at)
            for member in content.profiles:
                if _blank(member.name):
                    continue
                key = member.inbox_id.lower()
                current = snapshot_names.get(key)
                if current is None or (when, index) >= current[:2]:
                    snapshot_names[key] = (when, index, member.name or "")
    names: dict[str, str] = {}
    decided: set[str] = set()
    for member_id, member_updates in updates.items():
        for _, _, update in sorted(member_updates, key=lambda entry: entry[:2], reverse=True):
            if update.name is not None and not _blank(update.name):
                names[member_id] = update.name
                decided.add(member_id)
                break
            if update.clears_profile:
                decided.add(member_id)
                break
    for member_id, (_, _, name) in snapshot_names.items():
        if member_id not in decided:
            names[member_id] = name
            decided.add(member_id)
    for profile in legacy_profiles:
        member_id = profile.inbox_id.lower()
        if member_id not in decided and not _blank(profile.name):
            names[member_id] = profile.name or ""
            decided.add(member_id)
    return names
