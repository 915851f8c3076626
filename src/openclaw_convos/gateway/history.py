"""How many earlier messages of a conversation go with a turn (``historyLimit``, ``dmHistoryLimit``).

``historyLimit`` bounds the history of the owner conversation and groups, ``dmHistoryLimit`` that
of XMTP DMs (unset: ``historyLimit``); 0 sends none. In groups the history also holds the
messages that did not mention the agent under ``requireMention`` (OpenClaw's "pending-only"
context), so a later mention comes with what was said before it. Pure: no I/O.
"""

from __future__ import annotations

from .groups import ConversationKind

__all__ = ["DEFAULT_HISTORY_LIMIT", "history_limit_for"]

DEFAULT_HISTORY_LIMIT = 20


def history_limit_for(
    kind: ConversationKind, *, history_limit: int | None, dm_history_limit: int | None
) -> int:
    """The number of earlier messages to send with a turn in a conversation of ``kind``."""
    if kind is ConversationKind.DM and dm_history_limit is not None:
        return dm_history_limit
    return DEFAULT_HISTORY_LIMIT if history_limit is None else history_limit
