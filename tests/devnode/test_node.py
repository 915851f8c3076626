"""The Devnode lifecycle: listeners, options, persistence, the CLI, logging, a busy caller loop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import grpc.aio
import pytest

from openclaw_convos.devnode import Devnode, run_devnode
from openclaw_convos.devnode.proto import identity_api_pb2 as ident
from openclaw_convos.devnode.proto import mls_api_pb2 as api
from openclaw_convos.devnode.proto import signature_pb2 as sig
from openclaw_convos.devnode.server import SERVER_OPTIONS
from openclaw_convos.devnode.store import SCHEMA_VERSION, Store
from openclaw_convos.errors import DevnodeError

from .helpers import (
    Rpc,
    key_package,
    new_address,
    new_inbox,
    paging,
    private_message,
    registration,
    welcome_v1,
)


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def block_until(condition: Callable[[], bool], seconds: float) -> None:
    """Busy-wait without yielding to the event loop."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


async def get_inbox_ids(target: str) -> ident.GetInboxIdsResponse:
    async with grpc.aio.insecure_channel(target) as channel:
        return await Rpc(channel).identity("GetInboxIds", ident.GetInboxIdsRequest())  # type: ignore[no-any-return]


async def test_port_url_and_both_loopbacks() -> None:
    async with Devnode(port=0) as node:
        assert node.running and node.port > 0
        assert node.url == f"http://127.0.0.1:{node.port}"
        await get_inbox_ids(f"127.0.0.1:{node.port}")
        if has_ipv6_loopback():
            assert node.ipv6_bound
            await get_inbox_ids(f"[::1]:{node.port}")
    assert not node.running
    with pytest.raises(DevnodeError, match="not running"):
        _ = node.port


async def test_localhost_and_ipv6_hosts() -> None:
    async with Devnode(port=0, host="localhost") as node:
        assert node.url == f"http://localhost:{node.port}"
        await get_inbox_ids(f"localhost:{node.port}")
    if has_ipv6_loopback():
        async with Devnode(port=0, host="::1") as node:
            assert node.url == f"http://[::1]:{node.port}"
            await get_inbox_ids(f"127.0.0.1:{node.port}")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.com"])
def test_public_hosts_are_refused(host: str) -> None:
    with pytest.raises(DevnodeError, match="loopback"):
        Devnode(port=0, host=host)


async def test_port_in_use_is_a_devnode_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DevnodeError, match="cannot listen"):
            await Devnode(port=port).start()
    async with Devnode(port=0) as first:
        second = Devnode(port=first.port)
        with pytest.raises(DevnodeError, match="cannot listen"):
            await second.start()
        assert not second.running


async def test_start_twice_and_stop_twice() -> None:
    node = Devnode(port=0)
    await node.start()
    with pytest.raises(DevnodeError, match="already running"):
        await node.start()
    await node.stop()
    await node.stop()
    await node.start()  # restartable
    await get_inbox_ids(f"127.0.0.1:{node.port}")
    await node.stop()


def test_server_options() -> None:
    options = dict(SERVER_OPTIONS)
    assert options["grpc.max_receive_message_length"] == 50 * 1024 * 1024
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.http2.min_ping_interval_without_data_ms"] == 10_000
    assert options["grpc.http2.max_ping_strikes"] == 0
    assert options["grpc.keepalive_time_ms"] == 300_000


async def test_large_requests_up_to_50_mib(rpc: Rpc) -> None:
    group = os.urandom(16)
    await rpc.send_group(private_message(group, body=os.urandom(8 * 1024 * 1024)))  # grpcio default: 4 MiB
    newest = await rpc.mls("GetNewestGroupMessage", api.GetNewestGroupMessageRequest(group_ids=[group]))
    assert newest.responses[0].group_message.v1.id == 1  # metadata only: the 4 MiB client limit stays fine
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await rpc.send_group(private_message(group, body=bytes(51 * 1024 * 1024)))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_node_serves_while_the_caller_loop_is_blocked(node: Devnode) -> None:
    result: list[object] = []

    def sync_call() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{node.port}") as channel:
            call = channel.unary_unary(
                "/xmtp.identity.api.v1.IdentityApi/GetInboxIds",
                request_serializer=ident.GetInboxIdsRequest.SerializeToString,
                response_deserializer=ident.GetInboxIdsResponse.FromString,
            )
            result.append(call(ident.GetInboxIdsRequest(), timeout=5))

    thread = threading.Thread(target=sync_call)
    thread.start()
    block_until(lambda: bool(result), 5)  # block this loop, as a long native call would
    assert result, "the node did not answer while the caller's loop was blocked"
    thread.join()


async def test_rpcs_are_logged_at_debug(rpc: Rpc, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="openclaw_convos.devnode"):
        await rpc.identity("GetInboxIds", ident.GetInboxIdsRequest())
        with pytest.raises(grpc.aio.AioRpcError):
            await rpc.query_group(b"")
    messages = [r.getMessage() for r in caplog.records if r.name == "openclaw_convos.devnode"]
    assert any("rpc /xmtp.identity.api.v1.IdentityApi/GetInboxIds from" in m for m in messages)
    assert any("QueryGroupMessages -> UNKNOWN group is required" in m for m in messages)


