"""Every accepted invite-link form, table-driven, wrapping vector A and a CLI slug with '*'."""

from __future__ import annotations

import pytest

from openclaw_convos.convos.errors import InviteMalformed, InviteTooLarge
from openclaw_convos.convos.invites import parse_invite
from openclaw_convos.convos.links import extract_invite_code

from .helpers import VECTOR_A_SLUG, vector

S = VECTOR_A_SLUG
CLI_SLUG = vector("invite-01-create-name-description")["slug"]  # has a '*' after 300 characters

FORMS: list[tuple[str, str | None]] = [
    (S, None),
    (f"  {S}\n", None),
    (f"<{S}>", None),
    (f"https://popup.convos.org/v2?i={S}", "production"),
    (f"http://popup.convos.org/v2?i={S}", "production"),
    (f"HTTPS://POPUP.CONVOS.ORG/v2?i={S}", "production"),
    (f"https://dev.convos.org/v2?i={S}", "dev"),
    (f"https://app.convos.org/v2?i={S}", "production"),
    (f"https://popup.convos.org/v2?x=1&i={S}&utm=2", "production"),
    (f"https://popup.convos.org/v2/?i={S}#fragment", "production"),
    (f"convos://join/{S}", "production"),
    (f"convos-dev://join/{S}", "dev"),
    (f"convos://invite/{S}", "production"),
    (f"convos-dev://invite/{S}", "dev"),
    (f"convos-local://invite/{S}", "local"),
    (f"convos://app/invite/{S}", "production"),
    (f"https://convos.org/i/{S}", "production"),
    (f"https://example.org/some/i/{S}", None),
    (f"https://convos.org/invite?code={S}", "production"),
    (f"https://convos.app/join/{S}", "production"),
    (f" <https://popup.convos.org/v2?i={S}> ", "production"),
]


@pytest.mark.parametrize(("text", "env"), FORMS)
def test_vector_a_in_every_form(text: str, env: str | None) -> None:
    link = extract_invite_code(text)
    assert link.code == S
    assert link.env_hint == env
    assert parse_invite(text).payload.tag == "AbCdEf1234"


@pytest.mark.parametrize(
    "text",
    [
        CLI_SLUG,
        CLI_SLUG.replace("*", ""),
        f"https://dev.convos.org/v2?i={CLI_SLUG}",
        f"https://dev.convos.org/v2?i={CLI_SLUG.replace('*', '%2A')}",
        f"convos://join/{CLI_SLUG}",
        CLI_SLUG[:100] + "\n" + CLI_SLUG[100:],
    ],
)
def test_separators_and_percent_encoding(text: str) -> None:
    assert parse_invite(text).payload.tag == "0tUO5RKp20"


def test_standard_base64_and_padding_tolerated() -> None:
    standard = S.replace("-", "+").replace("_", "/")
    assert parse_invite(standard).payload.name == "Test"
    assert parse_invite(S + "=").payload.name == "Test"
    # '+' in a query value stays '+', it is not turned into a space.
    assert parse_invite(f"https://popup.convos.org/v2?i={standard}").payload.name == "Test"


def test_slug_as_given_is_kept_for_join_requests() -> None:
    assert parse_invite(f"https://dev.convos.org/v2?i={CLI_SLUG}").slug == CLI_SLUG


@pytest.mark.parametrize(
    "text",
    [
        "https://popup.convos.org/",
        "https://popup.convos.org/v2?i=",
        "https://popup.convos.org/v2",
        "https://convos.org/i/",
        "https://example.com/page?x=1",
        "convos://join/",
        "https://[bad/v2?i=abc",
        "<>",
    ],
)
def test_links_without_an_invite(text: str) -> None:
    with pytest.raises(InviteMalformed):
        extract_invite_code(text)


def test_too_long() -> None:
    with pytest.raises(InviteTooLarge):
        extract_invite_code("https://popup.convos.org/v2?i=" + "A" * 70000)


def test_not_text() -> None:
    with pytest.raises(InviteMalformed):
        extract_invite_code(b"bytes")  # type: ignore[arg-type]
