"""MlsApi unary RPCs: key packages, group messages, welcomes, paging, commit log, error catalogue."""

from __future__ import annotations

import os
import time
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import empty_pb2

from openclaw_convos.devnode import Devnode
from openclaw_convos.devnode.proto import identity_api_pb2 as ident
from openclaw_convos.devnode.proto import mls_api_pb2 as api
from openclaw_convos.devnode.proto import signature_pb2 as sig

from .helpers import (
    Rpc,
    group_input,
    key_package,
    new_inbox,
    other_wire_format,
    paging,
    private_message,
    public_message,
    registration,
    welcome_pointer,
    welcome_v1,
)

PUBLISH_CUTOVER = "publishing to XMTP V3 is no longer available. Please upgrade your client to XMTP D14N."


async def expect_error(coro: Any, code: grpc.StatusCode, details: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await coro
    assert (info.value.code(), info.value.details()) == (code, details)


def invalid(details: str) -> tuple[grpc.StatusCode, str]:
    return grpc.StatusCode.INVALID_ARGUMENT, details


# -- key packages ---------------------------------------------------------------------------------


async def upload(rpc: Rpc, data: bytes) -> None:
    request = api.UploadKeyPackageRequest(
        key_package=api.KeyPackageUpload(key_package_tls_serialized=data), is_inbox_id_credential=True
    )
    await rpc.mls("UploadKeyPackage", request)


async def fetch(rpc: Rpc, *keys: bytes) -> list[bytes]:
    response = await rpc.mls("FetchKeyPackages", api.FetchKeyPackagesRequest(installation_keys=list(keys)))
    return [k.key_package_tls_serialized for k in response.key_packages]


async def test_key_package_upload_fetch_last_wins(rpc: Rpc) -> None:
    a, b, unknown = os.urandom(32), os.urandom(32), os.urandom(32)
    a1, a2, b1 = key_package(a), key_package(a), key_package(b)
    await upload(rpc, a1)
    await upload(rpc, b1)
    assert await fetch(rpc, b, unknown, a) == [b1, b"", a1]
    await upload(rpc, a2)
    assert await fetch(rpc, a, a, b) == [a2, a2, b1]
    assert await fetch(rpc) == []


async def test_register_installation_returns_the_signature_key(rpc: Rpc) -> None:
    key = os.urandom(32)
    data = key_package(key)
    request = api.RegisterInstallationRequest(
        key_package=api.KeyPackageUpload(key_package_tls_serialized=data)
    )
    response = await rpc.mls("RegisterInstallation", request)
    assert response.installation_key == key
    assert await fetch(rpc, key) == [data]


@pytest.mark.parametrize("method", ["UploadKeyPackage", "RegisterInstallation"])
async def test_key_package_errors(rpc: Rpc, method: str) -> None:
    request_type = (
        api.UploadKeyPackageRequest if method == "UploadKeyPackage" else api.RegisterInstallationRequest
    )
    await expect_error(rpc.mls(method, request_type()), *invalid("no key package"))
    malformed = request_type(
        key_package=api.KeyPackageUpload(key_package_tls_serialized=b"\x00\x01\x00\x03\x7f")
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await rpc.mls(method, malformed)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(
        "invalid identity: validation failed with error XMTP Key Package failed"
    )


# -- group messages -------------------------------------------------------------------------------


async def test_group_messages_parse_dedupe_and_global_ids(rpc: Rpc) -> None:
    g1, g2 = os.urandom(16), os.urandom(16)
    app, commit, proposal = private_message(g1, 1), private_message(g1, 3), public_message(g2, 2)
    await rpc.mls(
        "SendGroupMessages",
        api.SendGroupMessagesRequest(
            messages=[
                group_input(app, sender_hmac=b"h1", should_push=True),
                group_input(commit, should_push=False),
            ]
        ),
    )
    await rpc.send_group(proposal, app)  # app is a duplicate: skipped silently
    await rpc.send_group(app)

    first = await rpc.query_group(g1, paging(direction=1))
    assert [(m.v1.id, m.v1.is_commit, m.v1.data) for m in first.messages] == [
        (1, False, app),
        (2, True, commit),
    ]
    assert first.messages[0].v1.group_id == g1
    assert first.messages[0].v1.sender_hmac == b"h1"
    assert first.messages[0].v1.should_push and not first.messages[1].v1.should_push
    assert 0 < first.messages[0].v1.created_ns <= first.messages[1].v1.created_ns
    second = await rpc.query_group(g2)
    assert [(m.v1.id, m.v1.is_commit) for m in second.messages] == [(3, True)]

    await rpc.send_group(private_message(g2, 1))
    later = [m.v1.id for m in (await rpc.query_group(g2, paging(direction=1))).messages]
    assert later[0] == 3 and later[1] > 3  # like a Postgres sequence, a skipped duplicate may leave a gap


async def test_same_data_in_another_group_is_not_a_duplicate(rpc: Rpc) -> None:
    body = os.urandom(24)
    g1, g2 = os.urandom(16), os.urandom(16)
    await rpc.send_group(private_message(g1, body=body), private_message(g2, body=body))
    assert len((await rpc.query_group(g1)).messages) == 1
    assert len((await rpc.query_group(g2)).messages) == 1


async def test_send_group_messages_errors(rpc: Rpc) -> None:
    send = rpc.mls
    await expect_error(
        send("SendGroupMessages", api.SendGroupMessagesRequest()), *invalid("no group messages to send")
    )
    no_v1 = api.SendGroupMessagesRequest(
        messages=[group_input(private_message(b"g")), api.GroupMessageInput()]
    )
    await expect_error(send("SendGroupMessages", no_v1), *invalid("invalid group message"))
    for wire_format in (3, 4, 5):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await rpc.send_group(other_wire_format(wire_format))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details().startswith(
            "invalid group message: validation failed with error wire format"
        )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await rpc.send_group(b"")
    assert info.value.details().startswith("invalid group message: validation failed with error ")
    await expect_error(rpc.send_group(private_message(b"")), *invalid("group id is empty"))


async def test_a_bad_message_rejects_the_whole_batch_before_storing(rpc: Rpc) -> None:
    group = os.urandom(16)
    with pytest.raises(grpc.aio.AioRpcError):
        await rpc.send_group(private_message(group), other_wire_format(3))
    assert list((await rpc.query_group(group)).messages) == []


async def test_query_group_messages_requires_a_group(rpc: Rpc) -> None:
    await expect_error(rpc.query_group(b""), grpc.StatusCode.UNKNOWN, "group is required")


# -- paging ---------------------------------------------------------------------------------------


async def fill_group(rpc: Rpc, group: bytes, count: int) -> None:
    batch = [private_message(group) for _ in range(count)]
    await rpc.send_group(*batch)


async def test_paging_direction_limit_and_cursor(rpc: Rpc) -> None:
    group = os.urandom(16)
    await fill_group(rpc, group, 5)
    ids = [1, 2, 3, 4, 5]

    default = await rpc.query_group(group)  # no paging_info: DESC, 100
    assert [m.v1.id for m in default.messages] == ids[::-1]
    assert (default.paging_info.direction, default.paging_info.limit, default.paging_info.id_cursor) == (
        2,
        100,
        0,
    )

    unspecified = await rpc.query_group(group, paging(direction=0, limit=2))
    assert [m.v1.id for m in unspecified.messages] == [5, 4]
    assert (unspecified.paging_info.direction, unspecified.paging_info.id_cursor) == (2, 4)  # full page

    desc = await rpc.query_group(group, paging(direction=2, limit=2, cursor=4))
    assert [m.v1.id for m in desc.messages] == [3, 2]
    assert desc.paging_info.id_cursor == 2
    tail = await rpc.query_group(group, paging(direction=2, limit=2, cursor=2))
    assert [m.v1.id for m in tail.messages] == [1]
    assert tail.paging_info.id_cursor == 0  # short page: no cursor

    asc = await rpc.query_group(group, paging(direction=1, limit=3))
    assert [m.v1.id for m in asc.messages] == [1, 2, 3]
    assert (asc.paging_info.direction, asc.paging_info.limit, asc.paging_info.id_cursor) == (1, 3, 3)
    rest = await rpc.query_group(group, paging(direction=1, limit=3, cursor=3))
    assert [m.v1.id for m in rest.messages] == [4, 5]
    assert rest.paging_info.id_cursor == 0
    exact = await rpc.query_group(group, paging(direction=1, limit=5))
    assert exact.paging_info.id_cursor == 5  # count == limit counts as full
    beyond = await rpc.query_group(group, paging(direction=1, cursor=2**64 - 1))
    assert list(beyond.messages) == []


@pytest.mark.parametrize(("limit", "effective"), [(0, 100), (1, 1), (100, 100), (101, 100), (2**32 - 1, 100)])
async def test_limit_clamp(rpc: Rpc, limit: int, effective: int) -> None:
    group = os.urandom(16)
    await fill_group(rpc, group, 120)
    response = await rpc.query_group(group, paging(direction=1, limit=limit))
    assert len(response.messages) == effective
    assert response.paging_info.limit == effective
    assert response.paging_info.id_cursor == response.messages[-1].v1.id


async def client_paging_loop(rpc: Rpc, group: bytes) -> tuple[list[int], int]:
    """libxmtp's loop: ASC pages of 100 until a short page or a zero cursor."""
    ids: list[int] = []
    cursor, calls = 0, 0
    while True:
        calls += 1
        page = await rpc.query_group(group, paging(direction=1, limit=100, cursor=cursor))
        ids.extend(m.v1.id for m in page.messages)
        if len(page.messages) < 100 or page.paging_info.id_cursor == 0:
            return ids, calls
        cursor = page.paging_info.id_cursor


@pytest.mark.parametrize(("count", "calls"), [(100, 2), (101, 2), (200, 3), (0, 1)])
async def test_client_paging_loop_terminates(rpc: Rpc, count: int, calls: int) -> None:
    group = os.urandom(16)
    if count:
        await fill_group(rpc, group, count)
    ids, made = await client_paging_loop(rpc, group)
    assert ids == list(range(1, count + 1))
    assert made == calls


# -- welcomes -------------------------------------------------------------------------------------


async def test_welcomes_and_pointers_stored_and_returned(rpc: Rpc) -> None:
    me, destination = os.urandom(32), os.urandom(32)
    curve = welcome_v1(me, wrapper_algorithm=0)
    xwing = welcome_v1(me, wrapper_algorithm=2)
    symmetric = welcome_v1(destination, hpke_public_key=b"", wrapper_algorithm=3)
    pointer = welcome_pointer(me)
    await rpc.send_welcomes(curve, xwing, symmetric, pointer)
    await rpc.send_welcomes(xwing, pointer)  # duplicates skipped

    mine = await rpc.query_welcomes(me, paging(direction=1))
    assert [m.WhichOneof("version") for m in mine.messages] == ["v1", "v1", "welcome_pointer"]
    first, second, third = mine.messages
    assert (first.v1.id, first.v1.wrapper_algorithm) == (1, 1)  # UNSPECIFIED stored as CURVE25519
    assert (second.v1.id, second.v1.wrapper_algorithm) == (2, 2)
    assert first.v1.data == curve.v1.data and first.v1.welcome_metadata == b"meta"
    assert first.v1.installation_key == me and first.v1.hpke_public_key == b"h" * 32
    assert third.welcome_pointer.id == 4
    assert third.welcome_pointer.welcome_pointer == pointer.welcome_pointer.welcome_pointer
    assert third.welcome_pointer.hpke_public_key == b"x" * 1216
    assert third.welcome_pointer.wrapper_algorithm == 2
    assert third.welcome_pointer.installation_key == me

    theirs = await rpc.query_welcomes(destination)
    assert [(m.v1.id, m.v1.hpke_public_key, m.v1.wrapper_algorithm) for m in theirs.messages] == [(3, b"", 3)]


async def test_welcome_ids_are_separate_from_group_ids(rpc: Rpc) -> None:
    await rpc.send_group(private_message(os.urandom(16)), private_message(os.urandom(16)))
    key = os.urandom(32)
    await rpc.send_welcomes(welcome_v1(key))
    assert (await rpc.query_welcomes(key)).messages[0].v1.id == 1


@pytest.mark.parametrize(
    ("entry", "details"),
    [
        (welcome_v1(b"k", data=b""), "invalid welcome message"),
        (welcome_v1(b""), "invalid welcome message"),
        (welcome_v1(b"k", hpke_public_key=b"", wrapper_algorithm=2), "invalid welcome message"),
        (welcome_v1(b"k", hpke_public_key=b"", wrapper_algorithm=0), "invalid welcome message"),
        (welcome_pointer(b""), "invalid welcome pointer message"),
        (welcome_pointer(b"k", pointer=b""), "invalid welcome pointer message"),
        (welcome_pointer(b"k", hpke_public_key=b""), "invalid welcome pointer message"),
        (
            welcome_pointer(b"k", wrapper_algorithm=0),
            "invalid welcome pointer wrapper algorithm: invalid welcome pointer wrapper algorithm "
            "WELCOME_POINTER_WRAPPER_ALGORITHM_UNSPECIFIED",
        ),
        (
            welcome_pointer(b"k", wrapper_algorithm=1),
            "invalid welcome pointer wrapper algorithm: invalid welcome pointer wrapper algorithm 1",
        ),
        (api.WelcomeMessageInput(), "invalid welcome message: missing version"),
    ],
)
async def test_welcome_validation(rpc: Rpc, entry: api.WelcomeMessageInput, details: str) -> None:
    good = welcome_v1(os.urandom(32))
    await expect_error(rpc.send_welcomes(good, entry), *invalid(details))
    assert list((await rpc.query_welcomes(good.v1.installation_key)).messages) == []  # whole batch refused


async def test_welcome_errors(rpc: Rpc) -> None:
    await expect_error(rpc.send_welcomes(), *invalid("no welcome messages to send"))
    await expect_error(rpc.query_welcomes(b""), grpc.StatusCode.UNKNOWN, "installation is required")


async def test_welcome_paging(rpc: Rpc) -> None:
    key = os.urandom(32)
    await rpc.send_welcomes(*[welcome_v1(key) for _ in range(3)], *[welcome_pointer(key) for _ in range(2)])
    page = await rpc.query_welcomes(key, paging(direction=1, limit=2, cursor=1))
    assert [m.v1.id for m in page.messages] == [2, 3]
    assert page.paging_info.id_cursor == 3
    desc = await rpc.query_welcomes(key, paging(limit=10))
    assert [m.welcome_pointer.id or m.v1.id for m in desc.messages] == [5, 4, 3, 2, 1]
    assert desc.paging_info.id_cursor == 0


# -- newest message -------------------------------------------------------------------------------


async def test_get_newest_group_message(rpc: Rpc) -> None:
    g1, g2, empty = os.urandom(16), os.urandom(16), os.urandom(16)
    await rpc.send_group(private_message(g1, 1), private_message(g2, 1), private_message(g1, 3))
    request = api.GetNewestGroupMessageRequest(group_ids=[g2, empty, g1], include_content=False)
    meta = await rpc.mls("GetNewestGroupMessage", request)
    assert len(meta.responses) == 3
    assert not meta.responses[1].HasField("group_message")
    newest_g1 = meta.responses[2].group_message.v1
    assert (newest_g1.id, newest_g1.group_id, newest_g1.is_commit) == (3, g1, True)
    assert newest_g1.created_ns > 0
    assert (newest_g1.data, newest_g1.sender_hmac, newest_g1.should_push) == (b"", b"", False)
    assert meta.responses[0].group_message.v1.id == 2

    request.include_content = True
    full = await rpc.mls("GetNewestGroupMessage", request)
    assert full.responses[2].group_message.v1.data.startswith(b"\x00\x01\x00\x02")
    assert full.responses[2].group_message.v1.sender_hmac == b"hmac"
    assert full.responses[2].group_message.v1.should_push

    await expect_error(
        rpc.mls("GetNewestGroupMessage", api.GetNewestGroupMessageRequest()),
        *invalid("no group ids provided"),
    )


# -- commit log -----------------------------------------------------------------------------------


def log_entry(group: bytes, payload: bytes | None = None) -> api.PublishCommitLogRequest:
    return api.PublishCommitLogRequest(
        group_id=group,
        serialized_commit_log_entry=payload if payload is not None else os.urandom(20),
        signature=sig.RecoverableEd25519Signature(bytes=b"s" * 64, public_key=b"p" * 32),
    )


def log_query(group: bytes, info: api.PagingInfo | None = None) -> api.QueryCommitLogRequest:
    request = api.QueryCommitLogRequest(group_id=group)
    if info is not None:
        request.paging_info.CopyFrom(info)
    return request


async def test_commit_log_publish_and_query(rpc: Rpc) -> None:
    g1, g2 = os.urandom(16), os.urandom(16)
    same = log_entry(g1)
    await rpc.mls(
        "BatchPublishCommitLog", api.BatchPublishCommitLogRequest(requests=[same, log_entry(g2), same])
    )
    await rpc.mls("BatchPublishCommitLog", api.BatchPublishCommitLogRequest(requests=[log_entry(g1)] * 10))
    response = await rpc.mls(
        "BatchQueryCommitLog",
        api.BatchQueryCommitLogRequest(
            requests=[log_query(g2), log_query(g1, paging(direction=1, limit=5, cursor=1)), log_query(g1)]
        ),
    )
    only_g2, paged, everything = response.responses
    assert only_g2.group_id == g2
    assert [e.sequence_id for e in only_g2.commit_log_entries] == [2]
    assert (only_g2.paging_info.direction, only_g2.paging_info.limit, only_g2.paging_info.id_cursor) == (
        1,
        100,
        0,
    )
    assert [e.sequence_id for e in paged.commit_log_entries] == [3, 4, 5, 6, 7]
    assert paged.paging_info.id_cursor == 7
    assert [e.sequence_id for e in everything.commit_log_entries] == [1, 3, *range(4, 14)]  # no dedupe
    entry = everything.commit_log_entries[0]
    assert entry.serialized_commit_log_entry == same.serialized_commit_log_entry
    assert entry.signature == same.signature


async def test_commit_log_errors(rpc: Rpc) -> None:
    group = os.urandom(16)

    def publish(*entries: api.PublishCommitLogRequest) -> Any:
        return rpc.mls("BatchPublishCommitLog", api.BatchPublishCommitLogRequest(requests=list(entries)))

    def query(*requests: api.QueryCommitLogRequest) -> Any:
        return rpc.mls("BatchQueryCommitLog", api.BatchQueryCommitLogRequest(requests=list(requests)))

    await expect_error(publish(), *invalid("no log entries to publish"))
    await expect_error(
        publish(*[log_entry(group)] * 11), *invalid("cannot exceed 10 inserts in single batch")
    )
    await expect_error(publish(log_entry(b"")), *invalid("invalid commit log entry"))
    await expect_error(publish(log_entry(group, b"")), *invalid("invalid commit log entry"))
    no_signature = api.PublishCommitLogRequest(group_id=group, serialized_commit_log_entry=b"e")
    await expect_error(publish(log_entry(group), no_signature), *invalid("invalid commit log entry"))

    await expect_error(query(), *invalid("no requests to query"))
    await expect_error(query(*[log_query(group)] * 21), *invalid("cannot exceed 20 queries in single batch"))
    await expect_error(query(log_query(group), log_query(b"")), *invalid("invalid request"))
    await expect_error(
        query(log_query(group, paging(direction=2))),
        grpc.StatusCode.INTERNAL,
        "failed to query commit log: descending direction is not supported",
    )
    assert len((await query(*[log_query(group)] * 20)).responses) == 20
    assert list((await query(log_query(group))).responses[0].commit_log_entries) == []  # nothing stored


# -- unimplemented and cutover --------------------------------------------------------------------


async def test_unimplemented_rpcs(rpc: Rpc) -> None:
    await expect_error(
        rpc.mls("RevokeInstallation", api.RevokeInstallationRequest(installation_key=b"k")),
        grpc.StatusCode.UNIMPLEMENTED,
        "unimplemented",
    )
    await expect_error(
        rpc.mls("GetIdentityUpdates", api.GetIdentityUpdatesRequest(account_addresses=["0xab"])),
        grpc.StatusCode.UNIMPLEMENTED,
        "unimplemented",
    )
    bidi = rpc.channel.stream_stream("/xmtp.mls.api.v1.MlsApi/Subscribe")
    call = bidi()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_cutover_blocks_publishes_not_queries(node: Devnode, rpc: Rpc) -> None:
    group, key = os.urandom(16), os.urandom(32)
    await rpc.send_group(private_message(group))
    response = await rpc.call("xmtp.migration.api.v1.D14nMigrationApi", "FetchD14nCutover", empty_pb2.Empty())
    assert response.timestamp_ns == 0

    node.cutover_ns = time.time_ns() - 1
    unavailable = (grpc.StatusCode.UNAVAILABLE, PUBLISH_CUTOVER)
    publishes = [
        rpc.identity(
            "PublishIdentityUpdate",
            ident.PublishIdentityUpdateRequest(identity_update=registration("0xab", new_inbox(), key)),
        ),
        rpc.mls("UploadKeyPackage", api.UploadKeyPackageRequest(key_package=api.KeyPackageUpload())),
        rpc.mls("RegisterInstallation", api.RegisterInstallationRequest()),
        rpc.send_group(private_message(group)),
        rpc.send_welcomes(welcome_v1(key)),
        rpc.mls("BatchPublishCommitLog", api.BatchPublishCommitLogRequest(requests=[log_entry(group)])),
    ]
    for publish in publishes:
        await expect_error(publish, *unavailable)

    assert len((await rpc.query_group(group)).messages) == 1
    await rpc.query_welcomes(key)
    await rpc.identity("GetInboxIds", ident.GetInboxIdsRequest())
    await rpc.identity("GetIdentityUpdates", ident.GetIdentityUpdatesRequest())
    await rpc.mls("FetchKeyPackages", api.FetchKeyPackagesRequest(installation_keys=[key]))
    await rpc.mls("GetNewestGroupMessage", api.GetNewestGroupMessageRequest(group_ids=[group]))
    await rpc.mls("BatchQueryCommitLog", api.BatchQueryCommitLogRequest(requests=[log_query(group)]))
    response = await rpc.call("xmtp.migration.api.v1.D14nMigrationApi", "FetchD14nCutover", empty_pb2.Empty())
    assert response.timestamp_ns == node.cutover_ns


async def test_future_cutover_changes_nothing_yet(node: Devnode, rpc: Rpc) -> None:
    node.cutover_ns = time.time_ns() + 3_600 * 10**9
    await rpc.send_group(private_message(os.urandom(16)))