async def test_run_devnode_until_stop() -> None:
    stop = asyncio.Event()
    ports: list[int] = []

    def ready(port: int) -> None:
        ports.append(port)
        stop.set()

    await asyncio.wait_for(run_devnode(0, None, "127.0.0.1", ready=ready, stop=stop), 10)
    assert ports and ports[0] > 0


# -- persistence ----------------------------------------------------------------------------------


async def test_restart_on_the_same_file_keeps_everything(tmp_path: Path) -> None:
    db = str(tmp_path / "node.sqlite")
    address, inbox, installation, group, welcome_key = (
        new_address(), new_inbox(), os.urandom(32), os.urandom(16), os.urandom(32),
    )  # fmt: skip
    package = key_package(installation)
    signature = sig.RecoverableEd25519Signature(bytes=b"s" * 64, public_key=b"p" * 32)
    async with Devnode(port=0, db_path=db) as node, grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as ch:
        rpc = Rpc(ch)
        await rpc.mls(
            "UploadKeyPackage",
            api.UploadKeyPackageRequest(key_package=api.KeyPackageUpload(key_package_tls_serialized=package)),
        )
        await rpc.identity(
            "PublishIdentityUpdate",
            ident.PublishIdentityUpdateRequest(identity_update=registration(address, inbox, installation)),
        )
        await rpc.send_group(private_message(group), private_message(group, 3))
        await rpc.send_welcomes(welcome_v1(welcome_key))
        await rpc.mls(
            "BatchPublishCommitLog",
            api.BatchPublishCommitLogRequest(
                requests=[
                    api.PublishCommitLogRequest(
                        group_id=group, serialized_commit_log_entry=b"e", signature=signature
                    )
                ]
            ),
        )
    assert Path(db).exists()

    async with Devnode(port=0, db_path=db) as node, grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as ch:
        rpc = Rpc(ch)
        inbox_ids = await rpc.identity(
            "GetInboxIds",
            ident.GetInboxIdsRequest(
                requests=[ident.GetInboxIdsRequest.Request(identifier=address, identifier_kind=1)]
            ),
        )
        assert inbox_ids.responses[0].inbox_id == inbox
        logs = await rpc.identity(
            "GetIdentityUpdates",
            ident.GetIdentityUpdatesRequest(
                requests=[ident.GetIdentityUpdatesRequest.Request(inbox_id=inbox)]
            ),
        )
        assert [u.sequence_id for u in logs.responses[0].updates] == [1]
        fetched = await rpc.mls(
            "FetchKeyPackages", api.FetchKeyPackagesRequest(installation_keys=[installation])
        )
        assert fetched.key_packages[0].key_package_tls_serialized == package
        assert [(m.v1.id, m.v1.is_commit) for m in (await rpc.query_group(group, paging(1))).messages] == [
            (1, False),
            (2, True),
        ]
        await rpc.send_group(private_message(group))  # ids continue, never reused
        assert (await rpc.query_group(group)).messages[0].v1.id == 3
        assert (await rpc.query_welcomes(welcome_key)).messages[0].v1.id == 1
        log = await rpc.mls(
            "BatchQueryCommitLog",
            api.BatchQueryCommitLogRequest(requests=[api.QueryCommitLogRequest(group_id=group)]),
        )
        assert log.responses[0].commit_log_entries[0].signature == signature


async def test_file_is_locked_while_a_node_runs(tmp_path: Path) -> None:
    db = str(tmp_path / "node.sqlite")
    async with Devnode(port=0, db_path=db):
        with pytest.raises(DevnodeError, match="in use"):
            await Devnode(port=0, db_path=db).start()
        with pytest.raises(DevnodeError, match="in use"):
            Store(db)


def test_store_uses_wal_and_schema_version(tmp_path: Path) -> None:
    db = str(tmp_path / "node.sqlite")
    Store(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "node.sqlite")
    Store(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(DevnodeError, match="newer than the supported"):
        await Devnode(port=0, db_path=db).start()


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(DevnodeError, match="not a devnode database"):
        Store(str(other))
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(DevnodeError):
        Store(str(garbage))
    with pytest.raises(DevnodeError, match="cannot open"):
        Store(str(tmp_path / "missing-dir" / "x.sqlite"))


# -- python -m ------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_module_cli_prints_the_url_and_stops_on_signals(tmp_path: Path, signum: signal.Signals) -> None:
    db = tmp_path / "cli.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "openclaw_convos.devnode", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("devnode listening on http://127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                "/xmtp.identity.api.v1.IdentityApi/GetInboxIds",
                request_serializer=ident.GetInboxIdsRequest.SerializeToString,
                response_deserializer=ident.GetInboxIdsResponse.FromString,
            )
            call(ident.GetInboxIdsRequest(), timeout=5)
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        assert db.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_module_cli_reports_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openclaw_convos.devnode", "--port", "0", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 1
    assert "loopback" in result.stderr
