"""Which text is an attachment's caption (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from openclaw_convos.gateway.events import EventKind, Inbound
from openclaw_convos.gateway.media import CAPTION_GAP_NS, merge_caption
from openclaw_convos.xmtp import content as xc

ATTACHMENT = Inbound(
    identity_id="i",
    message_id="m-att",
    conversation_id="c",
    is_dm=False,
    sender_inbox_id="alice",
    sent_at_ns=1_000,
    content_type="xmtp.org/remoteStaticAttachment:1.0",
    kind=EventKind.ATTACHMENT,
    attachment=xc.Attachment("cat.png", None, 10, "https://x.test/1"),
)
CAPTION = dataclasses.replace(
    ATTACHMENT, message_id="m-txt", sent_at_ns=2_000, kind=EventKind.TEXT, text="my cat", attachment=None
)


def test_the_next_text_of_the_same_sender_is_the_caption() -> None:
    merged = merge_caption(ATTACHMENT, CAPTION)
    assert merged is not None
    assert (merged.message_id, merged.kind, merged.text) == ("m-att", EventKind.ATTACHMENT, "my cat")
    assert merged.captions == (("m-txt", 2_000),)


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(CAPTION, sender_inbox_id="bob"),
        dataclasses.replace(CAPTION, conversation_id="d"),
        dataclasses.replace(CAPTION, reply_to_id="m-0"),
        dataclasses.replace(CAPTION, kind=EventKind.REACTION, text=None, reaction="x"),
        dataclasses.replace(CAPTION, text="  "),
        dataclasses.replace(CAPTION, sent_at_ns=ATTACHMENT.sent_at_ns + CAPTION_GAP_NS + 1),
        dataclasses.replace(CAPTION, sent_at_ns=ATTACHMENT.sent_at_ns - 1),
        dataclasses.replace(ATTACHMENT, message_id="m-att2"),
    ],
)
def test_anything_else_is_not(other: Inbound) -> None:
    assert merge_caption(ATTACHMENT, other) is None


def test_an_attachment_takes_one_caption() -> None:
    merged = merge_caption(ATTACHMENT, CAPTION)
    assert merged is not None
    assert merge_caption(merged, dataclasses.replace(CAPTION, message_id="m-txt2")) is None


def test_the_event_repr_carries_no_keys() -> None:
    from openclaw_convos.xmtp import attachments as xa

    enc = xa.encrypt_attachment(xa.InlineAttachment("a.png", "image/png", b"secret-bytes"))
    ref = enc.at("https://x.test/a")
    event = dataclasses.replace(ATTACHMENT, attachment=xc.Attachment("a.png", None, 1, ref.url, (ref,)))
    text = repr(event)
    assert ref.secret.hex() not in text and str(ref.secret) not in text and "secret-bytes" not in text
