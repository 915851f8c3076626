"""Turn libxmtp's errors (``FfiError`` text such as ``[GroupError::X] ...``) into our error tree."""

from __future__ import annotations

import re

from ..errors import (
    ConvosError,
    IdentityError,
    NodeRejected,
    NodeUnreachable,
    StorageFull,
    TooManyInstallations,
    XmtpError,
)

_TAG = re.compile(r"^\s*\[([A-Za-z0-9_:]+)\]")
_UNREACHABLE_MARKERS = (
    "tcp connect error",
    "The service is currently unavailable",
    "Connection refused",
    "connection error",
    "transport error",
    "dns error",
    "error trying to connect",
)


def clean_message(text: str) -> str:
    """The first line of a libxmtp error, without the "Api Stats" table some errors append."""
    text = text.split("Api Stats", 1)[0]
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:500]


def error_tag(text: str) -> str | None:
    """The bracketed code at the start of a libxmtp error, e.g. ``GroupError::MissingSequenceId``."""
    match = _TAG.match(text)
    return match.group(1) if match else None


def map_ffi_error(exc: BaseException, what: str) -> ConvosError:
    """Our typed error for a libxmtp exception raised while doing ``what``."""
    text = str(exc)
    message = clean_message(text)
    if "TooManyInstallations" in text or "too many installations" in text.lower():
        return TooManyInstallations(
            f"{what}: this inbox already has 10 installations, the XMTP maximum. Revoke unused "
            "installations or use a new identity."
        )
    if "SyncFailedToWait" in text:
        return NodeUnreachable(
            f"{what}: the message could not be published (is the XMTP node up?): {message}"
        )
    if any(marker in text for marker in _UNREACHABLE_MARKERS):
        return NodeUnreachable(
            f"{what}: the XMTP node did not answer ({message}). Check the URL and network."
        )
    lowered = text.lower()
    if "database or disk is full" in lowered or "no space left" in lowered or "disk i/o error" in lowered:
        return StorageFull(f"{what}: the disk holding the XMTP database is full ({message})")
    if "unsupported file format" in text:
        return IdentityError(f"{what}: the database key does not open this identity's database")
    tag = error_tag(text) or ""
    if tag.startswith(("ClientBuilderError", "IdentityError", "SignatureRequestError")):
        return IdentityError(f"{what}: {message}")
    if "has error status" in text:
        return NodeRejected(f"{what}: the XMTP node refused the request ({message})")
    return XmtpError(f"{what}: {message}")
