from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class InvitePayload(_message.Message):
    __slots__ = ("conversationToken", "creator_inbox_id", "tag", "name", "description", "imageURL", "conversationExpiresAtUnix", "expiresAtUnix", "expiresAfterUse", "emoji")
    CONVERSATIONTOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATOR_INBOX_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGEURL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONEXPIRESATUNIX_FIELD_NUMBER: _ClassVar[int]
    EXPIRESATUNIX_FIELD_NUMBER: _ClassVar[int]
    EXPIRESAFTERUSE_FIELD_NUMBER: _ClassVar[int]
    EMOJI_FIELD_NUMBER: _ClassVar[int]
    conversationToken: bytes
    creator_inbox_id: bytes
    tag: str
    name: str
    description: str
    imageURL: str
    conversationExpiresAtUnix: int
    expiresAtUnix: int
    expiresAfterUse: bool
    emoji: str
    def __init__(self, conversationToken: _Optional[bytes] = ..., creator_inbox_id: _Optional[bytes] = ..., tag: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., imageURL: _Optional[str] = ..., conversationExpiresAtUnix: _Optional[int] = ..., expiresAtUnix: _Optional[int] = ..., expiresAfterUse: _Optional[bool] = ..., emoji: _Optional[str] = ...) -> None: ...

class SignedInvite(_message.Message):
    __slots__ = ("payload", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signature: bytes
    def __init__(self, payload: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
