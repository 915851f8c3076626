"""Attachments in agent turns and replies: image parts, transcription, files for the command
backend, MEDIA lines, and the echo backend's file echo. Real HTTP servers and real programs."""

from __future__ import annotations

import base64
import json
import sys
import textwrap
from pathlib import Path

import pytest

from openclaw_convos.agents import AgentReply, AgentResponseError, AgentTurn, CommandAgent, EchoAgent
from openclaw_convos.agents.base import render_turn_text
from openclaw_convos.agents.command import parse_command_output
from openclaw_convos.agents.openai_compat import OpenAICompatibleAgent, split_media_lines
from openclaw_convos.media import MediaConfig, MediaFile, MediaRef
from openclaw_convos.media.config import TranscriptionConfig
from openclaw_convos.media.service import MediaService
from openclaw_convos.xmtp import attachments as a
from openclaw_convos.xmtp import content as c

from .chat_server import ChatServer, Reply, completion

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
PICTURE = MediaFile(filename="cat.png", mime_type="image/png", content=PNG)
PDF = MediaFile(filename="report.pdf", mime_type="application/pdf", content=b"%PDF-1.4" + b"0" * 3000)


def turn(text: str = "what is this?", *files: MediaFile) -> AgentTurn:
    return AgentTurn(
        conversation_id="c" * 32,
        sender_inbox_id="a" * 64,
        sender_name="Alice",
        text=text,
        message_id="m1",
        attachments=files,
    )


async def test_image_goes_as_an_image_part_with_the_caption_in_the_same_message() -> None:
    async with ChatServer() as server:
        agent = OpenAICompatibleAgent(base_url=server.base_url, model="vision-model")
        server.replies = [Reply(body=completion("A cat."))]
        reply = await agent.respond(turn("what is this?", PICTURE, PDF))
        await agent.aclose()
    assert reply == AgentReply(text="A cat.")
    (request,) = server.requests
    (message,) = request.json()["messages"]
    assert message["role"] == "user"
    text_part, image_part = message["content"]
    assert text_part["type"] == "text"
    assert "what is this?" in text_part["text"]
    assert "[image cat.png (image/png, 208 bytes), shown below]" in text_part["text"]
    assert "[attached file report.pdf (application/pdf, 3 KB)]" in text_part["text"]
    assert image_part == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
    }


async def test_without_vision_or_images_the_content_stays_a_string() -> None:
    async with ChatServer() as server:
        agent = OpenAICompatibleAgent(base_url=server.base_url, model="m", vision=False)
        await agent.respond(turn("look", PICTURE))
        await agent.aclose()
    content = server.requests[0].json()["messages"][0]["content"]
    assert isinstance(content, str) and "[attached image cat.png (image/png, 208 bytes)]" in content


async def test_audio_is_transcribed_through_the_transcriptions_endpoint() -> None:
    async with ChatServer() as server:
        server.replies = [Reply(body={"text": " meet me at noon "})]
        media = MediaService.from_config(
            MediaConfig(
                transcription=TranscriptionConfig(
                    base_url=server.base_url, model="whisper-1", api_key_env="STT_KEY"
                )
            ),
            environ={"STT_KEY": "stt-secret"},
            env="local",
        )
        voice = a.InlineAttachment("voice.m4a", "audio/mp4", b"\x00\x00\x00\x18ftypM4A " + b"a" * 500)
        message = c.decode_standard(a.encode_inline_attachment(voice))
        assert isinstance(message, c.Attachment)
        (file,) = await media.receive(message)
        await media.aclose()
    assert file.transcript == "meet me at noon"
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/audio/transcriptions")
    assert request.headers["authorization"] == "Bearer stt-secret"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="model"' in request.body and b"whisper-1" in request.body
    assert b'filename="voice.m4a"' in request.body and voice.content in request.body
    text = render_turn_text(turn("", file))
    assert 'voice message voice.m4a (audio/mp4, 512 bytes), transcript: "meet me at noon"' in text


async def test_audio_without_transcription_is_described() -> None:
    media = MediaService.from_config(MediaConfig(), environ={}, env="local")
    message = c.decode_standard(
        a.encode_inline_attachment(a.InlineAttachment("v.ogg", "audio/ogg", b"O" * 10))
    )
    assert isinstance(message, c.Attachment)
    (file,) = await media.receive(message)
    await media.aclose()
    assert file.transcript is None
    assert render_turn_text(turn("", file)) == "Alice: [attached audio v.ogg (audio/ogg, 10 bytes)]"


