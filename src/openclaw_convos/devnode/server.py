"""gRPC plumbing of the devnode: generic handlers for the exact v3 method paths, server options.

:func:`build_server` returns an unstarted ``grpc.aio`` server serving
``xmtp.identity.api.v1.IdentityApi``, ``xmtp.mls.api.v1.MlsApi`` and
``xmtp.migration.api.v1.D14nMigrationApi`` from a :class:`~.service.NodeService`. ``MlsApi/Subscribe``
is not registered, so grpcio answers it with ``UNIMPLEMENTED``. Every RPC is logged at DEBUG on the
``openclaw_convos.devnode`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from .proto import identity_api_pb2 as ident
from .proto import mls_api_pb2 as api
from .service import NodeService, RpcAbort, StreamContext

logger = logging.getLogger("openclaw_convos.devnode")

IDENTITY_SERVICE = "xmtp.identity.api.v1.IdentityApi"
MLS_SERVICE = "xmtp.mls.api.v1.MlsApi"
MIGRATION_SERVICE = "xmtp.migration.api.v1.D14nMigrationApi"

MAX_RECEIVE_BYTES = 50 * 1024 * 1024

#: Server options: 50 MiB receive limit, unlimited send, libxmtp's 16 s pings allowed (also idle),
#: server pings after 5 idle minutes, and no SO_REUSEPORT (a second node must fail to bind).
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.max_send_message_length", -1),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.keepalive_time_ms", 300_000),
    ("grpc.so_reuseport", 0),
)


Handler = Callable[[Any], Message]


def _peer(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    try:
        return str(context.peer())
    except Exception:  # peer() can fail on a call that is already gone
        return "?"


def _unary(path: str, func: Handler, request_type: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:
    async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        logger.debug("rpc %s from %s", path, _peer(context))
        try:
            return func(request)
        except RpcAbort as exc:
            failure = exc
        except Exception as exc:
            logger.exception("rpc %s failed", path)
            failure = RpcAbort(grpc.StatusCode.INTERNAL, f"internal error: {exc}")
        logger.debug("rpc %s -> %s %s", path, failure.code.name, failure.details)
        await context.abort(failure.code, failure.details)
        raise AssertionError("unreachable")  # context.abort raises

    return grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=request_type.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def _stream(
    path: str, func: Callable[[Any, StreamContext], Awaitable[None]], request_type: type[Message]
) -> grpc.RpcMethodHandler[Any, Any]:
    async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        logger.debug("stream %s opened from %s", path, _peer(context))
        try:
            await func(request, context)
            logger.debug("stream %s ended", path)
            return
        except RpcAbort as exc:
            failure = exc
        except Exception as exc:
            # The client hung up mid-write: a normal end. grpcio may report it as a failed write
            # (cygrpc's ExecuteBatchError on a SendMessageOperation) before the context knows.
            if context.cancelled() or context.done() or type(exc).__name__ == "ExecuteBatchError":
                logger.debug("stream %s ended: the client went away (%s)", path, type(exc).__name__)
                return
            logger.exception("stream %s failed", path)
            failure = RpcAbort(grpc.StatusCode.INTERNAL, f"internal error: {exc}")
        logger.debug("stream %s -> %s %s", path, failure.code.name, failure.details)
        await context.abort(failure.code, failure.details)

    # Payloads are serialised once per publish and shared by all subscribers: no response serialiser.
    return grpc.unary_stream_rpc_method_handler(
        handler,
        request_deserializer=request_type.FromString,
    )


def method_handlers(service: NodeService) -> list[grpc.GenericRpcHandler[Any, Any]]:
    """Generic handlers for every served method path."""
    s = service
    identity: dict[str, tuple[Handler, type[Message]]] = {
        "PublishIdentityUpdate": (s.publish_identity_update, ident.PublishIdentityUpdateRequest),
        "GetIdentityUpdates": (s.get_identity_updates, ident.GetIdentityUpdatesRequest),
        "GetInboxIds": (s.get_inbox_ids, ident.GetInboxIdsRequest),
        "VerifySmartContractWalletSignatures": (
            s.verify_smart_contract_wallet_signatures,
            ident.VerifySmartContractWalletSignaturesRequest,
        ),
    }
    mls_unary: dict[str, tuple[Handler, type[Message]]] = {
        "SendGroupMessages": (s.send_group_messages, api.SendGroupMessagesRequest),
        "SendWelcomeMessages": (s.send_welcome_messages, api.SendWelcomeMessagesRequest),
        "RegisterInstallation": (s.register_installation, api.RegisterInstallationRequest),
        "UploadKeyPackage": (s.upload_key_package, api.UploadKeyPackageRequest),
        "FetchKeyPackages": (s.fetch_key_packages, api.FetchKeyPackagesRequest),
        "RevokeInstallation": (s.unimplemented, api.RevokeInstallationRequest),
        "GetIdentityUpdates": (s.unimplemented, api.GetIdentityUpdatesRequest),
        "QueryGroupMessages": (s.query_group_messages, api.QueryGroupMessagesRequest),
        "QueryWelcomeMessages": (s.query_welcome_messages, api.QueryWelcomeMessagesRequest),
        "BatchPublishCommitLog": (s.batch_publish_commit_log, api.BatchPublishCommitLogRequest),
        "BatchQueryCommitLog": (s.batch_query_commit_log, api.BatchQueryCommitLogRequest),
        "GetNewestGroupMessage": (s.get_newest_group_message, api.GetNewestGroupMessageRequest),
    }
    identity_handlers = {
        name: _unary(f"/{IDENTITY_SERVICE}/{name}", func, req) for name, (func, req) in identity.items()
    }
    mls_handlers = {
        name: _unary(f"/{MLS_SERVICE}/{name}", func, req) for name, (func, req) in mls_unary.items()
    }
    mls_handlers["SubscribeGroupMessages"] = _stream(
        f"/{MLS_SERVICE}/SubscribeGroupMessages",
        s.subscribe_group_messages,
        api.SubscribeGroupMessagesRequest,
    )
    mls_handlers["SubscribeWelcomeMessages"] = _stream(
        f"/{MLS_SERVICE}/SubscribeWelcomeMessages",
        s.subscribe_welcome_messages,
        api.SubscribeWelcomeMessagesRequest,
    )
    migration_handlers = {
        "FetchD14nCutover": _unary(
            f"/{MIGRATION_SERVICE}/FetchD14nCutover", s.fetch_d14n_cutover, empty_pb2.Empty
        ),
    }
    return [
        grpc.method_handlers_generic_handler(IDENTITY_SERVICE, identity_handlers),
        grpc.method_handlers_generic_handler(MLS_SERVICE, mls_handlers),
        grpc.method_handlers_generic_handler(MIGRATION_SERVICE, migration_handlers),
    ]


def build_server(service: NodeService) -> grpc.aio.Server:
    """An unstarted aio server with the devnode's handlers and options (no ports bound yet)."""
    return grpc.aio.server(handlers=method_handlers(service), options=SERVER_OPTIONS)
