"""Attachments through the whole gateway: simulated Convos users, the devnode, a real S3 store.

Alice (the app) uploads her picture to the loopback S3 store and sends it as a remote attachment
followed by its caption; the gateway downloads, checks and decrypts it for the agent and sends
the agent's files back freshly encrypted and uploaded, before the text.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
from collections.abc import AsyncIterator

import httpx
import pytest

from openclaw_convos.agents import AgentBase, AgentReply, AgentTurn, EchoAgent
from openclaw_convos.agents.openai_compat import OpenAICompatibleAgent
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.joinflow.joiner import JoinStatus
from openclaw_convos.media import MediaConfig
from openclaw_convos.media.config import resolve_upload_settings
from openclaw_convos.media.localstore import LocalObjectStore
from openclaw_convos.media.service import MediaService
from openclaw_convos.media.upload import build_uploader
from openclaw_convos.xmtp import attachments as xa

from ..agents.chat_server import ChatServer, Reply, completion
from .conftest import World
from .test_gateway import setup_owner

PICTURE = xa.InlineAttachment("cat.png", "image/png", b"\x89PNG\r\n\x1a\n" + os.urandom(64 * 1024))


@pytest.fixture
async def store(world: World) -> AsyncIterator[LocalObjectStore]:
    async with LocalObjectStore(world.root / "objects") as s:
        world.state_dir.mkdir(parents=True, exist_ok=True)
        (world.state_dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in s.environ().items()))
        yield s


@pytest.fixture
async def phone_upload(store: LocalObjectStore) -> AsyncIterator[object]:
    """Alice's app's upload: the same store, as convos-cli or the app would use it."""
    settings = resolve_upload_settings(MediaConfig(), store.environ(), "local")
    assert settings is not None
    async with httpx.AsyncClient(trust_env=False) as client:
        yield build_uploader(settings, client).upload


class Recording(AgentBase):
    name = "recording"

    def __init__(self) -> None:
        self.turns: list[AgentTurn] = []

    async def respond(self, turn: AgentTurn) -> AgentReply:
        self.turns.append(turn)
        return AgentReply(text="got it")


def agent_inbox_of(gateway: object) -> str:
    hosts = gateway.hosts  # type: ignore[attr-defined]
    return hosts[next(iter(hosts))].client.inbox_id  # type: ignore[no-any-return]


async def test_echo_sends_the_picture_back_before_the_caption(
    world: World, store: LocalObjectStore, phone_upload: object, caplog: pytest.LogCaptureFixture
) -> None:
    alice, room = await setup_owner(world)
    caplog.set_level(logging.DEBUG)
    async with open_gateway(world.load(), EchoAgent()) as gateway:
        agent = agent_inbox_of(gateway)
        start = len(alice.seen)
        await alice.send_file(room, PICTURE, phone_upload)  # type: ignore[arg-type]
        await alice.say(room, "look at my cat")
        back = await alice.wait_for(
            lambda s: s.sender_inbox_id == agent and s.kind == "attachment", after=start
        )
        caption = await alice.wait_for(
            lambda s: s.sender_inbox_id == agent and s.text == "look at my cat", after=start
        )
        assert alice.seen.index(back) < alice.seen.index(caption)  # files first, then the text
        await gateway.idle()
        counts = await gateway.state.counts()
    assert back.attachment is not None
    (ref,) = back.attachment.items
    assert isinstance(ref, xa.RemoteAttachment)
    media = MediaService.from_config(MediaConfig(), environ={}, env="local")
    try:
        (file,) = await media.receive(back.attachment)
    finally:
        await media.aclose()
    assert file.note is None and file.content == PICTURE.content and file.filename == "cat.png"
    # every logger at DEBUG: no key of the echoed file, no bytes of the picture
    logged = caplog.text
    for secret in (ref.secret, ref.salt, ref.nonce):
        assert secret.hex() not in logged and base64.b64encode(secret).decode() not in logged
    assert PICTURE.content[8:40].hex() not in logged and "cat.png" in logged  # metadata only
    assert len(store.objects()) == 2  # Alice's upload and the agent's fresh one
    assert all(PICTURE.content not in p.read_bytes() for p in store.objects())
    assert counts.get("done") == 1  # one turn: the caption rode along with the picture
    texts = alice.texts_from(agent, room)
    assert texts.count("look at my cat") == 1


async def test_openai_backend_sees_the_image_and_its_caption_in_one_message(
    world: World, store: LocalObjectStore, phone_upload: object
) -> None:
    alice, room = await setup_owner(world)
    async with ChatServer() as model:
        model.replies = [Reply(body=completion("A cat on a sofa."))]
        backend = OpenAICompatibleAgent(base_url=model.base_url, model="vision", send_history=False)
        async with open_gateway(world.load(), backend) as gateway:
            agent = agent_inbox_of(gateway)
            await alice.send_file(room, PICTURE, phone_upload)  # type: ignore[arg-type]
            await alice.say(room, "what is this?")
            await alice.wait_for(lambda s: s.sender_inbox_id == agent and s.text == "A cat on a sofa.")
            await gateway.idle()
    (request,) = [r for r in model.requests if r.path.endswith("/chat/completions")]
    (message,) = [m for m in request.json()["messages"] if m["role"] == "user"]
    text, image = message["content"]
    assert "what is this?" in text["text"] and "cat.png" in text["text"]
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PICTURE.content).decode()


async def test_a_tampered_file_is_a_note_for_the_agent_and_the_gateway_goes_on(
    world: World, store: LocalObjectStore, phone_upload: object
) -> None:
    alice, room = await setup_owner(world)
    agent_backend = Recording()

    async def tampering_upload(payload: bytes) -> str:
        url = await phone_upload(payload)  # type: ignore[operator]
        (stored,) = [p for p in store.objects() if url.endswith(p.name)]
        stored.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))
        return url  # type: ignore[no-any-return]

    async with open_gateway(world.load(), agent_backend) as gateway:
        agent = agent_inbox_of(gateway)
        await alice.send_file(room, PICTURE, tampering_upload)
        await alice.wait_for(lambda s: s.sender_inbox_id == agent and s.text == "got it")
        await alice.say(room, "still there?")
        await alice.wait_for(
            lambda s: s.sender_inbox_id == agent and s.text == "got it", after=len(alice.seen) - 1
        )
        await gateway.idle()
    first = agent_backend.turns[0]
    (file,) = first.attachments
    assert file.content == b"" and file.note is not None and "digest mismatch" in file.note


async def test_a_strangers_attachment_is_never_downloaded(world: World, store: LocalObjectStore) -> None:
    alice, _room = await setup_owner(world)
    bob = await world.user("Bob")
    async with ChatServer() as trap, open_gateway(world.load(), EchoAgent()) as gateway:
        created = await create_owned_conversation(world.load(), name="Open room", gateway=gateway)
        joined = await bob.join(created.url)
        assert joined.status is JoinStatus.JOINED
        agent = gateway.hosts[created.identity.id].client.inbox_id

        async def to_trap(payload: bytes) -> str:
            return f"http://127.0.0.1:{trap.port}/{hashlib.sha256(payload).hexdigest()}"

        await bob.send_file(created.conversation_id, PICTURE, to_trap)
        code = await bob.wait_for(lambda s: s.sender_inbox_id == agent and "Pairing code:" in s.text)
        assert code is not None
        await gateway.idle()
        await asyncio.sleep(0.5)
        assert trap.requests == []  # nothing was fetched for the stranger
        await alice.say(_room, "are you alive?")
        await alice.wait_for(lambda s: s.text == "are you alive?" and s.sender_inbox_id != alice.inbox_id)
