"""Errors of the media layer, all below :class:`~openclaw_convos.errors.MediaError`."""

from __future__ import annotations

from ..errors import MediaError

__all__ = ["DownloadFailed", "DownloadRefused", "MediaError", "UploadFailed"]


class UploadFailed(MediaError):
    """The upload provider refused or did not answer; the attachment was not sent."""


class DownloadRefused(MediaError):
    """A download was refused by policy before or while fetching (size, URL, address, redirect)."""


class DownloadFailed(MediaError):
    """The download was allowed but failed (HTTP error, timeout, connection)."""
