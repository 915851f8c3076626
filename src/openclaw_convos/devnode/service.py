"""The RPC semantics of the devnode, independent of the gRPC server plumbing.

:class:`NodeService` implements every IdentityApi and MlsApi method of the XMTP v3 node contract
on top of a :class:`~openclaw_convos.devnode.store.Store`. Unary methods are plain synchronous
functions (request message in, response message out); failures raise :class:`RpcAbort` with the
exact status code and text of the reference node. The two subscription methods are coroutines that
write serialised messages to a :class:`StreamContext`.

Everything runs on the node's single event-loop thread. A publish inserts a row and hands it to
the dispatcher with no ``await`` in between, so live subscribers see ids in insertion order.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import grpc
from google.protobuf import empty_pb2

from openclaw_convos.errors import DevnodeError

from . import mls
from .proto import association_pb2 as assoc
from .proto import identity_api_pb2 as ident
from .proto import migration_api_pb2 as migration
from .proto import mls_api_pb2 as api
from .proto import mls_contents_pb2 as contents
from .store import (
    AddressChange,
    CommitLogRow,
    Direction,
    GroupMessageRow,
    Store,
    WelcomeRow,
    WelcomeType,
)
from .subscriptions import CloseReason, Dispatcher, Envelope, Subscription, Topic, TopicKind

MAX_PAGE_SIZE = 100
MAX_INBOX_LOG = 256
MAX_COMMIT_LOG_INSERTS = 10
MAX_COMMIT_LOG_QUERIES = 20
CUTOVER_CHECK_INTERVAL_S = 5.0
HEADER_FLUSH_S = 0.005

PUBLISH_CUTOVER_MESSAGE = (
    "publishing to XMTP V3 is no longer available. Please upgrade your client to XMTP D14N."
)
STREAM_CUTOVER_MESSAGE = "XMTP V3 streaming is no longer available. Please upgrade your client to XMTP D14N."
SLOW_READER_MESSAGE = "caller did not read all messages fast enough"
SHUTDOWN_MESSAGE = "service is shutting down"

_WRAPPER_SYMMETRIC_KEY = contents.WELCOME_WRAPPER_ALGORITHM_SYMMETRIC_KEY
_WRAPPER_CURVE25519 = contents.WELCOME_WRAPPER_ALGORITHM_CURVE25519
_POINTER_WRAPPER_XWING = contents.WELCOME_POINTER_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6
_ETHEREUM_KINDS = (assoc.IDENTIFIER_KIND_UNSPECIFIED, assoc.IDENTIFIER_KIND_ETHEREUM)
_SUBSCRIBED_METADATA = (("subscribed", "true"),)


class RpcAbort(DevnodeError):
    """An RPC ends with a non-OK gRPC status; ``details`` is the exact status message."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class StreamContext(Protocol):
    """The part of a gRPC servicer context that a subscription uses."""

    async def send_initial_metadata(self, initial_metadata: Sequence[tuple[str, str]]) -> None:
        """Send the response headers."""

    async def write(self, message: bytes) -> None:
        """Send one serialised response message."""


def _invalid(details: str) -> RpcAbort:
    return RpcAbort(grpc.StatusCode.INVALID_ARGUMENT, details)


def _plain(details: str) -> RpcAbort:
    """A plain Go error of the reference node, which gRPC reports as UNKNOWN."""
    return RpcAbort(grpc.StatusCode.UNKNOWN, details)


def effective_paging(info: api.PagingInfo | None) -> tuple[Direction, int, int]:
    """Direction, page size and cursor of a query: ASC only if asked, limit clamped to 1..100."""
    if info is None:
        return Direction.DESCENDING, MAX_PAGE_SIZE, 0
    direction = (
        Direction.ASCENDING if info.direction == api.SORT_DIRECTION_ASCENDING else Direction.DESCENDING
    )
    limit = info.limit if 1 <= info.limit <= MAX_PAGE_SIZE else MAX_PAGE_SIZE
    return direction, limit, info.id_cursor


