"""A loopback XMTP v3 node (grpcio + SQLite) that real libxmtp clients use unchanged.

Usage::

    async with Devnode(port=0, db_path=None, host="127.0.0.1") as node:  # db_path None = in memory
        node.port  # the real port
        node.url   # "http://127.0.0.1:<port>"

``run_devnode`` serves until an ``asyncio.Event`` is set (for the CLI);
``python -m openclaw_convos.devnode --port N --db PATH`` runs one from a shell.
"""

from __future__ import annotations

from .node import DEFAULT_HOST, DEFAULT_PORT, Devnode, run_devnode

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Devnode", "run_devnode"]
