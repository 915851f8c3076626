"""The security tests use the fault tests' restartable devnode and state folder."""

from __future__ import annotations

from tests.reliability.conftest import node, place

__all__ = ["node", "place"]
