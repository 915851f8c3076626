"""Attachments in the pipeline, on the in-memory fakes: caption merging, files before the text,
exactly-once uploads across a crash, and strangers' files never fetched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openclaw_convos.agents import AgentReply, AgentTurn
from openclaw_convos.gateway.identities import IdentityStore
from openclaw_convos.gateway.pairing import PairingStore
from openclaw_convos.gateway.state import GatewayState, RecordState
from openclaw_convos.media import MediaConfig, MediaFile
from openclaw_convos.media.fetch import SafeDownloader
from openclaw_convos.media.service import MediaService
from openclaw_convos.xmtp import attachments as xa
from openclaw_convos.xmtp import outbound as out

from ..agents.chat_server import ChatServer, Reply
from .fakes import FakeNetwork
from .test_pipeline import ALICE, OWNER, Rig

OWNER_INBOX = OWNER


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The pipeline tests' rig (an owner conversation on the fake network)."""
    net = FakeNetwork()
    store = IdentityStore(tmp_path / "identities", tmp_path / "xmtp")
    owner_identity = store.create(role="owner")
    me = net.inbox_of(store.xmtp_identity(owner_identity))
    owner_room = net.group(me, OWNER)
    owner_identity = store.update(owner_identity, conversation_id=owner_room.id)
    state = GatewayState.open(tmp_path / "state.sqlite")
    await state.add_owner(OWNER)
    state.close()
    r = Rig(tmp_path, net, store, PairingStore(tmp_path / "credentials"), owner_identity, me, owner_room)
    try:
        yield r
    finally:
        if r.gateway is not None:
            await r.gateway.stop()


PHOTO = xa.InlineAttachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(range(256)) * 20)


class MemoryUploader:
    name = "memory"

    def __init__(self) -> None:
        self.objects: list[bytes] = []

    async def upload(self, payload: bytes) -> str:
        self.objects.append(payload)
        return f"https://store.example.test/{len(self.objects)}"


def media_for(uploader: MemoryUploader | None = None) -> MediaService:
    return MediaService(
        MediaConfig(),
        downloader=SafeDownloader(max_bytes=10**7, timeout=5, allow_loopback=True),
        uploader=uploader,
    )


async def serve_photo(server: ChatServer) -> out.RemoteFile:
    """Alice's app: the photo encrypted, its payload served by a loopback server."""
    enc = xa.encrypt_attachment(PHOTO)
    server.replies.append(Reply(body=enc.payload))
    return out.RemoteFile.of(enc.at(f"http://127.0.0.1:{server.port}/photo"))


async def test_a_photo_and_its_caption_are_one_turn(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open", caption_window=1.0)
    gateway.media = media_for()
    async with ChatServer() as server:
        remote = await serve_photo(server)
        photo_id = await room.publish_as(ALICE, remote)
        caption_id = await room.publish_as(ALICE, out.Text("my dog"))
        await rig.settle()
    (turn,) = rig.agent.turns
    assert turn.text == "my dog" and turn.message_id == photo_id
    (file,) = turn.attachments
    assert (file.filename, file.mime_type, file.content) == ("photo.jpg", "image/jpeg", PHOTO.content)
    assert rig.texts(room, me) == ["echo: my dog"]
    photo = await gateway.state.get(photo_id)
    caption = await gateway.state.get(caption_id)
    assert photo is not None and caption is not None
    assert caption.state is RecordState.IGNORED  # handled with the photo, never a turn of its own
    history = await gateway.state.history(room.id, 10)
    assert history[0].text == "[sent photo.jpg] my dog"


async def test_without_a_caption_the_photo_is_a_turn_after_the_window(rig: Rig) -> None:
    _me, room = rig.identity(ALICE)
    gateway = await rig.start(dm_policy="open", caption_window=0.2)
    gateway.media = media_for()
    async with ChatServer() as server:
        await room.publish_as(ALICE, await serve_photo(server))
        await rig.settle()
        await room.publish_as(ALICE, out.Text("later text"))
        await rig.settle()
    first, second = rig.agent.turns
    assert first.text == "" and len(first.attachments) == 1
    assert second.text == "later text" and second.attachments == ()


async def test_the_agents_files_go_first_and_are_uploaded_once_across_a_crash(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    uploader = MemoryUploader()
    report = MediaFile(filename="report.pdf", mime_type="application/pdf", content=b"%PDF report")

    def answer(turn: AgentTurn) -> AgentReply:
        return AgentReply(text="here you go", attachments=(report,))

    rig.agent.answer = answer
    await rig.start(dm_policy="open")
    assert rig.gateway is not None
    rig.gateway.media = media_for(uploader)
    room.fail_sends, room.fail_when = 10**6, lambda item: isinstance(item, out.Text)
    await room.publish_as(ALICE, out.Text("the report please"))
    for _ in range(200):
        if any(isinstance(s.item, out.RemoteFile) for s in rig.net.sent if s.sender == me):
            break
        await asyncio.sleep(0.01)
    room.fail_sends, room.fail_when = 0, None
    await rig.restart(dm_policy="open")
    rig.gateway.media = media_for(uploader)
    await rig.settle()
    mine = [
        s.item
        for s in rig.net.sent
        if s.sender == me and s.conversation_id == room.id and isinstance(s.item, out.RemoteFile | out.Text)
    ]
    assert [type(i).__name__ for i in mine] == ["RemoteFile", "Text"]  # the file first, once
    assert len(uploader.objects) == 1 and len(rig.agent.turns) == 1
    file = mine[0]
    assert isinstance(file, out.RemoteFile)
    got = xa.decrypt_attachment(uploader.objects[0], file.reference())
    assert got == xa.InlineAttachment("report.pdf", "application/pdf", b"%PDF report")


async def test_no_provider_turns_the_file_into_a_note_in_the_text(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    rig.agent.answer = lambda turn: AgentReply(
        text="here", attachments=(MediaFile(filename="a.txt", mime_type="text/plain", content=b"a"),)
    )
    await rig.start(dm_policy="open")
    assert rig.gateway is not None
    rig.gateway.media = media_for(None)
    await rig.say(room, ALICE, "file please")
    assert rig.texts(room, me) == ["here\n\n(I could not send a.txt.)"]


async def test_a_strangers_photo_is_never_fetched(rig: Rig) -> None:
    me, room = rig.identity(ALICE)
    await rig.start(dm_policy="pairing")
    assert rig.gateway is not None
    rig.gateway.media = media_for()
    async with ChatServer() as server:
        await room.publish_as(ALICE, await serve_photo(server))
        await rig.settle()
        assert server.requests == []
    assert rig.agent.turns == []
    assert any("Pairing code" in t for t in rig.texts(room, me))


async def test_an_owner_command_after_a_photo_is_not_its_caption(rig: Rig) -> None:
    await rig.start(dm_policy="open", caption_window=1.0)
    assert rig.gateway is not None
    rig.gateway.media = media_for()
    async with ChatServer() as server:
        await rig.owner_room.publish_as(OWNER_INBOX, await serve_photo(server))
        await rig.owner_room.publish_as(OWNER_INBOX, out.Text("approve ABCD2345"))
        await rig.settle()
    (turn,) = rig.agent.turns  # the photo alone
    assert turn.text == "" and len(turn.attachments) == 1
    assert any(
        "No pending pairing request has the code ABCD2345" in t for t in rig.texts(rig.owner_room, rig.me)
    )
