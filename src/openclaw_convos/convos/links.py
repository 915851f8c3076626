"""Invite links: finding the slug in what a user pasted, and building the link for a slug.

Accepted (after trimming whitespace and surrounding ``<>``), following the iOS app's rules plus the
reference's recommendations:

- ``convos://join/<code>`` (scheme ``convos`` or ``convos-*``, host ``join``; legacy);
- ``convos://invite/<code>``, ``convos-dev://invite/<code>`` (host or first path component ``invite``);
- ``http(s)://<any host>/v2?i=<code>``;
- ``http(s)://<any host>/.../i/<code>`` (e.g. ``https://convos.org/i/<code>``);
- ``http(s)://<any host>/...?code=<code>`` (e.g. ``https://convos.org/invite?code=<code>``);
- ``https://convos.app/join/<code>`` (the first OpenClaw plugin's form);
- anything without ``://``: a raw slug.

Query values and path components are percent-decoded (``+`` stays ``+``); whitespace inside the
code is dropped. A URL that matches none of the forms is refused rather than read as a slug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from .errors import InviteArgumentError, InviteMalformed, InviteTooLarge

Env = Literal["production", "dev", "local"]

MAX_INVITE_TEXT = 64 * 1024
"""Longest text we try to read as an invite (characters)."""

INVITE_HOSTS: dict[str, str] = {
    "production": "popup.convos.org",
    "dev": "dev.convos.org",
    "local": "dev.convos.org",
}

_HOST_ENV: dict[str, Env] = {
    "popup.convos.org": "production",
    "app.convos.org": "production",
    "convos.org": "production",
    "www.convos.org": "production",
    "convos.app": "production",
    "dev.convos.org": "dev",
}
_SCHEME_ENV: dict[str, Env] = {
    "convos": "production",
    "convos-dev": "dev",
    "convos-pr": "dev",
    "convos-local": "local",
}
_SLUG_CHARS = re.compile(r"[A-Za-z0-9_*-]+")


@dataclass(frozen=True, slots=True)
class InviteLink:
    """The invite code found in a text, and what the link says about its network."""

    code: str
    host: str | None = None
    env_hint: Env | None = None


def _query_values(query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        values.setdefault(unquote(key), unquote(value))
    return values


def _code_from_url(text: str) -> InviteLink:
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise InviteMalformed("the link is not a valid URL") from exc
    scheme = parts.scheme.lower()
    components = [unquote(c) for c in parts.path.split("/") if c]
    query = _query_values(parts.query) if parts.query else {}
    env_hint = _SCHEME_ENV.get(scheme) or _HOST_ENV.get(host)
    if scheme.startswith("convos-") and env_hint is None:
        env_hint = "dev"
    code: str | None = None
    if scheme == "convos" or scheme.startswith("convos-"):
        if host == "join" and components:
            code = components[0]
        elif (host == "invite" and components) or (len(components) > 1 and components[0] == "invite"):
            code = components[-1]
    if code is None and "/v2" in parts.path and query.get("i"):
        code = query["i"]
    if code is None and "i" in components:
        index = components.index("i")
        if index + 1 < len(components):
            code = components[index + 1]
    if code is None and query.get("code"):
        code = query["code"]
    if code is None and host == "convos.app" and len(components) > 1 and components[0] == "join":
        code = components[1]
    if code is None:
        raise InviteMalformed("the link does not contain an invite code")
    return InviteLink(code, host or None, env_hint)


def extract_invite_code(text: str) -> InviteLink:
    """Find the invite code in a pasted link or slug."""
    if not isinstance(text, str):
        raise InviteMalformed("not text")
    if len(text) > MAX_INVITE_TEXT:
        raise InviteTooLarge(f"{len(text)} characters, more than {MAX_INVITE_TEXT}")
    stripped = text.strip()
    if stripped.startswith("<") and stripped.endswith(">"):
        stripped = stripped[1:-1].strip()
    if not stripped:
        raise InviteMalformed("the text is empty")
    link = _code_from_url(stripped) if "://" in stripped else InviteLink(stripped)
    code = "".join(link.code.split())
    if not code:
        raise InviteMalformed("the invite code is empty")
    return InviteLink(code, link.host, link.env_hint)


def invite_url(slug: str, env: Env = "production") -> str:
    """``https://popup.convos.org/v2?i=<slug>`` (production) or ``https://dev.convos.org/v2?i=<slug>``."""
    host = INVITE_HOSTS.get(env)
    if host is None:
        raise InviteArgumentError(f"unknown environment {env!r} (use production, dev or local)")
    if not isinstance(slug, str) or _SLUG_CHARS.fullmatch(slug) is None:
        raise InviteArgumentError("a slug is made of base64url characters and '*'")
    # base64url characters and '*' are unreserved, so the slug needs no percent-encoding.
    return f"https://{host}/v2?i={slug}"