def test_notes_reach_the_model() -> None:
    broken = MediaFile(
        filename="x.jpg",
        mime_type="image/jpeg",
        note="could not be opened (digest mismatch)",
        declared_size=10,
    )
    assert (
        "[attachment x.jpg (image/jpeg, 10 bytes) could not be opened (digest mismatch)]"
        in render_turn_text(turn("", broken))
    )


def test_media_lines() -> None:
    text, refs = split_media_lines(
        "Here you go.\nMEDIA: /srv/agent-out/chart.png\n  MEDIA:https://cdn.example.test/a.jpg\nBye"
    )
    assert text == "Here you go.\n\nBye" or text == "Here you go.\nBye"
    assert refs == (MediaRef("/srv/agent-out/chart.png"), MediaRef("https://cdn.example.test/a.jpg"))
    assert split_media_lines("no media: here") == ("no media: here", ())


async def test_openai_reply_media_lines_become_attachments() -> None:
    async with ChatServer() as server:
        server.replies = [Reply(body=completion("Chart attached.\nMEDIA:https://cdn.example.test/c.png"))]
        agent = OpenAICompatibleAgent(base_url=server.base_url, model="m")
        reply = await agent.respond(turn("chart please"))
        await agent.aclose()
    assert reply == AgentReply(
        text="Chart attached.", attachments=(MediaRef("https://cdn.example.test/c.png"),)
    )


PROGRAM = textwrap.dedent(
    """
    import json, os, stat, sys
    turn = json.loads(sys.stdin.readline())
    out = []
    for att in turn["attachments"]:
        path = att["path"]
        folder = os.path.dirname(path)
        with open(path, "rb") as fh:
            data = fh.read()
        mode = stat.S_IMODE(os.stat(folder).st_mode)
        # answer with a new file written next to it, and report what we saw
        reply_path = os.path.join(folder, "reply.bin")
        with open(reply_path, "wb") as fh:
            fh.write(data[::-1])
        out.append({"path": reply_path, "filename": "reversed.bin", "mimeType": "application/octet-stream"})
        print(json.dumps({"folder": folder, "mode": mode, "name": os.path.basename(path), "size": len(data)}), file=sys.stderr)
    print(json.dumps({"text": "done", "attachments": out + [{"url": "https://cdn.example.test/x.png"}]}))
    """
)


async def test_command_backend_gets_private_paths_removed_after_the_turn(tmp_path: Path) -> None:
    program = tmp_path / "agent.py"
    program.write_text(PROGRAM)
    work = tmp_path / "state" / "media"
    agent = CommandAgent([sys.executable, str(program)], work_dir=work)
    evil = MediaFile(filename="../../escape.png", mime_type="image/png", content=PNG)
    reply = await agent.respond(turn("hi", evil))
    assert reply.text == "done"
    first, ref = reply.attachments
    assert isinstance(first, MediaFile) and first.content == PNG[::-1] and first.filename == "reversed.bin"
    assert ref == MediaRef("https://cdn.example.test/x.png")
    assert list(work.iterdir()) == []  # the turn's folder is gone
    assert (work.stat().st_mode & 0o777) == 0o700
    assert not (tmp_path / "escape.png").exists()


def test_command_output_attachment_errors(tmp_path: Path) -> None:
    with pytest.raises(AgentResponseError, match="must be a list"):
        parse_command_output(json.dumps({"attachments": "x"}))
    with pytest.raises(AgentResponseError, match="cannot read"):
        parse_command_output(json.dumps({"attachments": [{"path": str(tmp_path / "missing")}]}))
    big = tmp_path / "big.bin"
    big.write_bytes(b"0" * 100)
    with pytest.raises(AgentResponseError, match="above the limit"):
        parse_command_output(json.dumps({"attachments": [{"path": str(big)}]}), max_bytes=10)


async def test_echo_sends_the_same_bytes_back() -> None:
    agent = EchoAgent()
    broken = MediaFile(filename="b.jpg", mime_type="image/jpeg", note="could not be opened")
    reply = await agent.respond(turn("", PICTURE, broken))
    assert reply == AgentReply(text=None, attachments=(PICTURE,))
    assert (await agent.respond(turn("caption", PICTURE))).text == "caption"
