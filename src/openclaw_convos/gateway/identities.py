"""The per-conversation identity store.

Every conversation the gateway joins or creates has its own XMTP inbox: its own wallet key,
32-byte database key and libxmtp database. Each identity is one JSON file (0600, in a 0700
folder, written atomically) under ``<state>/convos/identities/``; its database sits next to it.
Identities are reopened, never recreated: losing a database costs one of the inbox's 10
installations for good.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import StateError
from ..fsutil import ensure_private_dir, write_private_file
from ..xmtp import Identity, IdentityKeys


@dataclass(frozen=True, slots=True)
class StoredIdentity:
    """One identity file. ``conversation_id`` is None until the join is complete."""

    id: str
    wallet_key: bytes = field(repr=False)
    db_key: bytes = field(repr=False)
    inbox_id: str | None = None
    conversation_id: str | None = None
    role: str = "member"  # "owner" (the owner conversation) | "member" | "creator"
    invite_slug: str | None = field(default=None, repr=False)  # pending join: the invite used
    created_at: float = 0.0
    label: str | None = None

    def keys(self) -> IdentityKeys:
        return IdentityKeys(self.wallet_key, self.db_key)

    def __repr__(self) -> str:
        return (
            f"StoredIdentity(id={self.id!r}, inbox_id={self.inbox_id!r}, "
            f"conversation_id={self.conversation_id!r}, role={self.role!r}, keys=<redacted>)"
        )


class IdentityStore:
    """Identity files under one folder; file names are the identity ids."""

    def __init__(self, folder: Path, db_dir: Path | None = None) -> None:
        self.folder = folder
        self.db_dir = db_dir if db_dir is not None else folder

    def _file(self, identity_id: str) -> Path:
        if not identity_id or not all(ch.isalnum() or ch in "-_" for ch in identity_id):
            raise StateError(f"invalid identity id {identity_id!r}")
        return self.folder / f"{identity_id}.json"

    def db_path(self, identity_id: str) -> Path:
        return self.db_dir / identity_id / "xmtp.db3"

    def xmtp_identity(self, stored: StoredIdentity) -> Identity:
        return Identity(stored.keys(), self.db_path(stored.id), stored.inbox_id)

    def create(
        self, *, role: str = "member", wallet_key: bytes | None = None, label: str | None = None
    ) -> StoredIdentity:
        """A new identity with fresh keys (or the given wallet key), saved before any use."""
        ensure_private_dir(self.folder)
        stored = StoredIdentity(
            id=f"{time.strftime('%Y%m%d')}-{secrets.token_hex(6)}",
            wallet_key=wallet_key if wallet_key is not None else os.urandom(32),
            db_key=os.urandom(32),
            role=role,
            created_at=time.time(),
            label=label,
        )
        self.save(stored)
        return stored

    def save(self, stored: StoredIdentity) -> None:
        data: dict[str, Any] = {
            "version": 1,
            "id": stored.id,
            "walletKey": "0x" + stored.wallet_key.hex(),
            "dbEncryptionKey": stored.db_key.hex(),
            "inboxId": stored.inbox_id,
            "conversationId": stored.conversation_id,
            "role": stored.role,
            "inviteSlug": stored.invite_slug,
            "createdAt": stored.created_at,
            "label": stored.label,
        }
        write_private_file(self._file(stored.id), (json.dumps(data, indent=2) + "\n").encode())

    def discard(self, identity_id: str) -> None:
        """Delete an identity that never got into a conversation: its key file and its database.

        Only for a set-up that failed before a conversation or a join request existed; an
        identity that is in a conversation is never deleted.
        """
        with contextlib.suppress(FileNotFoundError):
            self._file(identity_id).unlink()
        shutil.rmtree(self.db_path(identity_id).parent, ignore_errors=True)

    def update(self, stored: StoredIdentity, **changes: Any) -> StoredIdentity:
        new = replace(stored, **changes)
        self.save(new)
        return new

    def load(self, identity_id: str) -> StoredIdentity:
        path = self._file(identity_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            wallet = bytes.fromhex(str(data["walletKey"]).removeprefix("0x"))
            db_key = bytes.fromhex(str(data["dbEncryptionKey"]))
            if len(wallet) != 32 or len(db_key) != 32:
                raise ValueError("keys must be 32 bytes")
            return StoredIdentity(
                id=str(data["id"]),
                wallet_key=wallet,
                db_key=db_key,
                inbox_id=data.get("inboxId"),
                conversation_id=data.get("conversationId"),
                role=str(data.get("role", "member")),
                invite_slug=data.get("inviteSlug"),
                created_at=float(data.get("createdAt", 0.0)),
                label=data.get("label"),
            )
        except FileNotFoundError:
            raise StateError(f"identity {identity_id} does not exist ({path})") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(f"identity file {path} is unreadable or corrupt: {exc}") from exc

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if not p.name.startswith("."))

    def load_all(self) -> tuple[list[StoredIdentity], dict[str, StateError]]:
        """Every identity that loads, and the error of each one that does not (others keep working)."""
        good: list[StoredIdentity] = []
        bad: dict[str, StateError] = {}
        for identity_id in self.ids():
            try:
                good.append(self.load(identity_id))
            except StateError as exc:
                bad[identity_id] = exc
        return good, bad

    def find_by_conversation(self, conversation_id: str) -> StoredIdentity | None:
        for stored in self.load_all()[0]:
            if stored.conversation_id == conversation_id:
                return stored
        return None
