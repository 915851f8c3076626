"""A corrupt identity file or database: a clear error naming the conversation; the others keep running."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.errors import StateError
from openclaw_convos.gateway.service import (
    create_owned_conversation,
    identity_store,
    open_gateway,
)
from openclaw_convos.gateway.state import GatewayState

from .harness import Place, setup_owner


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _bad_wallet_key(path: Path) -> None:
    data = json.loads(path.read_text())
    data["walletKey"] = "0xnot-hex"
    path.write_text(json.dumps(data))


def _garble_database(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.seek(0)
        handle.write(os.urandom(4096))


def _wrong_db_key(path: Path) -> None:
    data = json.loads(path.read_text())
    data["dbEncryptionKey"] = os.urandom(32).hex()
    path.write_text(json.dumps(data))


CORRUPTIONS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "identity file truncated": ("identity", _truncate),
    "identity key not hex": ("identity", _bad_wallet_key),
    "database garbled": ("database", _garble_database),
    "database key replaced": ("identity", _wrong_db_key),
}


async def test_corrupt_conversations_do_not_stop_the_others(place: Place) -> None:
    """Four rooms, each broken differently; the owner conversation and a fifth room keep working."""
    alice, owner_room = await setup_owner(place)
    place.write_config(dmPolicy="open", allowFrom=["*"])
    broken = {name: await create_owned_conversation(place.load(), name=name) for name in CORRUPTIONS}
    healthy = await create_owned_conversation(place.load(), name="Healthy room")
    bob = await place.user("Bob")
    async with open_gateway(place.load(), EchoAgent()) as gateway:  # records which room each identity serves
        assert not (await gateway.status())["problems"]
        joined = await bob.join(healthy.url)
        assert joined.conversation_id == healthy.conversation_id
    store = identity_store(place.load())
    keys = [k.hex() for s in store.load_all()[0] for k in (s.wallet_key, s.db_key)]
    for name, created in broken.items():
        target, corrupt = CORRUPTIONS[name]
        item = created.identity.id
        corrupt(store._file(item) if target == "identity" else store.db_path(item))

    async with open_gateway(place.load(), EchoAgent()) as gateway:
        problems = (await gateway.status())["problems"]
        assert sorted(problems) == sorted(c.identity.id for c in broken.values()), problems
        print()
        for name, created in broken.items():
            problem = problems[created.identity.id]
            print(f"{name}: {problem}")
            assert created.conversation_id in problem, f"the error does not name the conversation: {problem}"
            assert created.identity.id not in gateway.hosts
        assert not any(key in text for key in keys for text in problems.values()), "key material in an error"
        assert len(gateway.hosts) == 2
        await bob.say(healthy.conversation_id, "still there?")
        await bob.wait_for(lambda s: s.text == "still there?" and s.sender_inbox_id != bob.inbox_id)
        await alice.say(owner_room, "and me?")
        await alice.wait_for(lambda s: s.text == "and me?" and s.sender_inbox_id != alice.inbox_id)


async def test_corrupt_gateway_database_is_a_clear_error(place: Place) -> None:
    store_path = place.load().paths.store_path
    GatewayState.open(store_path).close()
    assert store_path.exists()
    store_path.write_bytes(b"this is not a database" * 300)
    before = sorted(p.name for p in store_path.parent.iterdir())
    with pytest.raises(StateError) as info:
        open_gateway(place.load(), EchoAgent())
    message = str(info.value)
    print(f"\ncorrupt gateway.sqlite3: {message}")
    assert str(store_path) in message and "gateway state" in message
    assert sorted(p.name for p in store_path.parent.iterdir()) == before
