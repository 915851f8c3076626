"""Builders of MLS wire bytes and protobuf requests, and a raw gRPC client for the devnode."""

from __future__ import annotations

import os
import struct
from typing import Any

import grpc
import grpc.aio
from google.protobuf import message_factory
from google.protobuf.message import Message

from openclaw_convos.devnode.proto import association_pb2 as assoc
from openclaw_convos.devnode.proto import identity_api_pb2 as ident
from openclaw_convos.devnode.proto import migration_api_pb2 as migration
from openclaw_convos.devnode.proto import mls_api_pb2 as api
from openclaw_convos.devnode.proto import signature_pb2 as sig

# -- TLS / MLS builders ---------------------------------------------------------------------------


def varint(value: int, width: int | None = None) -> bytes:
    """RFC 9420 variable-length integer, minimal unless ``width`` (1, 2 or 4) is forced."""
    if width is None:
        width = 1 if value < 1 << 6 else 2 if value < 1 << 14 else 4
    prefix = {1: 0x00, 2: 0x40, 4: 0x80}[width]
    raw = bytearray(value.to_bytes(width, "big"))
    raw[0] |= prefix
    return bytes(raw)


def vec(data: bytes, width: int | None = None) -> bytes:
    """An ``opaque x<V>`` vector."""
    return varint(len(data), width) + data


def key_package(
    signature_key: bytes,
    *,
    version: int = 1,
    cipher_suite: int = 3,
    init_key: bytes | None = None,
    encryption_key: bytes | None = None,
    rest: bytes = b"\x00\x01credential-capabilities-etc",
) -> bytes:
    """A KeyPackage prefix as clients upload it; everything after signature_key is filler."""
    return (
        struct.pack(">HH", version, cipher_suite)
        + vec(init_key if init_key is not None else os.urandom(32))
        + vec(encryption_key if encryption_key is not None else os.urandom(32))
        + vec(signature_key)
        + rest
    )


def private_message(
    group_id: bytes, content_type: int = 1, *, epoch: int = 0, body: bytes | None = None, version: int = 1
) -> bytes:
    """An MLSMessage with a PrivateMessage (wire format 2)."""
    return (
        struct.pack(">HH", version, 2)
        + vec(group_id)
        + struct.pack(">QB", epoch, content_type)
        + vec(b"")
        + vec(b"encrypted-sender-data")
        + vec(body if body is not None else os.urandom(24))
    )


def public_message(
    group_id: bytes, content_type: int = 3, *, sender_type: int = 1, epoch: int = 7, aad: bytes = b""
) -> bytes:
    """An MLSMessage with a PublicMessage (wire format 1)."""
    sender = struct.pack(">B", sender_type)
    if sender_type in (1, 2):
        sender += struct.pack(">I", 5)
    return (
        struct.pack(">HH", 1, 1)
        + vec(group_id)
        + struct.pack(">Q", epoch)
        + sender
        + vec(aad)
        + struct.pack(">B", content_type)
        + vec(os.urandom(16))
    )


def other_wire_format(wire_format: int) -> bytes:
    """An MLSMessage header with another wire format (welcome, group info, key package...)."""
    return struct.pack(">HH", 1, wire_format) + vec(os.urandom(16)) + os.urandom(40)


def group_input(
    data: bytes, *, sender_hmac: bytes = b"hmac", should_push: bool = True
) -> api.GroupMessageInput:
    """A SendGroupMessages entry."""
    return api.GroupMessageInput(
        v1=api.GroupMessageInput.V1(data=data, sender_hmac=sender_hmac, should_push=should_push)
    )


def welcome_v1(
    installation_key: bytes,
    data: bytes | None = None,
    *,
    hpke_public_key: bytes = b"h" * 32,
    wrapper_algorithm: int = 2,
    welcome_metadata: bytes = b"meta",
) -> api.WelcomeMessageInput:
    """A V1 SendWelcomeMessages entry."""
    return api.WelcomeMessageInput(
        v1=api.WelcomeMessageInput.V1(
            installation_key=installation_key,
            data=data if data is not None else os.urandom(40),
            hpke_public_key=hpke_public_key,
            wrapper_algorithm=wrapper_algorithm,  # type: ignore[arg-type]
            welcome_metadata=welcome_metadata,
        )
    )


def welcome_pointer(
    installation_key: bytes,
    pointer: bytes | None = None,
    *,
    hpke_public_key: bytes = b"x" * 1216,
    wrapper_algorithm: int = 2,
) -> api.WelcomeMessageInput:
    """A pointer SendWelcomeMessages entry."""
    return api.WelcomeMessageInput(
        welcome_pointer=api.WelcomeMessageInput.WelcomePointer(
            installation_key=installation_key,
            welcome_pointer=pointer if pointer is not None else os.urandom(60),
            hpke_public_key=hpke_public_key,
            wrapper_algorithm=wrapper_algorithm,  # type: ignore[arg-type]
        )
    )