def response_paging(direction: Direction, limit: int, ids: Sequence[int]) -> api.PagingInfo:
    """Response paging info: the last id as cursor only when the page is full."""
    cursor = ids[-1] if ids and len(ids) >= limit else 0
    return api.PagingInfo(direction=int(direction), limit=limit, id_cursor=cursor)  # type: ignore[arg-type]


def address_changes(update: assoc.IdentityUpdate) -> list[AddressChange]:
    """The address-index changes of an update, derived from its actions in order (no cascade)."""
    changes: list[AddressChange] = []
    for action in update.actions:
        kind = action.WhichOneof("kind")
        if kind == "create_inbox":
            create = action.create_inbox
            if create.initial_identifier_kind in _ETHEREUM_KINDS and create.initial_identifier:
                changes.append(AddressChange(create.initial_identifier.lower(), revoke=False))
        elif kind == "add":
            member = action.add.new_member_identifier
            if member.WhichOneof("kind") == "ethereum_address" and member.ethereum_address:
                changes.append(AddressChange(member.ethereum_address.lower(), revoke=False))
        elif kind == "revoke":
            member = action.revoke.member_to_revoke
            if member.WhichOneof("kind") == "ethereum_address" and member.ethereum_address:
                changes.append(AddressChange(member.ethereum_address.lower(), revoke=True))
    return changes


def group_message_proto(row: GroupMessageRow, include_content: bool = True) -> api.GroupMessage:
    """The wire form of a stored group message (metadata only when ``include_content`` is false)."""
    v1 = api.GroupMessage.V1(
        id=row.id, created_ns=row.created_ns, group_id=row.group_id, is_commit=row.is_commit
    )
    if include_content:
        v1.data = row.data
        v1.sender_hmac = row.sender_hmac
        v1.should_push = row.should_push
    return api.GroupMessage(v1=v1)


def welcome_message_proto(row: WelcomeRow) -> api.WelcomeMessage | None:
    """The wire form of a stored welcome or pointer; None for an unknown message type."""
    if row.message_type == WelcomeType.V1:
        return api.WelcomeMessage(
            v1=api.WelcomeMessage.V1(
                id=row.id,
                created_ns=row.created_ns,
                installation_key=row.installation_key,
                data=row.data,
                hpke_public_key=row.hpke_public_key,
                wrapper_algorithm=row.wrapper_algorithm,  # type: ignore[arg-type]
                welcome_metadata=row.welcome_metadata,
            )
        )
    if row.message_type == WelcomeType.POINTER:
        return api.WelcomeMessage(
            welcome_pointer=api.WelcomeMessage.WelcomePointer(
                id=row.id,
                created_ns=row.created_ns,
                installation_key=row.installation_key,
                welcome_pointer=row.data,
                hpke_public_key=row.hpke_public_key,
                wrapper_algorithm=row.wrapper_algorithm,  # type: ignore[arg-type]
            )
        )
    return None


def _pointer_algorithm_name(value: int) -> str:
    try:
        return contents.WelcomePointerWrapperAlgorithm.Name(value)
    except ValueError:
        return str(value)


def _commit_log_proto(row: CommitLogRow) -> contents.CommitLogEntry:
    entry = contents.CommitLogEntry(sequence_id=row.id, serialized_commit_log_entry=row.serialized_entry)
    entry.signature.MergeFromString(row.signature)
    return entry


