"""The edge: presence and control types become no chat for the agent, quietly; explode and time zones are read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from openclaw_convos.convos import content as cc
from openclaw_convos.convos import profiles as cp
from openclaw_convos.convos.encoded import ContentTypeId, encode_envelope, peek_type
from openclaw_convos.gateway import wire
from openclaw_convos.gateway.events import EventKind
from openclaw_convos.xmtp import MessageKind, XmtpMessage
from openclaw_convos.xmtp import content as xc

ALICE = "a" * 64


def message(content: bytes) -> XmtpMessage:
    return XmtpMessage("m1", "c" * 32, ALICE, 1, MessageKind.APPLICATION, peek_type(content), content)


QUIET = {
    "typing": cc.encode_typing_indicator(cc.TypingIndicator(True)),
    "thinking": cc.encode_thinking(cc.Thinking(cc.ThinkingState.START, "ab" * 32, "Thinking…")),
    "join handled": cc.encode_invite_join_handled(
        cc.InviteJoinHandled("AbCdEfGh12", "ab" * 32, datetime.now(UTC))
    ),
    "capability request": encode_envelope(
        ContentTypeId("convos.org", "capability_request", 1, 0), b"{}", fallback="x"
    ),
    "read receipt": xc.encode_read_receipt(),
}


@pytest.mark.parametrize("name", sorted(QUIET))
def test_control_types_are_ignored_without_a_word(name: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="openclaw_convos"):
        event = wire.normalize(message(QUIET[name]), "id1", is_dm=False)
    assert event is not None and event.kind is EventKind.IGNORED and event.text is None
    assert not caplog.records, [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize(
    "ctype", [ContentTypeId("convos.org", "brand_new", 1, 0), ContentTypeId("example.com", "thing", 1, 0)]
)
def test_unknown_types_are_ignored_with_a_debug_line(
    ctype: ContentTypeId, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="openclaw_convos"):
        event = wire.normalize(
            message(encode_envelope(ctype, b"{}", fallback="shown elsewhere")), "id1", is_dm=False
        )
    assert event is not None and event.kind is EventKind.IGNORED and event.text is None
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "unknown type" in caplog.records[0].getMessage()


def test_explode_settings_and_profile_time_zones_are_read() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    explode = wire.normalize(
        message(cc.encode_explode_settings(cc.ExplodeSettings(when))), "id1", is_dm=False
    )
    assert (
        explode is not None and explode.kind is EventKind.EXPLODE and explode.explode_at == when.timestamp()
    )
    profile = cp.profile_update_content(
        cp.ProfileUpdate(name="Ana", metadata={cp.TIMEZONE_KEY: "Asia/Tokyo"})
    )
    event = wire.normalize(message(profile), "id1", is_dm=False)
    assert (
        event is not None and event.kind is EventKind.PROFILE and event.timezones == ((ALICE, "Asia/Tokyo"),)
    )
    bogus = cp.profile_update_content(
        cp.ProfileUpdate(name="Ana", metadata={cp.TIMEZONE_KEY: "Nowhere/Land"})
    )
    assert wire.normalize(message(bogus), "id1", is_dm=False).timezones == ()  # type: ignore[union-attr]
