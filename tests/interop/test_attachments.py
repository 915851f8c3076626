"""Attachments with the official convos-cli, through a real S3-compatible store on loopback.

The CLI's S3 provider and our gateway read the same variables (``CONVOS_UPLOAD_PROVIDER=s3``…)
and point at one ``rclone serve s3``. The CLI sends an image, our echo agent sends it back, and
``convos conversation download-attachment`` gets the same bytes; and our agent sends a file
that the CLI downloads and decrypts to the same bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import pytest

from openclaw_convos.agents import AgentBase, AgentReply, AgentTurn
from openclaw_convos.media import MediaFile
from openclaw_convos.media.localstore import LocalObjectStore

from .conftest import Interop
from .helpers import cli_creates, running_gateway, type_id, wait_cli_message, we_join

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

IMAGE = b"\x89PNG\r\n\x1a\n" + os.urandom(1024 * 1024)  # a 1 MB "picture"
REPORT = b"%PDF-1.4\n" + os.urandom(300 * 1024)


@pytest.fixture
async def store(interop: Interop) -> AsyncIterator[LocalObjectStore]:
    async with LocalObjectStore(interop.root / "objects") as s:
        interop.state_dir.mkdir(parents=True, exist_ok=True)
        (interop.state_dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in s.environ().items()))
        yield s


class Reporter(AgentBase):
    """Sends a file (and a line of text) when asked for the report."""

    name = "reporter"

    async def respond(self, turn: AgentTurn) -> AgentReply:
        if "report" in turn.text:
            return AgentReply(
                text="here it is",
                attachments=(MediaFile(filename="report.pdf", mime_type="application/pdf", content=REPORT),),
            )
        return AgentReply(text=turn.text)


async def test_cli_image_is_echoed_back_byte_for_byte(interop: Interop, store: LocalObjectStore) -> None:
    room = await cli_creates(interop)
    ours = await we_join(interop, room)
    alice = room.creator
    alice.extra_env.update(store.environ())
    picture = alice.sandbox / "cwd" / "photo.png"
    picture.write_bytes(IMAGE)
    async with running_gateway(interop) as gateway:
        started = time.monotonic()
        sent = await alice.json("conversation", "send-attachment", room.conversation_id, str(picture))
        assert sent["success"] is True and sent["type"] == "remote" and sent["provider"] == "s3", sent
        back = await wait_cli_message(
            alice,
            room.conversation_id,
            lambda m: m["senderInboxId"] == ours and type_id(m) == "remoteStaticAttachment",
            timeout=60,
            what="the echoed picture",
        )
        seen_after = time.monotonic() - started
        target = alice.sandbox / "cwd" / "echoed.png"
        got = await alice.json(
            "conversation", "download-attachment", room.conversation_id, back["id"], "--output", str(target)
        )
        assert got["success"] is True and got["type"] == "remote", got
        assert target.read_bytes() == IMAGE
        assert got["filename"] == "photo.png" and got["mimeType"] == "image/png"
        assert got["url"] != sent["url"]  # freshly uploaded, not the CLI's object
        await gateway.idle()
    print(f"1 MB CLI image: send-attachment to echo seen by the CLI: {seen_after:.1f} s")
    assert len(store.objects()) == 2


async def test_our_agents_file_downloads_in_the_cli(interop: Interop, store: LocalObjectStore) -> None:
    room = await cli_creates(interop)
    ours = await we_join(interop, room)
    alice = room.creator
    alice.extra_env.update(store.environ())
    async with running_gateway(interop, Reporter()) as gateway:
        await alice.json("conversation", "send-text", room.conversation_id, "the report please")
        text = await wait_cli_message(
            alice,
            room.conversation_id,
            lambda m: m["senderInboxId"] == ours and m.get("content") == "here it is",
            timeout=60,
            what="the agent's text",
        )
        messages = [m for m in [text] if m]
        attachment = await wait_cli_message(
            alice,
            room.conversation_id,
            lambda m: m["senderInboxId"] == ours and type_id(m) == "remoteStaticAttachment",
            what="the agent's file",
        )
        assert messages and attachment["sentAt"] <= text["sentAt"]  # the file went out before the text
        target = alice.sandbox / "cwd" / "report.pdf"
        got = await alice.json(
            "conversation",
            "download-attachment",
            room.conversation_id,
            attachment["id"],
            "--output",
            str(target),
        )
        assert (
            got["success"] is True
            and got["mimeType"] == "application/pdf"
            and got["filename"] == "report.pdf"
        )
        assert target.read_bytes() == REPORT
        await gateway.idle()
