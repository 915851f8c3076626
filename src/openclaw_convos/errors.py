"""The package's one exception tree.

Every error we raise derives from :class:`ConvosError`. Messages say what happened and what to
do next; the CLI prints ``str(error)`` as one line and exits non-zero. Parts of the package add
their own subclasses next to their code (for example ``convos.errors`` for invites), always
below one of the branches here.
"""

from __future__ import annotations


class ConvosError(Exception):
    """Base of every error raised by openclaw-convos."""


class ConfigError(ConvosError):
    """The configuration is missing, malformed or inconsistent."""


class StateError(ConvosError):
    """Local state (identity files, databases, stores) cannot be read or written."""


class StorageFull(StateError):
    """The disk holding the state is full: transient, the write succeeds once space returns."""


class ProtocolError(ConvosError):
    """Bytes from a peer do not decode as the Convos or XMTP protocol expects."""


class InviteError(ProtocolError):
    """An invite cannot be used; subclasses say why."""


class TransportError(ConvosError):
    """Talking to the XMTP node failed."""


class NodeUnreachable(TransportError):
    """The XMTP node did not answer (down, wrong URL, no network)."""


class NodeRejected(TransportError):
    """The XMTP node answered with an error."""


class IdentityError(ConvosError):
    """An XMTP identity cannot be created, registered or reopened."""


class TooManyInstallations(IdentityError):
    """The inbox already has the maximum of 10 installations."""


class XmtpUnavailable(ConvosError):
    """libxmtp's bindings cannot be loaded: no wheel for this platform, or a broken install."""


class XmtpError(ConvosError):
    """libxmtp reported an error that has no more specific class."""


class AgentError(ConvosError):
    """The agent backend failed or timed out."""


class MediaError(ConvosError):
    """An attachment cannot be uploaded, downloaded, checked or opened; subclasses say why."""


class DevnodeError(ConvosError):
    """The local XMTP dev node could not start or serve."""