class NodeService:
    """All RPCs of the devnode over one store and one dispatcher.

    ``cutover_ns`` (0 = off) and ``scw_signatures_valid`` may be changed while the node runs.
    """

    def __init__(
        self,
        store: Store,
        *,
        cutover_ns: int = 0,
        scw_signatures_valid: bool = True,
        cutover_check_interval_s: float = CUTOVER_CHECK_INTERVAL_S,
        dispatcher: Dispatcher | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.store = store
        self.cutover_ns = cutover_ns
        self.scw_signatures_valid = scw_signatures_valid
        self.cutover_check_interval_s = cutover_check_interval_s
        self.dispatcher = dispatcher if dispatcher is not None else Dispatcher()
        self.clock = clock

    # -- cutover -------------------------------------------------------------------------------

    def _cut_over(self) -> bool:
        return self.cutover_ns > 0 and self.clock() >= self.cutover_ns

    def _check_publish(self) -> None:
        if self._cut_over():
            raise RpcAbort(grpc.StatusCode.UNAVAILABLE, PUBLISH_CUTOVER_MESSAGE)

    def _check_stream(self) -> None:
        if self._cut_over():
            raise RpcAbort(grpc.StatusCode.UNAVAILABLE, STREAM_CUTOVER_MESSAGE)

    def fetch_d14n_cutover(self, request: empty_pb2.Empty) -> migration.FetchD14nCutoverResponse:
        """D14nMigrationApi/FetchD14nCutover: the configured cutover instant (0 = none)."""
        return migration.FetchD14nCutoverResponse(timestamp_ns=self.cutover_ns)

    # -- IdentityApi ---------------------------------------------------------------------------

    def publish_identity_update(
        self, request: ident.PublishIdentityUpdateRequest
    ) -> ident.PublishIdentityUpdateResponse:
        """Append an update to its inbox log (trusted, not verified) and update the address index."""
        self._check_publish()
        if not request.HasField("identity_update"):
            raise _plain("IdentityUpdate is required")
        update = request.identity_update
        if self.store.count_identity_updates(update.inbox_id) >= MAX_INBOX_LOG:
            raise _plain("inbox log is full")
        self.store.append_identity_update(
            update.inbox_id, update.SerializeToString(), self.clock(), address_changes(update)
        )
        return ident.PublishIdentityUpdateResponse()

    def get_identity_updates(
        self, request: ident.GetIdentityUpdatesRequest
    ) -> ident.GetIdentityUpdatesResponse:
        """Per request, in order: the inbox's updates after ``sequence_id``, ascending."""
        response = ident.GetIdentityUpdatesResponse()
        for item in request.requests:
            out = response.responses.add(inbox_id=item.inbox_id)
            for row in self.store.identity_updates(item.inbox_id, item.sequence_id):
                log = out.updates.add(
                    sequence_id=row.sequence_id, server_timestamp_ns=row.server_timestamp_ns
                )
                log.update.MergeFromString(row.identity_update)
        return response

    def get_inbox_ids(self, request: ident.GetInboxIdsRequest) -> ident.GetInboxIdsResponse:
        """Per request, in order: the identifier and kind echoed, and its current inbox if any."""
        response = ident.GetInboxIdsResponse()
        for item in request.requests:
            out = response.responses.add(identifier=item.identifier, identifier_kind=item.identifier_kind)
            if item.identifier_kind in _ETHEREUM_KINDS:
                inbox_id = self.store.inbox_for_address(item.identifier.lower())
                if inbox_id is not None:
                    out.inbox_id = inbox_id
        return response

    def verify_smart_contract_wallet_signatures(
        self, request: ident.VerifySmartContractWalletSignaturesRequest
    ) -> ident.VerifySmartContractWalletSignaturesResponse:
        """One verdict per signature, in order: ``scw_signatures_valid``, nothing checked."""
        response = ident.VerifySmartContractWalletSignaturesResponse()
        for signature in request.signatures:
            out = response.responses.add(is_valid=self.scw_signatures_valid)
            if signature.HasField("block_number"):
                out.block_number = signature.block_number
            if not self.scw_signatures_valid:
                out.error = "signature rejected by devnode configuration"
        return response

    # -- key packages --------------------------------------------------------------------------

    def _store_key_package(self, upload: api.KeyPackageUpload) -> bytes:
        try:
            installation_key = mls.key_package_installation_key(upload.key_package_tls_serialized)
        except mls.MlsParseError as exc:
            raise _invalid(
                f"invalid identity: validation failed with error XMTP Key Package failed: {exc}"
            ) from exc
        try:
            self.store.upsert_key_package(installation_key, upload.key_package_tls_serialized, self.clock())
        except sqlite3.Error as exc:
            raise RpcAbort(grpc.StatusCode.INTERNAL, f"failed to insert key packages: {exc}") from exc
        return installation_key

    def upload_key_package(self, request: api.UploadKeyPackageRequest) -> empty_pb2.Empty:
        """Store a key package under its installation key (``leaf_node.signature_key``)."""
        self._check_publish()
        if not request.HasField("key_package"):
            raise _invalid("no key package")
        self._store_key_package(request.key_package)
        return empty_pb2.Empty()

    def register_installation(
        self, request: api.RegisterInstallationRequest
    ) -> api.RegisterInstallationResponse:
        """Deprecated UploadKeyPackage that also returns the installation key."""
        self._check_publish()
        if not request.HasField("key_package"):
            raise _invalid("no key package")
        return api.RegisterInstallationResponse(installation_key=self._store_key_package(request.key_package))

    def fetch_key_packages(self, request: api.FetchKeyPackagesRequest) -> api.FetchKeyPackagesResponse:
        """Latest key package per requested key, same order; an empty entry for unknown keys."""
        try:
            found = self.store.key_packages(list(request.installation_keys))
        except sqlite3.Error as exc:
            raise RpcAbort(grpc.StatusCode.INTERNAL, f"failed to fetch key packages: {exc}") from exc
        response = api.FetchKeyPackagesResponse()
        for key_package in found:
            entry = response.key_packages.add()
            if key_package is not None:
                entry.key_package_tls_serialized = key_package
        return response

    # -- group messages ------------------------------------------------------------------------

    def send_group_messages(self, request: api.SendGroupMessagesRequest) -> empty_pb2.Empty:
        """Parse, store (dedupe by ``sha256(group_id || data)``) and fan out group messages."""
        self._check_publish()
        if not request.messages:
            raise _invalid("no group messages to send")
        if any(not message.HasField("v1") for message in request.messages):
            raise _invalid("invalid group message")
        parsed: list[tuple[api.GroupMessageInput.V1, mls.MlsMessageInfo]] = []
        for message in request.messages:
            try:
                parsed.append((message.v1, mls.parse_mls_message(message.v1.data)))
            except mls.MlsParseError as exc:
                raise _invalid(f"invalid group message: validation failed with error {exc}") from exc
        for v1, info in parsed:
            if not info.group_id:
                raise _invalid("group id is empty")
            if not v1.data:
                raise _invalid("message is empty")
            try:
                row = self.store.insert_group_message(
                    info.group_id, v1.data, v1.sender_hmac, v1.should_push, info.is_commit, self.clock()
                )
            except sqlite3.Error as exc:
                raise RpcAbort(grpc.StatusCode.INTERNAL, f"failed to insert message: {exc}") from exc
            if row is not None:
                topic = Topic(TopicKind.GROUP, row.group_id)
                self.dispatcher.publish(Envelope(topic, row.id, group_message_proto(row).SerializeToString()))
        return empty_pb2.Empty()

    def query_group_messages(self, request: api.QueryGroupMessagesRequest) -> api.QueryGroupMessagesResponse:
        """One page of a group's messages (DESC unless ASC is asked; cursor only on a full page)."""
        if not request.group_id:
            raise _plain("group is required")
        direction, limit, cursor = effective_paging(
            request.paging_info if request.HasField("paging_info") else None
        )
        rows = self.store.query_group_messages(request.group_id, direction, limit, cursor)
        return api.QueryGroupMessagesResponse(
            messages=[group_message_proto(row) for row in rows],
            paging_info=response_paging(direction, limit, [row.id for row in rows]),
        )

    def get_newest_group_message(
        self, request: api.GetNewestGroupMessageRequest
    ) -> api.GetNewestGroupMessageResponse:
        """Newest message per group, same order; unset for empty groups; metadata only by default."""
        if not request.group_ids:
            raise _invalid("no group ids provided")
        response = api.GetNewestGroupMessageResponse()
        for group_id in request.group_ids:
            try:
                row = self.store.newest_group_message(group_id)
            except sqlite3.Error as exc:
                raise RpcAbort(grpc.StatusCode.INTERNAL, "database query failed") from exc
            entry = response.responses.add()
            if row is not None:
                entry.group_message.CopyFrom(group_message_proto(row, request.include_content))
        return response

    # -- welcome messages ----------------------------------------------------------------------

    @staticmethod
    def _validate_welcomes(request: api.SendWelcomeMessagesRequest) -> None:
        if not request.messages:
            raise _invalid("no welcome messages to send")
        for message in request.messages:
            version = message.WhichOneof("version")
            if version == "v1":
                v1 = message.v1
                if (
                    not v1.data
                    or not v1.installation_key
                    or (not v1.hpke_public_key and v1.wrapper_algorithm != _WRAPPER_SYMMETRIC_KEY)
                ):
                    raise _invalid("invalid welcome message")
            elif version == "welcome_pointer":
                pointer = message.welcome_pointer
                if not pointer.installation_key or not pointer.welcome_pointer or not pointer.hpke_public_key:
                    raise _invalid("invalid welcome pointer message")
                if pointer.wrapper_algorithm != _POINTER_WRAPPER_XWING:
                    name = _pointer_algorithm_name(pointer.wrapper_algorithm)
                    raise _invalid(
                        "invalid welcome pointer wrapper algorithm: "
                        f"invalid welcome pointer wrapper algorithm {name}"
                    )
            else:
                raise _invalid("invalid welcome message: missing version")

    def send_welcome_messages(self, request: api.SendWelcomeMessagesRequest) -> empty_pb2.Empty:
        """Validate the batch, then store (dedupe by hash) and fan out welcomes and pointers."""
        self._check_publish()
        self._validate_welcomes(request)
        for message in request.messages:
            now = self.clock()
            try:
                if message.WhichOneof("version") == "v1":
                    v1 = message.v1
                    algorithm = v1.wrapper_algorithm or _WRAPPER_CURVE25519
                    row = self.store.insert_welcome(
                        WelcomeType.V1, v1.installation_key, v1.data, v1.hpke_public_key, algorithm,
                        v1.welcome_metadata, now,
                    )  # fmt: skip
                else:
                    p = message.welcome_pointer
                    row = self.store.insert_welcome(
                        WelcomeType.POINTER, p.installation_key, p.welcome_pointer, p.hpke_public_key,
                        p.wrapper_algorithm, b"", now,
                    )  # fmt: skip
            except sqlite3.Error as exc:
                raise RpcAbort(grpc.StatusCode.INTERNAL, f"failed to insert message: {exc}") from exc
            if row is not None:
                proto = welcome_message_proto(row)
                if proto is not None:
                    topic = Topic(TopicKind.WELCOME, row.installation_key)
                    self.dispatcher.publish(Envelope(topic, row.id, proto.SerializeToString()))
        return empty_pb2.Empty()

    def query_welcome_messages(
        self, request: api.QueryWelcomeMessagesRequest
    ) -> api.QueryWelcomeMessagesResponse:
        """One page of an installation's welcomes and pointers (same paging rules as groups)."""
        if not request.installation_key:
            raise _plain("installation is required")
        direction, limit, cursor = effective_paging(
            request.paging_info if request.HasField("paging_info") else None
        )
        rows = self.store.query_welcomes(request.installation_key, direction, limit, cursor)
        messages = [proto for row in rows if (proto := welcome_message_proto(row)) is not None]
        return api.QueryWelcomeMessagesResponse(
            messages=messages, paging_info=response_paging(direction, limit, [row.id for row in rows])
        )

    # -- commit log ----------------------------------------------------------------------------

    def batch_publish_commit_log(self, request: api.BatchPublishCommitLogRequest) -> empty_pb2.Empty:
        """Store up to 10 commit log entries, unverified and without dedupe."""
        self._check_publish()
        if not request.requests:
            raise _invalid("no log entries to publish")
        if len(request.requests) > MAX_COMMIT_LOG_INSERTS:
            raise _invalid(f"cannot exceed {MAX_COMMIT_LOG_INSERTS} inserts in single batch")
        entries: list[tuple[bytes, bytes, bytes]] = []
        for item in request.requests:
            if not item.group_id or not item.serialized_commit_log_entry or not item.HasField("signature"):
                raise _invalid("invalid commit log entry")
            entries.append(
                (item.group_id, item.serialized_commit_log_entry, item.signature.SerializeToString())
            )
        try:
            self.store.insert_commit_log(entries, self.clock())
        except sqlite3.Error as exc:
            raise RpcAbort(grpc.StatusCode.INTERNAL, f"failed to insert commit log: {exc}") from exc
        return empty_pb2.Empty()

    def batch_query_commit_log(
        self, request: api.BatchQueryCommitLogRequest
    ) -> api.BatchQueryCommitLogResponse:
        """Up to 20 ascending commit log pages, one per request, in order."""
        if not request.requests:
            raise _invalid("no requests to query")
        if len(request.requests) > MAX_COMMIT_LOG_QUERIES:
            raise _invalid(f"cannot exceed {MAX_COMMIT_LOG_QUERIES} queries in single batch")
        if any(not item.group_id for item in request.requests):
            raise _invalid("invalid request")
        response = api.BatchQueryCommitLogResponse()
        for item in request.requests:
            paging = item.paging_info
            if paging.direction == api.SORT_DIRECTION_DESCENDING:
                raise RpcAbort(
                    grpc.StatusCode.INTERNAL,
                    "failed to query commit log: descending direction is not supported",
                )
            limit = paging.limit if 1 <= paging.limit <= MAX_PAGE_SIZE else MAX_PAGE_SIZE
            rows = self.store.query_commit_log(item.group_id, limit, paging.id_cursor)
            response.responses.append(
                api.QueryCommitLogResponse(
                    group_id=item.group_id,
                    commit_log_entries=[_commit_log_proto(row) for row in rows],
                    paging_info=response_paging(Direction.ASCENDING, limit, [row.id for row in rows]),
                )
            )
        return response

    # -- unimplemented -------------------------------------------------------------------------

    def unimplemented(self, request: object) -> empty_pb2.Empty:
        """RevokeInstallation and the legacy MlsApi/GetIdentityUpdates."""
        raise RpcAbort(grpc.StatusCode.UNIMPLEMENTED, "unimplemented")

    # -- subscriptions -------------------------------------------------------------------------

    def _group_history(self, topic: Topic, cursor: int) -> Iterator[list[Envelope]]:
        while True:
            rows = self.store.query_group_messages(topic.key, Direction.ASCENDING, MAX_PAGE_SIZE, cursor)
            yield [Envelope(topic, row.id, group_message_proto(row).SerializeToString()) for row in rows]
            if len(rows) < MAX_PAGE_SIZE:
                return
            cursor = rows[-1].id

    def _welcome_history(self, topic: Topic, cursor: int) -> Iterator[list[Envelope]]:
        while True:
            rows = self.store.query_welcomes(topic.key, Direction.ASCENDING, MAX_PAGE_SIZE, cursor)
            yield [
                Envelope(topic, row.id, proto.SerializeToString())
                for row in rows
                if (proto := welcome_message_proto(row)) is not None
            ]
            if len(rows) < MAX_PAGE_SIZE:
                return
            cursor = rows[-1].id

    async def subscribe_group_messages(
        self, request: api.SubscribeGroupMessagesRequest, context: StreamContext
    ) -> None:
        """Stream a set of groups (zero filters allowed): history after each cursor, then live."""
        self._check_stream()
        await context.send_initial_metadata(_SUBSCRIBED_METADATA)
        cursors: dict[Topic, int] = {}
        for item in request.filters:
            topic = Topic(TopicKind.GROUP, item.group_id)
            cursors[topic] = min(cursors.get(topic, item.id_cursor), item.id_cursor)
        await self._stream(cursors, self._group_history, context, abort_on_overflow=True)

    async def subscribe_welcome_messages(
        self, request: api.SubscribeWelcomeMessagesRequest, context: StreamContext
    ) -> None:
        """Stream welcomes and pointers of installations: history after each cursor, then live."""
        self._check_stream()
        await context.send_initial_metadata(_SUBSCRIBED_METADATA)
        error: RpcAbort | None = None
        cursors: dict[Topic, int] = {}
        if not request.filters:
            error = _invalid("no valid filters provided")
        for item in request.filters:
            if not item.installation_key:
                error = _invalid("a filter is nil or installation key is empty")
                break
            topic = Topic(TopicKind.WELCOME, item.installation_key)
            cursors[topic] = min(cursors.get(topic, item.id_cursor), item.id_cursor)
        if error is not None:
            # Without a pause grpc-core may fold the header into a trailers-only status and drop it.
            await asyncio.sleep(HEADER_FLUSH_S)
            raise error
        await self._stream(cursors, self._welcome_history, context, abort_on_overflow=False)

    async def _stream(
        self,
        cursors: dict[Topic, int],
        history: Callable[[Topic, int], Iterator[list[Envelope]]],
        context: StreamContext,
        *,
        abort_on_overflow: bool,
    ) -> None:
        """Register live first, replay history per topic, then deliver live; per-topic high-water mark."""
        sub = self.dispatcher.subscribe(cursors)
        high_water = dict(cursors)
        try:
            await self._replay(sub, cursors, history, high_water, context)
            while sub.closed is None:
                envelope = sub.pop()
                if envelope is None:
                    await sub.wait(self.cutover_check_interval_s)
                    self._check_stream()
                    continue
                if envelope.id > high_water[envelope.topic]:
                    await context.write(envelope.payload)
                    high_water[envelope.topic] = envelope.id
            self._end_closed(sub, abort_on_overflow)
        finally:
            self.dispatcher.unsubscribe(sub)

    @staticmethod
    async def _replay(
        sub: Subscription,
        cursors: dict[Topic, int],
        history: Callable[[Topic, int], Iterator[list[Envelope]]],
        high_water: dict[Topic, int],
        context: StreamContext,
    ) -> None:
        for topic, cursor in cursors.items():
            for page in history(topic, cursor):
                for envelope in page:
                    if sub.closed is not None:
                        return
                    if envelope.id > high_water[topic]:
                        await context.write(envelope.payload)
                        high_water[topic] = envelope.id

    @staticmethod
    def _end_closed(sub: Subscription, abort_on_overflow: bool) -> None:
        if sub.closed is CloseReason.SHUTDOWN:
            raise RpcAbort(grpc.StatusCode.UNAVAILABLE, SHUTDOWN_MESSAGE)
        if sub.closed is CloseReason.OVERFLOW and abort_on_overflow:
            raise RpcAbort(grpc.StatusCode.ABORTED, SLOW_READER_MESSAGE)

    def shutdown(self) -> None:
        """End every open subscription with ``UNAVAILABLE "service is shutting down"``."""
        self.dispatcher.close_all(CloseReason.SHUTDOWN)
