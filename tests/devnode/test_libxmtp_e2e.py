"""Real libxmtp 1.10.0 clients (raw ``xmtp_bindings.xmtpv3``) against the devnode.

Follows the minimal sequence of the libxmtp-python reference: nonce 1, device sync disabled, a
small SQLCipher pool per client. Only tests import the binding; the devnode itself never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.devnode import Devnode

from .helpers import Rpc, paging

x = pytest.importorskip("xmtp_bindings.xmtpv3")

APP = "openclaw-convos-devnode-tests/0"
NONCE = 1
TIMEOUT = 20


@dataclass(frozen=True)
class Peer:
    """A registered client with what is needed to reopen it."""

    client: Any
    wallet_key: bytes
    db_path: str
    db_key: bytes
    inbox_id: str

    @property
    def installation_key(self) -> bytes:
        return bytes(self.client.installation_id())


def identifier(wallet_key: bytes) -> Any:
    address = x.ethereum_address_from_pubkey(x.ethereum_generate_public_key(wallet_key)).lower()
    return x.FfiIdentifier(identifier=address, identifier_kind=x.FfiIdentifierKind.ETHEREUM)


async def open_client(
    url: str, wallet_key: bytes, db_path: str, db_key: bytes, *, allow_offline: bool | None = None
) -> Any:
    ident = identifier(wallet_key)
    api = await x.connect_to_backend(url, None, False, None, APP, None, None)
    sync_api = await x.connect_to_backend(url, None, False, None, APP, None, None)
    inbox_id = x.generate_inbox_id(ident, NONCE)
    if not allow_offline:
        inbox_id = await x.get_inbox_id_for_identifier(api, ident) or inbox_id
    db = x.DbOptions(db=db_path, encryption_key=db_key, max_db_pool_size=2, min_db_pool_size=1)
    client = await x.create_client(
        api, sync_api, db, inbox_id, ident, NONCE, None, x.FfiDeviceSyncMode.DISABLED, allow_offline, None
    )
    request = client.signature_request()
    if request is not None:
        text = await request.signature_text()
        await request.add_ecdsa_signature(x.ethereum_sign_recoverable(text.encode(), wallet_key, True))
        await client.register_identity(request)
    return client


async def new_peer(url: str, folder: Path, name: str) -> Peer:
    wallet_key, db_key = os.urandom(32), os.urandom(32)
    db_path = str(folder / f"{name}.db3")
    client = await asyncio.wait_for(open_client(url, wallet_key, db_path, db_key), TIMEOUT)
    return Peer(client, wallet_key, db_path, db_key, client.inbox_id())


def list_options() -> Any:
    return x.FfiListMessagesOptions(
        sent_before_ns=None, sent_after_ns=None, limit=None, delivery_status=None, direction=None,
        content_types=None, exclude_content_types=None, exclude_sender_inbox_ids=None, sort_by=None,
        inserted_after_ns=None, inserted_before_ns=None,
    )  # fmt: skip


async def texts(conversation: Any) -> list[str]:
    messages = await conversation.find_messages(list_options())
    return [x.decode_text(m.content) for m in messages if m.kind == x.FfiConversationMessageKind.APPLICATION]


async def send_text(conversation: Any, text: str) -> None:
    await asyncio.wait_for(
        conversation.send(x.encode_text(text), x.FfiSendMessageOpts(should_push=True)), TIMEOUT
    )


class QueueCallback(x.FfiMessageCallback):  # type: ignore[misc]
    """Forwards stream events from libxmtp's threads into an asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self._loop, self._queue = loop, queue

    def _put(self, item: tuple[str, Any]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def on_message(self, message: Any) -> None:
        self._put(("message", message))

    def on_error(self, error: Any) -> None:
        self._put(("error", error))

    def on_close(self) -> None:
        self._put(("close", None))


async def next_text(queue: asyncio.Queue[tuple[str, Any]]) -> str:
    while True:
        kind, item = await asyncio.wait_for(queue.get(), TIMEOUT)
        assert kind == "message", (kind, item)
        if item.kind == x.FfiConversationMessageKind.APPLICATION:
            return str(x.decode_text(item.content))


@pytest.fixture
def rpc_errors(caplog: pytest.LogCaptureFixture) -> Any:
    """The devnode's non-OK answers seen during the test."""
    caplog.set_level(logging.DEBUG, logger="openclaw_convos.devnode")

    def errors() -> list[str]:
        return [
            r.getMessage() for r in caplog.records if " -> " in r.getMessage() or r.levelno >= logging.ERROR
        ]

    return errors


async def test_dm_register_send_query_stream_and_reopen(
    node: Devnode, tmp_path: Path, rpc_errors: Any
) -> None:
    alice, bob = await asyncio.gather(
        new_peer(node.url, tmp_path, "alice"), new_peer(node.url, tmp_path, "bob")
    )
    assert alice.inbox_id == x.generate_inbox_id(identifier(alice.wallet_key), NONCE)
    found = await alice.client.find_inbox_id(identifier(bob.wallet_key))
    assert found == bob.inbox_id

    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    callback = QueueCallback(asyncio.get_running_loop(), queue)
    closer = await bob.client.conversations().stream_all_messages(callback, None)
    await asyncio.wait_for(closer.wait_for_ready(), TIMEOUT)

    dm = await asyncio.wait_for(
        alice.client.conversations().find_or_create_dm(
            bob.inbox_id, x.FfiCreateDmOptions(message_disappearing_settings=None)
        ),
        TIMEOUT,
    )
    await send_text(dm, "hello bob")
    assert await next_text(queue) == "hello bob"  # live, through SubscribeWelcome + SubscribeGroup
    closer.end()

    await asyncio.wait_for(bob.client.conversations().sync_all_conversations(None), TIMEOUT)
    bob_dm = bob.client.dm_conversation(alice.inbox_id)
    assert bob_dm.id() == dm.id()
    assert await texts(bob_dm) == ["hello bob"]

    await send_text(bob_dm, "hi alice")  # bob's first send after joining
    await asyncio.wait_for(dm.sync(), TIMEOUT)
    assert await texts(dm) == ["hello bob", "hi alice"]

    # Reopen: online (same installation, no re-registration), then offline.
    again = await asyncio.wait_for(open_client(node.url, bob.wallet_key, bob.db_path, bob.db_key), TIMEOUT)
    assert bytes(again.installation_id()) == bob.installation_key
    assert again.signature_request() is None
    offline = await asyncio.wait_for(
        open_client("http://127.0.0.1:9", bob.wallet_key, bob.db_path, bob.db_key, allow_offline=True),
        TIMEOUT,
    )
    assert await texts(offline.dm_conversation(alice.inbox_id)) == ["hello bob", "hi alice"]
    assert rpc_errors() == []


async def test_group_of_four_uses_welcome_pointers(
    node: Devnode, rpc: Rpc, tmp_path: Path, rpc_errors: Any
) -> None:
    creator, *members = await asyncio.gather(
        *(new_peer(node.url, tmp_path, name) for name in ("creator", "m1", "m2", "m3"))
    )
    options = x.FfiCreateGroupOptions(
        permissions=None, group_name="four", group_image_url_square=None, group_description=None,
        custom_permission_policy_set=None, message_disappearing_settings=None, app_data=None,
    )  # fmt: skip
    group = await asyncio.wait_for(
        creator.client.conversations().create_group([m.inbox_id for m in members], options), TIMEOUT
    )
    await send_text(group, "hi all")

    # More than two installations: libxmtp sent one pointer per member instead of a direct welcome.
    for member in members:
        welcomes = await rpc.query_welcomes(member.installation_key, paging(direction=1))
        assert [w.WhichOneof("version") for w in welcomes.messages] == ["welcome_pointer"]
        assert welcomes.messages[0].welcome_pointer.wrapper_algorithm == 2

    joined = []
    for member in members:
        await asyncio.wait_for(member.client.conversations().sync_all_conversations(None), TIMEOUT)
        conversation = member.client.conversation(group.id())
        assert conversation.group_name() == "four"
        assert await texts(conversation) == ["hi all"]
        joined.append(conversation)

    await send_text(joined[0], "reply from m1")
    for conversation in (group, *joined[1:]):
        await asyncio.wait_for(conversation.sync(), TIMEOUT)
        assert await texts(conversation) == ["hi all", "reply from m1"]
    members_now = await group.list_members()
    assert {m.inbox_id for m in members_now} == {creator.inbox_id, *(m.inbox_id for m in members)}
    assert rpc_errors() == []


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("DEVNODE_IDLE_TEST") != "1", reason="75 s idle stream; set DEVNODE_IDLE_TEST=1 to run"
)
async def test_idle_stream_survives_libxmtp_keepalive_pings(node: Devnode, tmp_path: Path) -> None:
    alice, bob = await asyncio.gather(
        new_peer(node.url, tmp_path, "alice"), new_peer(node.url, tmp_path, "bob")
    )
    dm = await alice.client.conversations().find_or_create_dm(
        bob.inbox_id, x.FfiCreateDmOptions(message_disappearing_settings=None)
    )
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    closer = await bob.client.conversations().stream_all_messages(
        QueueCallback(asyncio.get_running_loop(), queue), None
    )
    await closer.wait_for_ready()
    await asyncio.sleep(75)  # libxmtp pings every 16 s; grpcio's defaults would GOAWAY after ~64 s
    await send_text(dm, "still there?")
    assert await next_text(queue) == "still there?"
    closer.end()
