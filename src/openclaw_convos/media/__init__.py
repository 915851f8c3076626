"""Media: attachments in and out (upload providers, safe downloads, files for the agents).

Only the binding-free parts are imported here (config, errors, records), so reading the config
does not load libxmtp; import :mod:`.service`, :mod:`.fetch`, :mod:`.upload` where needed.
"""

from .config import MediaConfig, UploadSettings, parse_media_config, resolve_upload_settings
from .errors import DownloadFailed, DownloadRefused, MediaError, UploadFailed
from .types import MediaFile, MediaRef

__all__ = [
    "DownloadFailed",
    "DownloadRefused",
    "MediaConfig",
    "MediaError",
    "MediaFile",
    "MediaRef",
    "UploadFailed",
    "UploadSettings",
    "parse_media_config",
    "resolve_upload_settings",
]
