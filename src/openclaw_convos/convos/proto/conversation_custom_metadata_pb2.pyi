from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversationCustomMetadata(_message.Message):
    __slots__ = ("tag", "profiles", "expiresAtUnix", "imageEncryptionKey", "encryptedGroupImage", "emoji")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    EXPIRESATUNIX_FIELD_NUMBER: _ClassVar[int]
    IMAGEENCRYPTIONKEY_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTEDGROUPIMAGE_FIELD_NUMBER: _ClassVar[int]
    EMOJI_FIELD_NUMBER: _ClassVar[int]
    tag: str
    profiles: _containers.RepeatedCompositeFieldContainer[ConversationProfile]
    expiresAtUnix: int
    imageEncryptionKey: bytes
    encryptedGroupImage: EncryptedImageRef
    emoji: str
    def __init__(self, tag: _Optional[str] = ..., profiles: _Optional[_Iterable[_Union[ConversationProfile, _Mapping]]] = ..., expiresAtUnix: _Optional[int] = ..., imageEncryptionKey: _Optional[bytes] = ..., encryptedGroupImage: _Optional[_Union[EncryptedImageRef, _Mapping]] = ..., emoji: _Optional[str] = ...) -> None: ...

class EncryptedImageRef(_message.Message):
    __slots__ = ("url", "salt", "nonce")
    URL_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    url: str
    salt: bytes
    nonce: bytes
    def __init__(self, url: _Optional[str] = ..., salt: _Optional[bytes] = ..., nonce: _Optional[bytes] = ...) -> None: ...

class ConversationProfile(_message.Message):
    __slots__ = ("inboxId", "name", "image", "encryptedImage", "connections")
    INBOXID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTEDIMAGE_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    inboxId: bytes
    name: str
    image: str
    encryptedImage: EncryptedImageRef
    connections: str
    def __init__(self, inboxId: _Optional[bytes] = ..., name: _Optional[str] = ..., image: _Optional[str] = ..., encryptedImage: _Optional[_Union[EncryptedImageRef, _Mapping]] = ..., connections: _Optional[str] = ...) -> None: ...
