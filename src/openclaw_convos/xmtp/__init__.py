"""The XMTP layer: the only code that imports libxmtp's bindings (``xmtp_bindings.xmtpv3``)."""

from .attachments import EncryptedAttachment, InlineAttachment, RemoteAttachment
from .client import BackendPool, XmtpClient, XmtpConversation, ethereum_address, generate_inbox_id
from .endpoints import ENV_URLS, Endpoint, resolve_endpoint
from .stream import MessageStream
from .types import (
    Consent,
    ContentTypeId,
    ConversationKind,
    Identity,
    IdentityKeys,
    InboxState,
    Member,
    MessageKind,
    XmtpMessage,
)

__all__ = [
    "ENV_URLS",
    "BackendPool",
    "Consent",
    "ContentTypeId",
    "ConversationKind",
    "EncryptedAttachment",
    "Endpoint",
    "Identity",
    "IdentityKeys",
    "InboxState",
    "InlineAttachment",
    "Member",
    "MessageKind",
    "MessageStream",
    "RemoteAttachment",
    "XmtpClient",
    "XmtpConversation",
    "XmtpMessage",
    "ethereum_address",
    "generate_inbox_id",
    "resolve_endpoint",
]
