"""What the gateway sends, as data: frozen values that only this layer turns into wire bytes.

The runtime decides *what* goes out (:data:`Outbound`), records it (the outbox stores
:func:`to_json`), and hands it to :meth:`XmtpConversation.publish`, which encodes it here. So the
runtime never builds ``EncodedContent`` and a recording fake can see every send as a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..convos import content as cc
from ..convos import profiles as cp
from ..errors import ProtocolError
from . import attachments as xa
from . import content as xc


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A text that quotes ``reference_id`` (sent by ``reference_inbox_id``)."""

    reference_id: str
    reference_inbox_id: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Reaction:
    reference_id: str
    reference_inbox_id: str
    emoji: str
    added: bool = True


@dataclass(frozen=True, slots=True)
class Typing:
    """Convos' typing indicator (never pushed)."""

    active: bool


@dataclass(frozen=True, slots=True)
class Thinking:
    """Convos' thinking indicator (``convos.org/thinking``) about one message (never pushed)."""

    active: bool
    target_message_id: str
    label: str


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    pass


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """Our own profile in a conversation, marked as an agent (a name only: Convos profile images
    are encrypted with the group key and uploaded to a blob store)."""

    name: str
    agent: bool = True


@dataclass(frozen=True, slots=True)
class JoinError:
    """The creator's refusal of a join request (``convos.org/invite_join_error``)."""

    error_type: str
    invite_tag: str
    at: float
    """Unix seconds."""


@dataclass(frozen=True, slots=True, repr=False)
class RemoteFile:
    """A file already encrypted and uploaded: the ``remoteStaticAttachment`` message to send.

    The keys (hex) are secrets: the outbox keeps them in the state folder until the message is
    out (as the conversation itself does); ``repr`` leaves them out."""

    url: str
    content_digest: str
    secret: str
    salt: str
    nonce: str
    content_length: int | None = None
    filename: str | None = None

    @classmethod
    def of(cls, ref: xa.RemoteAttachment) -> RemoteFile:
        return cls(
            ref.url,
            ref.content_digest,
            ref.secret.hex(),
            ref.salt.hex(),
            ref.nonce.hex(),
            ref.content_length,
            ref.filename,
        )

    def reference(self) -> xa.RemoteAttachment:
        return xa.RemoteAttachment(
            url=self.url,
            content_digest=self.content_digest,
            secret=bytes.fromhex(self.secret),
            salt=bytes.fromhex(self.salt),
            nonce=bytes.fromhex(self.nonce),
            scheme="https",
            content_length=self.content_length,
            filename=self.filename,
        )

    def __repr__(self) -> str:
        return f"RemoteFile(url={self.url!r}, filename={self.filename!r}, content_length={self.content_length!r})"


Outbound = Text | Reply | Reaction | Typing | Thinking | ReadReceipt | ProfileUpdate | JoinError | RemoteFile
"""Everything the runtime sends."""

_KINDS: dict[str, type[Any]] = {
    "text": Text,
    "reply": Reply,
    "reaction": Reaction,
    "typing": Typing,
    "thinking": Thinking,
    "read_receipt": ReadReceipt,
    "profile": ProfileUpdate,
    "join_error": JoinError,
    "remote_file": RemoteFile,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def encode(item: Outbound) -> tuple[bytes, bool]:
    """``EncodedContent`` bytes of ``item`` and whether the message should be pushed."""
    match item:
        case Text(text=text):
            return xc.encode_text(text), True
        case Reply(reference_id=ref, reference_inbox_id=inbox, text=text):
            return xc.encode_reply(ref, text, inbox), True
        case Reaction(reference_id=ref, reference_inbox_id=inbox, emoji=emoji, added=added):
            return xc.encode_reaction(ref, inbox, emoji, added=added), True
        case Typing(active=active):
            return cc.encode_typing_indicator(cc.TypingIndicator(is_typing=active)), False
        case Thinking(active=active, target_message_id=target, label=label):
            state = cc.ThinkingState.START if active else cc.ThinkingState.STOP
            return cc.encode_thinking(cc.Thinking(state, target, label)), False
        case ReadReceipt():
            return xc.encode_read_receipt(), False
        case ProfileUpdate(name=name, agent=agent):
            kind = cp.MemberKind.AGENT if agent else cp.MemberKind.UNSPECIFIED
            return cp.profile_update_content(cp.ProfileUpdate(name=name, member_kind=kind)), False
        case JoinError(error_type=error_type, invite_tag=tag, at=at):
            moment = datetime.fromtimestamp(at, UTC)
            error = cc.InviteJoinError(cc.InviteJoinErrorType.parse(error_type), tag, moment)
            return cc.encode_invite_join_error(error), True
        case RemoteFile():
            return xa.encode_remote_attachment(item.reference()), True
    raise ProtocolError(f"cannot encode {type(item).__name__}")


def to_json(item: Outbound) -> str:
    """A stable text form of ``item`` (what the outbox stores)."""
    fields = {name: getattr(item, name) for name in item.__dataclass_fields__}
    return json.dumps({"kind": _NAMES[type(item)], **fields}, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> Outbound:
    """The value :func:`to_json` wrote; :class:`ProtocolError` for anything else."""
    try:
        data = json.loads(text)
        cls = _KINDS[data.pop("kind")]
        item: Outbound = cls(**data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"not a stored outbound item: {exc}") from exc
    return item
