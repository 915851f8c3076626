"""Invite tags: 10 characters of ``[A-Za-z0-9]``, stored in appData and copied into every invite."""

from __future__ import annotations

import hmac
import re
import secrets
import string

TAG_LENGTH = 10
TAG_ALPHABET = string.ascii_letters + string.digits
_TAG = re.compile(r"[A-Za-z0-9]{10}")


def new_invite_tag() -> str:
    """A fresh random tag (unbiased, from :mod:`secrets`)."""
    return "".join(secrets.choice(TAG_ALPHABET) for _ in range(TAG_LENGTH))


def is_valid_invite_tag(tag: str) -> bool:
    """Whether ``tag`` matches ``^[A-Za-z0-9]{10}$``."""
    return _TAG.fullmatch(tag) is not None


def same_tag(a: str, b: str) -> bool:
    """Constant-time tag comparison."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
