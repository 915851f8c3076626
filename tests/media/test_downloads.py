"""Inbound attachments: safe downloads and the media service, against real loopback servers.

Every refusal is named in the file's note and the log, nothing raises to the caller, and the
refused URLs to private addresses are never connected to (refused before any request).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from openclaw_convos.media import (
    DownloadFailed,
    DownloadRefused,
    MediaConfig,
    MediaFile,
)
from openclaw_convos.media.fetch import SafeDownloader, address_allowed
from openclaw_convos.media.files import private_folder, sanitize_filename, write_private
from openclaw_convos.media.localstore import LocalObjectStore
from openclaw_convos.media.service import MediaService
from openclaw_convos.xmtp import attachments as a
from openclaw_convos.xmtp import content as c

from ..agents.chat_server import ChatServer, Reply


def service(env: dict[str, str], *, local: bool = True, max_bytes: int = 25 * 1024 * 1024) -> MediaService:
    return MediaService.from_config(
        MediaConfig(max_bytes=max_bytes, download_timeout_seconds=5),
        environ=env,
        env="local" if local else "dev",
    )


async def send_and_decode(media: MediaService, file: MediaFile) -> c.Attachment:
    decoded = c.decode_standard(await media.encode_outbound(file))
    assert isinstance(decoded, c.Attachment)
    return decoded


async def test_round_trip_through_the_object_store(object_store: LocalObjectStore) -> None:
    media = service(object_store.environ())
    try:
        picture = MediaFile(
            filename="cat.png", mime_type="image/png", content=b"\x89PNG" + bytes(range(256)) * 4000
        )
        message = await send_and_decode(media, picture)
        (stored,) = object_store.objects()
        assert picture.content not in stored.read_bytes()  # stored encrypted
        (got,) = await media.receive(message)
        assert got.note is None and got.content == picture.content
        assert (got.filename, got.mime_type) == ("cat.png", "image/png")
    finally:
        await media.aclose()


async def test_wrong_digest_and_corrupt_ciphertext_become_notes(
    object_store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    media = service(object_store.environ())
    try:
        message = await send_and_decode(
            media, MediaFile(filename="a.txt", mime_type="text/plain", content=b"A" * 500)
        )
        (stored,) = object_store.objects()
        data = bytearray(stored.read_bytes())
        data[5] ^= 1
        stored.write_bytes(bytes(data))  # changed in storage: the digest no longer matches
        with caplog.at_level(logging.WARNING):
            (got,) = await media.receive(message)
        assert got.content == b"" and got.note is not None and "digest mismatch" in got.note
        assert "digest mismatch" in caplog.text and "AAAA" not in caplog.text

        (ref,) = message.items
        assert isinstance(ref, a.RemoteAttachment)
        forged = c.Attachment(
            None,
            None,
            None,
            ref.url,
            (
                a.RemoteAttachment(
                    ref.url, hashlib.sha256(bytes(data)).hexdigest(), ref.secret, ref.salt, ref.nonce
                ),
            ),
        )
        (got2,) = await media.receive(forged)  # digest fits the corrupt bytes: decryption must fail
        assert got2.note is not None and "did not decrypt" in got2.note
    finally:
        await media.aclose()


async def test_oversized_is_refused_before_downloading(object_store: LocalObjectStore) -> None:
    big = MediaService.from_config(MediaConfig(), environ=object_store.environ(), env="local")
    small = service(object_store.environ(), max_bytes=1000)
    try:
        message = await send_and_decode(
            big, MediaFile(filename="big.bin", mime_type="application/octet-stream", content=b"x" * 5000)
        )
        (got,) = await small.receive(message)
        assert got.note is not None and "above the limit" in got.note and got.content == b""
        # a lying contentLength does not help: the server's length and the stream are capped too
        (ref,) = message.items
        assert isinstance(ref, a.RemoteAttachment)
        lying = c.Attachment(
            None,
            None,
            None,
            ref.url,
            (
                a.RemoteAttachment(
                    ref.url, ref.content_digest, ref.secret, ref.salt, ref.nonce, content_length=10
                ),
            ),
        )
        (got2,) = await small.receive(lying)
        assert got2.note is not None and "limit" in got2.note
    finally:
        await big.aclose()
        await small.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/a",
        "https://192.168.1.1/a",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/a",
        "https://[::ffff:10.0.0.1]/a",
        "https://100.64.0.1/a",
        "http://127.0.0.1:9/a",
        "https://localhost/a",
    ],
)
async def test_private_addresses_are_refused_without_a_request(url: str) -> None:
    dl = SafeDownloader(max_bytes=1000, timeout=2, allow_loopback=False)
    try:
        with pytest.raises(DownloadRefused, match="not a public address"):
            await dl.fetch(url)
    finally:
        await dl.aclose()


async def test_host_names_are_resolved_and_checked() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"] if host == "mixed.example.test" else ["10.9.9.9"]

    dl = SafeDownloader(max_bytes=1000, timeout=2, resolver=resolver)
    try:
        for host in ("mixed.example.test", "internal.example.test"):
            with pytest.raises(DownloadRefused, match="not a public address"):
                await dl.fetch(f"https://{host}/x")
    finally:
        await dl.aclose()


async def test_plain_http_is_refused_unless_local_loopback() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    dl = SafeDownloader(max_bytes=1000, timeout=2, allow_loopback=True, resolver=resolver)
    try:
        with pytest.raises(DownloadRefused, match="only https"):
            await dl.fetch("http://public.example.test/x")
        with pytest.raises(DownloadRefused, match="not https"):
            await dl.fetch("ftp://public.example.test/x")
        with pytest.raises(DownloadRefused, match="credentials"):
            await dl.fetch("https://u:p@public.example.test/x")
    finally:
        await dl.aclose()


async def test_redirects_to_another_host_are_refused() -> None:
    async with ChatServer() as server:
        dl = SafeDownloader(max_bytes=1000, timeout=5, allow_loopback=True)
        try:
            server.replies = [
                Reply(status=302, headers={"Location": f"http://localhost:{server.port}/other"})
            ]
            with pytest.raises(DownloadRefused, match="redirected to another host"):
                await dl.fetch(f"http://127.0.0.1:{server.port}/a")
            assert len(server.requests) == 1
            # same host: followed
            server.replies = [Reply(status=301, headers={"Location": "/b"}), Reply(body="ok-bytes")]
            assert await dl.fetch(f"http://127.0.0.1:{server.port}/a") == b"ok-bytes"
            assert [r.path for r in server.requests[1:]] == ["/a", "/b"]
            server.replies = [Reply(status=404, body="no")]
            with pytest.raises(DownloadFailed, match="HTTP 404"):
                await dl.fetch(f"http://127.0.0.1:{server.port}/a")
            server.replies = [Reply(body="y" * 2000)]
            with pytest.raises(DownloadRefused, match="above the limit"):
                await dl.fetch(f"http://127.0.0.1:{server.port}/a")
            server.replies = [Reply(body="late", delay=3)]
            slow = SafeDownloader(max_bytes=1000, timeout=0.5, allow_loopback=True)
            with pytest.raises(DownloadFailed, match="did not finish"):
                await slow.fetch(f"http://127.0.0.1:{server.port}/a")
            await slow.aclose()
        finally:
            await dl.aclose()


def test_address_rules() -> None:
    assert address_allowed("93.184.216.34", allow_loopback=False)
    assert address_allowed("2606:4700::1111", allow_loopback=False)
    assert not address_allowed("127.0.0.1", allow_loopback=False)
    assert address_allowed("127.0.0.1", allow_loopback=True)
    assert not address_allowed("224.0.0.1", allow_loopback=True)
    assert not address_allowed("0.0.0.0", allow_loopback=True)
    assert not address_allowed("fe80::1", allow_loopback=True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\x.dll", "x.dll"),
        ("..", "attachment"),
        (".hidden", "hidden"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("/abs/path/photo.jpg", "photo.jpg"),
        ("", "attachment"),
        (None, "attachment"),
        ("ok name (1).pdf", "ok name (1).pdf"),
        ("x" * 300 + ".png", "x" * 96 + ".png"),
    ],
)
def test_sanitize_filename(name: str | None, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_private_folder_is_0700_inside_its_parent_and_removed(tmp_path: Path) -> None:
    parent = tmp_path / "state" / "media"
    with private_folder(parent) as folder:
        path = write_private(folder, "../../../escape.txt", b"data")
        assert path.parent == folder and path.name == "escape.txt"
        assert (folder.stat().st_mode & 0o777) == 0o700 and (path.stat().st_mode & 0o777) == 0o600
    assert not folder.exists()
    assert [p.name for p in tmp_path.rglob("*escape*")] == []


async def test_path_traversal_names_from_a_peer_are_sanitised(object_store: LocalObjectStore) -> None:
    media = service(object_store.environ())
    try:
        enc = a.encrypt_attachment(a.InlineAttachment("../../.ssh/authorized_keys", "text/plain", b"hi"))
        assert media.uploader is not None
        ref = enc.at(await media.uploader.upload(enc.payload))
        evil = c.decode_standard(a.encode_remote_attachment(ref))
        assert isinstance(evil, c.Attachment)
        (got,) = await media.receive(evil)
        assert got.filename == "authorized_keys" and got.content == b"hi"
        inline = c.decode_standard(
            a.encode_inline_attachment(a.InlineAttachment("../../../x.sh", "text/x-sh", b"#!"))
        )
        assert isinstance(inline, c.Attachment)
        (got2,) = await media.receive(inline)
        assert got2.filename == "x.sh"
    finally:
        await media.aclose()


async def test_outbound_without_a_provider_is_a_clear_error() -> None:
    media = service({})
    try:
        with pytest.raises(Exception, match="no upload provider"):
            await media.encode_outbound(MediaFile(filename="a", mime_type="text/plain", content=b"x"))
    finally:
        await media.aclose()


async def test_agent_named_files_only_from_media_dirs_or_safe_urls(tmp_path: Path) -> None:
    from openclaw_convos.media import MediaRef

    allowed = tmp_path / "out"
    allowed.mkdir()
    (allowed / "chart.png").write_bytes(b"\x89PNG chart")
    secret = tmp_path / "credentials.json"
    secret.write_text("{}")
    (allowed / "link.json").symlink_to(secret)  # a link out of the folder does not count as inside
    media = service({})
    try:
        got = await media.resolve(MediaRef(str(allowed / "chart.png")), roots=(allowed,))
        assert (got.filename, got.mime_type, got.content) == ("chart.png", "image/png", b"\x89PNG chart")
        for path in (secret, allowed / "link.json", allowed / ".." / "credentials.json", Path("/etc/passwd")):
            with pytest.raises(DownloadRefused, match="outside the folders"):
                await media.resolve(MediaRef(str(path)), roots=(allowed,))
        with pytest.raises(DownloadRefused, match="outside the folders"):
            await media.resolve(MediaRef(str(allowed / "chart.png")), roots=())
        with pytest.raises(DownloadRefused, match="does not exist"):
            await media.resolve(MediaRef(str(allowed / "missing.png")), roots=(allowed,))
        with pytest.raises(DownloadRefused, match="not a public address"):
            await media.resolve(MediaRef("https://169.254.169.254/latest/meta-data"), roots=(allowed,))
        async with ChatServer() as server:
            server.replies = [Reply(body="remote bytes")]
            fetched = await media.resolve(
                MediaRef(f"http://127.0.0.1:{server.port}/files/r.txt?x=1"), roots=()
            )
        assert (fetched.filename, fetched.content) == ("r.txt", b"remote bytes")
    finally:
        await media.aclose()
