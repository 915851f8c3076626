"""``send --file``: a file from the command line, encrypted, uploaded to a real S3 store, sent."""

from __future__ import annotations

from openclaw_convos.convos.links import invite_url
from openclaw_convos.media import MediaConfig
from openclaw_convos.media.localstore import LocalObjectStore
from openclaw_convos.media.service import MediaService

from .conftest import Cli


async def test_send_a_file_then_text(cli: Cli) -> None:
    alice = await cli.user("Alice")
    room = await alice.create_conversation("Files")
    joined = await cli(
        "configure", "--non-interactive", *cli.net, "--invite", invite_url(alice.invite(room), "dev")
    )
    assert joined.code == 0, joined.text
    report = cli.root / "report.pdf"
    report.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 100)

    no_provider = await cli.process("send", "owner", "--file", str(report))
    assert no_provider.code != 0 and "no upload provider" in no_provider.err, no_provider.text

    async with LocalObjectStore(cli.root / "objects") as store:
        # the provider from <state>/.env (the CLI tests scrub these variables from the process)
        (cli.state_dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in store.environ().items()))
        sent = await cli.process("send", "owner", "the", "report", "--file", str(report))
        assert sent.code == 0, sent.text
        assert "Sent report.pdf to" in sent.out
        file_msg = await alice.wait_for(
            lambda s: s.kind == "attachment" and s.sender_inbox_id != alice.inbox_id
        )
        text_msg = await alice.wait_for(lambda s: s.text == "the report")
        assert alice.seen.index(file_msg) < alice.seen.index(text_msg)
        assert file_msg.attachment is not None
        media = MediaService.from_config(MediaConfig(), environ={}, env="local")
        try:
            (got,) = await media.receive(file_msg.attachment)
        finally:
            await media.aclose()
        assert (got.filename, got.mime_type, got.content) == (
            "report.pdf",
            "application/pdf",
            report.read_bytes(),
        )
        assert report.read_bytes() not in store.objects()[0].read_bytes()
