"""SubscribeGroupMessages / SubscribeWelcomeMessages: headers, replay, live, slow readers, endings."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import grpc
import grpc.aio
import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.devnode.proto import mls_api_pb2 as api
from openclaw_convos.devnode.subscriptions import (
    CloseReason,
    Dispatcher,
    Envelope,
    Subscription,
    Topic,
    TopicKind,
)

from .helpers import Rpc, group_input, private_message, welcome_pointer, welcome_v1

STREAM_CUTOVER = "XMTP V3 streaming is no longer available. Please upgrade your client to XMTP D14N."
Call = grpc.aio.UnaryStreamCall[Any, Any]


def group_filters(*items: tuple[bytes, int]) -> api.SubscribeGroupMessagesRequest:
    return api.SubscribeGroupMessagesRequest(
        filters=[api.SubscribeGroupMessagesRequest.Filter(group_id=g, id_cursor=c) for g, c in items]
    )


def welcome_filters(*items: tuple[bytes, int]) -> api.SubscribeWelcomeMessagesRequest:
    return api.SubscribeWelcomeMessagesRequest(
        filters=[
            api.SubscribeWelcomeMessagesRequest.Filter(installation_key=k, id_cursor=c) for k, c in items
        ]
    )


async def read(call: Call, count: int, timeout: float = 5) -> list[Any]:
    out = []
    for _ in range(count):
        message = await asyncio.wait_for(call.read(), timeout)
        assert message is not grpc.aio.EOF
        out.append(message)
    return out


async def read_nothing(call: Call, seconds: float = 0.2) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(call.read()), seconds)


async def ended(call: Call, timeout: float = 5) -> tuple[grpc.StatusCode, str]:
    """Drain a stream to its end; return its final status."""
    try:
        while await asyncio.wait_for(call.read(), timeout) is not grpc.aio.EOF:
            pass
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return await call.code(), await call.details()


async def until(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


# -- headers and filters ----------------------------------------------------------------------------


async def test_zero_group_filters_get_the_header_and_stay_open(node: Devnode, rpc: Rpc) -> None:
    call = rpc.stream("SubscribeGroupMessages", group_filters())
    metadata = await asyncio.wait_for(call.initial_metadata(), 5)
    assert ("subscribed", "true") in list(metadata)
    await rpc.send_group(private_message(os.urandom(16)))
    await read_nothing(call)
    assert node.open_subscriptions == 1
    call.cancel()
    await until(lambda: node.open_subscriptions == 0)


async def test_header_comes_before_any_message(rpc: Rpc) -> None:
    group = os.urandom(16)
    await rpc.send_group(private_message(group))
    call = rpc.stream("SubscribeGroupMessages", group_filters((group, 0)))
    assert ("subscribed", "true") in list(await asyncio.wait_for(call.initial_metadata(), 5))
    assert len(await read(call, 1)) == 1
    call.cancel()


@pytest.mark.parametrize(
    ("request_", "details"),
    [
        (welcome_filters(), "no valid filters provided"),
        (welcome_filters((b"k" * 32, 0), (b"", 0)), "a filter is nil or installation key is empty"),
    ],
)
async def test_welcome_filter_errors_come_after_the_header(
    rpc: Rpc, request_: api.SubscribeWelcomeMessagesRequest, details: str
) -> None:
    call = rpc.stream("SubscribeWelcomeMessages", request_)
    assert ("subscribed", "true") in list(await asyncio.wait_for(call.initial_metadata(), 5))
    assert await ended(call) == (grpc.StatusCode.INVALID_ARGUMENT, details)


# -- replay and live --------------------------------------------------------------------------------


async def test_history_from_cursor_then_live_without_duplicates(rpc: Rpc) -> None:
    g1, g2, other = os.urandom(16), os.urandom(16), os.urandom(16)
    await rpc.send_group(*[private_message(g1) for _ in range(250)])  # ids 1..250
    await rpc.send_group(*[private_message(g2) for _ in range(3)], private_message(other))  # 251..254
    call = rpc.stream("SubscribeGroupMessages", group_filters((g1, 0), (g2, 251), (g1, 10)))

    async def publish_live() -> None:  # races with the replay
        for _ in range(20):
            await rpc.send_group(private_message(g1), private_message(g2), private_message(other))

    publisher = asyncio.create_task(publish_live())
    messages = await read(call, 250 + 2 + 40)
    await publisher
    await read_nothing(call)
    call.cancel()

    by_group: dict[bytes, list[int]] = {}
    for message in messages:
        by_group.setdefault(message.v1.group_id, []).append(message.v1.id)
    assert set(by_group) == {g1, g2}
    assert by_group[g1][:250] == list(range(1, 251))
    assert by_group[g2][:2] == [252, 253]
    for ids in by_group.values():
        assert ids == sorted(set(ids))  # ascending, no duplicates
    assert len(by_group[g1]) == 270 and len(by_group[g2]) == 22


async def test_live_messages_in_id_order_across_concurrent_publishers(rpc: Rpc) -> None:
    group = os.urandom(16)
    call = rpc.stream("SubscribeGroupMessages", group_filters((group, 0)))
    await call.initial_metadata()
    await asyncio.gather(*(rpc.send_group(private_message(group), private_message(group)) for _ in range(25)))
    ids = [m.v1.id for m in await read(call, 50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    call.cancel()


async def test_several_streams_on_one_connection(node: Devnode, rpc: Rpc) -> None:
    group, key = os.urandom(16), os.urandom(32)
    calls = [rpc.stream("SubscribeGroupMessages", group_filters((group, 0))) for _ in range(3)]
    welcomes = rpc.stream("SubscribeWelcomeMessages", welcome_filters((key, 0)))
    for call in [*calls, welcomes]:
        await call.initial_metadata()
    await until(lambda: node.open_subscriptions == 4)
    await rpc.send_group(private_message(group))
    await rpc.send_welcomes(welcome_v1(key))
    for call in calls:
        assert (await read(call, 1))[0].v1.id == 1
    assert (await read(welcomes, 1))[0].v1.id == 1
    calls[0].cancel()
    await until(lambda: node.open_subscriptions == 3)
    await rpc.send_group(private_message(group))
    for call in calls[1:]:
        assert (await read(call, 1))[0].v1.id == 2
        call.cancel()
    welcomes.cancel()
    await until(lambda: node.open_subscriptions == 0)


async def test_welcome_stream_replays_and_delivers_pointers(rpc: Rpc) -> None:
    key, other = os.urandom(32), os.urandom(32)
    await rpc.send_welcomes(welcome_v1(key), welcome_v1(other), welcome_pointer(key))
    call = rpc.stream("SubscribeWelcomeMessages", welcome_filters((key, 0)))
    history = await read(call, 2)
    assert [m.WhichOneof("version") for m in history] == ["v1", "welcome_pointer"]
    assert [history[0].v1.id, history[1].welcome_pointer.id] == [1, 3]
    await rpc.send_welcomes(welcome_pointer(key), welcome_v1(other))
    [live] = await read(call, 1)
    assert live.welcome_pointer.id == 4 and live.welcome_pointer.installation_key == key
    await read_nothing(call)
    call.cancel()


# -- slow readers and endings -----------------------------------------------------------------------


async def test_slow_group_reader_is_aborted(node: Devnode, rpc: Rpc) -> None:
    group = os.urandom(16)
    call = rpc.stream("SubscribeGroupMessages", group_filters((group, 0)))
    await call.initial_metadata()
    await until(lambda: node.open_subscriptions == 1)
    batch = api.SendGroupMessagesRequest(messages=[group_input(private_message(group)) for _ in range(1025)])
    await rpc.mls("SendGroupMessages", batch)  # fanned out before the stream can drain anything
    assert await ended(call) == (grpc.StatusCode.ABORTED, "caller did not read all messages fast enough")
    assert node.open_subscriptions == 0


async def test_1024_buffered_messages_are_still_fine(rpc: Rpc) -> None:
    group = os.urandom(16)
    call = rpc.stream("SubscribeGroupMessages", group_filters((group, 0)))
    await call.initial_metadata()
    batch = api.SendGroupMessagesRequest(messages=[group_input(private_message(group)) for _ in range(1024)])
    await rpc.mls("SendGroupMessages", batch)
    assert len(await read(call, 1024)) == 1024
    call.cancel()


async def test_slow_welcome_reader_ends_ok(node: Devnode, rpc: Rpc) -> None:
    key = os.urandom(32)
    call = rpc.stream("SubscribeWelcomeMessages", welcome_filters((key, 0)))
    await call.initial_metadata()
    await until(lambda: node.open_subscriptions == 1)
    await rpc.send_welcomes(*[welcome_v1(key) for _ in range(1030)])
    assert (await ended(call))[0] == grpc.StatusCode.OK


async def test_shutdown_ends_streams_with_unavailable() -> None:
    async with Devnode(port=0) as node, grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
        rpc = Rpc(channel)
        groups = rpc.stream("SubscribeGroupMessages", group_filters())
        welcomes = rpc.stream("SubscribeWelcomeMessages", welcome_filters((b"k", 0)))
        await groups.initial_metadata()
        await welcomes.initial_metadata()
        await until(lambda: node.open_subscriptions == 2)
        await node.stop()
        for call in (groups, welcomes):
            assert await ended(call) == (grpc.StatusCode.UNAVAILABLE, "service is shutting down")


async def test_cutover_refuses_new_streams(node: Devnode, rpc: Rpc) -> None:
    node.cutover_ns = time.time_ns() - 1
    for call in (
        rpc.stream("SubscribeGroupMessages", group_filters()),
        rpc.stream("SubscribeWelcomeMessages", welcome_filters((b"k", 0))),
    ):
        assert await ended(call) == (grpc.StatusCode.UNAVAILABLE, STREAM_CUTOVER)


async def test_cutover_closes_open_streams_on_the_next_check() -> None:
    async with (
        Devnode(port=0, cutover_check_interval_s=0.05) as node,
        grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel,
    ):
        rpc = Rpc(channel)
        call = rpc.stream("SubscribeGroupMessages", group_filters())
        await call.initial_metadata()
        await read_nothing(call, 0.15)
        node.cutover_ns = time.time_ns() + 50_000_000
        assert await ended(call) == (grpc.StatusCode.UNAVAILABLE, STREAM_CUTOVER)


# -- dispatcher units -------------------------------------------------------------------------------


def envelope(topic: Topic, ident: int) -> Envelope:
    return Envelope(topic, ident, b"")


async def test_dispatcher_routes_by_topic_and_drops_overflowing_subscriptions() -> None:
    a, b = Topic(TopicKind.GROUP, b"a"), Topic(TopicKind.WELCOME, b"a")
    dispatcher = Dispatcher(limit=3)
    sub_a, sub_b, none = dispatcher.subscribe([a]), dispatcher.subscribe([a, b]), dispatcher.subscribe([])
    assert dispatcher.count == 3
    for i in range(1, 4):
        dispatcher.publish(envelope(a, i))
    dispatcher.publish(envelope(b, 9))
    assert (len(sub_a), len(none)) == (3, 0)
    assert sub_b.closed is CloseReason.OVERFLOW  # the 4th push found the buffer full
    assert len(sub_b) == 0 and dispatcher.count == 2
    assert [sub_a.pop(), sub_a.pop()] == [envelope(a, 1), envelope(a, 2)]
    dispatcher.publish(envelope(a, 4))
    assert sub_a.closed is None and len(sub_a) == 2
    dispatcher.close_all(CloseReason.SHUTDOWN)
    assert sub_a.closed is CloseReason.SHUTDOWN and none.closed is CloseReason.SHUTDOWN
    assert dispatcher.count == 0
    dispatcher.unsubscribe(sub_a)  # twice is fine


async def test_subscription_wait_wakes_on_push_and_times_out() -> None:
    sub = Subscription(frozenset({Topic(TopicKind.GROUP, b"g")}))
    started = time.monotonic()
    await sub.wait(0.05)
    assert time.monotonic() - started >= 0.04
    waiter = asyncio.create_task(sub.wait(5))
    await asyncio.sleep(0)
    sub.push(envelope(Topic(TopicKind.GROUP, b"g"), 1))
    await asyncio.wait_for(waiter, 1)
    sub.close(CloseReason.OVERFLOW)
    sub.close(CloseReason.SHUTDOWN)
    assert sub.closed is CloseReason.OVERFLOW
    sub.push(envelope(Topic(TopicKind.GROUP, b"g"), 2))
    assert len(sub) == 0
