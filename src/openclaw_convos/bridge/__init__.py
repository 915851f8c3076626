"""The engine side of the OpenClaw Convos plugin: a JSON-lines protocol over stdio.

OpenClaw's plugin (``extensions/convos``) runs ``openclaw-convos bridge`` as a child process. The
engine keeps identities, joins, invites, streams, exactly-once delivery and the wire formats;
OpenClaw keeps the agent, sessions, DM policy and pairing. ``docs/bridge-protocol.md`` is the
protocol's reference; :mod:`.protocol` is its pure codec, :mod:`.engine` the running side.
"""

from __future__ import annotations

from .protocol import PROTOCOL_VERSION, BridgeProtocolError

__all__ = ["PROTOCOL_VERSION", "BridgeProtocolError"]