def paging(direction: int = 0, limit: int = 0, cursor: int = 0) -> api.PagingInfo:
    """A PagingInfo."""
    return api.PagingInfo(direction=direction, limit=limit, id_cursor=cursor)  # type: ignore[arg-type]


def registration(address: str, inbox_id: str, installation_key: bytes) -> assoc.IdentityUpdate:
    """An identity update shaped like a client registration: create_inbox + add installation."""
    return assoc.IdentityUpdate(
        inbox_id=inbox_id,
        client_timestamp_ns=1,
        actions=[
            assoc.IdentityAction(
                create_inbox=assoc.CreateInbox(
                    initial_identifier=address,
                    nonce=1,
                    initial_identifier_kind=assoc.IDENTIFIER_KIND_ETHEREUM,
                    initial_identifier_signature=sig.Signature(
                        erc_191=sig.RecoverableEcdsaSignature(bytes=b"s" * 65)
                    ),
                )
            ),
            assoc.IdentityAction(
                add=assoc.AddAssociation(
                    new_member_identifier=assoc.MemberIdentifier(installation_public_key=installation_key)
                )
            ),
        ],
    )


def address_action(inbox_id: str, address: str, *, revoke: bool = False) -> assoc.IdentityUpdate:
    """An identity update that adds or revokes one Ethereum address."""
    member = assoc.MemberIdentifier(ethereum_address=address)
    action = (
        assoc.IdentityAction(revoke=assoc.RevokeAssociation(member_to_revoke=member))
        if revoke
        else assoc.IdentityAction(add=assoc.AddAssociation(new_member_identifier=member))
    )
    return assoc.IdentityUpdate(inbox_id=inbox_id, actions=[action])


def new_address() -> str:
    """A random lowercase Ethereum-style address."""
    return "0x" + os.urandom(20).hex()


def new_inbox() -> str:
    """A random inbox id (64 lowercase hex)."""
    return os.urandom(32).hex()


# -- raw client -----------------------------------------------------------------------------------

_FILES = {
    "xmtp.identity.api.v1.IdentityApi": ident.DESCRIPTOR,
    "xmtp.mls.api.v1.MlsApi": api.DESCRIPTOR,
    "xmtp.migration.api.v1.D14nMigrationApi": migration.DESCRIPTOR,
}


def _response_class(service: str, method: str) -> type[Message]:
    descriptor = _FILES[service].services_by_name[service.rsplit(".", 1)[1]].methods_by_name[method]
    return message_factory.GetMessageClass(descriptor.output_type)


class Rpc:
    """Calls the devnode's methods by name over a raw ``grpc.aio`` channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel

    async def call(self, service: str, method: str, request: Message, timeout: float = 10) -> Any:
        """A unary call; returns the decoded response."""
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=_response_class(service, method).FromString,
        )
        return await stub(request, timeout=timeout)

    async def identity(self, method: str, request: Message) -> Any:
        """An IdentityApi call."""
        return await self.call("xmtp.identity.api.v1.IdentityApi", method, request)

    async def mls(self, method: str, request: Message) -> Any:
        """An MlsApi call."""
        return await self.call("xmtp.mls.api.v1.MlsApi", method, request)

    def stream(self, method: str, request: Message) -> grpc.aio.UnaryStreamCall[Any, Any]:
        """Open an MlsApi server stream (SubscribeGroupMessages or SubscribeWelcomeMessages)."""
        stub = self.channel.unary_stream(
            f"/xmtp.mls.api.v1.MlsApi/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=_response_class("xmtp.mls.api.v1.MlsApi", method).FromString,
        )
        return stub(request)

    async def send_group(self, *datas: bytes) -> None:
        """SendGroupMessages with the given MLS messages."""
        await self.mls(
            "SendGroupMessages", api.SendGroupMessagesRequest(messages=[group_input(d) for d in datas])
        )

    async def send_welcomes(self, *entries: api.WelcomeMessageInput) -> None:
        """SendWelcomeMessages with the given entries."""
        await self.mls("SendWelcomeMessages", api.SendWelcomeMessagesRequest(messages=list(entries)))

    async def query_group(self, group_id: bytes, info: api.PagingInfo | None = None) -> Any:
        """QueryGroupMessages."""
        request = api.QueryGroupMessagesRequest(group_id=group_id)
        if info is not None:
            request.paging_info.CopyFrom(info)
        return await self.mls("QueryGroupMessages", request)

    async def query_welcomes(self, installation_key: bytes, info: api.PagingInfo | None = None) -> Any:
        """QueryWelcomeMessages."""
        request = api.QueryWelcomeMessagesRequest(installation_key=installation_key)
        if info is not None:
            request.paging_info.CopyFrom(info)
        return await self.mls("QueryWelcomeMessages", request)
