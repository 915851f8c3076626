from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MemberKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_KIND_UNSPECIFIED: _ClassVar[MemberKind]
    MEMBER_KIND_AGENT: _ClassVar[MemberKind]
MEMBER_KIND_UNSPECIFIED: MemberKind
MEMBER_KIND_AGENT: MemberKind

class MetadataValue(_message.Message):
    __slots__ = ("string_value", "number_value", "bool_value")
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    number_value: float
    bool_value: bool
    def __init__(self, string_value: _Optional[str] = ..., number_value: _Optional[float] = ..., bool_value: _Optional[bool] = ...) -> None: ...

class ProfileUpdate(_message.Message):
    __slots__ = ("name", "encrypted_image", "member_kind", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetadataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetadataValue, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_IMAGE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    encrypted_image: EncryptedProfileImageRef
    member_kind: MemberKind
    metadata: _containers.MessageMap[str, MetadataValue]
    def __init__(self, name: _Optional[str] = ..., encrypted_image: _Optional[_Union[EncryptedProfileImageRef, _Mapping]] = ..., member_kind: _Optional[_Union[MemberKind, str]] = ..., metadata: _Optional[_Mapping[str, MetadataValue]] = ...) -> None: ...

class ProfileSnapshot(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[MemberProfile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[MemberProfile, _Mapping]]] = ...) -> None: ...

class MemberProfile(_message.Message):
    __slots__ = ("inbox_id", "name", "encrypted_image", "member_kind", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetadataValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetadataValue, _Mapping]] = ...) -> None: ...
    INBOX_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_IMAGE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    inbox_id: bytes
    name: str
    encrypted_image: EncryptedProfileImageRef
    member_kind: MemberKind
    metadata: _containers.MessageMap[str, MetadataValue]
    def __init__(self, inbox_id: _Optional[bytes] = ..., name: _Optional[str] = ..., encrypted_image: _Optional[_Union[EncryptedProfileImageRef, _Mapping]] = ..., member_kind: _Optional[_Union[MemberKind, str]] = ..., metadata: _Optional[_Mapping[str, MetadataValue]] = ...) -> None: ...

class EncryptedProfileImageRef(_message.Message):
    __slots__ = ("url", "salt", "nonce")
    URL_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    url: str
    salt: bytes
    nonce: bytes
    def __init__(self, url: _Optional[str] = ..., salt: _Optional[bytes] = ..., nonce: _Optional[bytes] = ...) -> None: ...
