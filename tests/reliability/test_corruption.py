"""A corrupt identity file or database: a clear error naming the conversation; the others keep running."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.errors import StateError
from openclaw_convos.gateway.service import (
    CreatedConversation,
    create_owned_conversation,
    identity_store,
    open_gateway,
)
from openclaw_convos.simuser import SimulatedUser

from .harness import Place, setup_owner


@dataclass
class Rooms:
    alice: SimulatedUser
    owner_room: str
    broken: CreatedConversation
    healthy: CreatedConversation
    bob: SimulatedUser


async def _two_rooms(place: Place) -> Rooms:
    """The owner conversation plus two rooms; Bob is in the healthy one."""
    alice, owner_room = await setup_owner(place)
    place.write_config(dmPolicy="open", allowFrom=["*"])
    broken = await create_owned_conversation(place.load(), name="Broken room")
    healthy = await create_owned_conversation(place.load(), name="Healthy room")
    bob = await place.user("Bob")
    async with open_gateway(place.load(), EchoAgent()):
        joined = await bob.join(healthy.url)
        assert joined.conversation_id == healthy.conversation_id
    return Rooms(alice, owner_room, broken, healthy, bob)


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


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
async def test_one_corrupt_conversation_does_not_stop_the_others(place: Place, corruption: str) -> None:
    rooms = await _two_rooms(place)
    store = identity_store(place.load())
    broken_id = rooms.broken.identity.id
    keys = [k.hex() for s in store.load_all()[0] for k in (s.wallet_key, s.db_key)]
    target, corrupt = CORRUPTIONS[corruption]
    corrupt(store._file(broken_id) if target == "identity" else store.db_path(broken_id))

    async with open_gateway(place.load(), EchoAgent()) as gateway:
        status = await gateway.status()
        assert list(status["problems"]) == [broken_id], status["problems"]
        problem = status["problems"][broken_id]
        print(f"\n{corruption}: {problem}")
        assert rooms.broken.conversation_id in problem, f"the error does not name the conversation: {problem}"
        assert broken_id not in gateway.hosts and len(gateway.hosts) == 2
        assert len(keys) == 6 and not any(key in problem for key in keys), "key material in an error"
        await rooms.bob.say(rooms.healthy.conversation_id, "still there?")
        await rooms.bob.wait_for(
            lambda s: s.text == "still there?" and s.sender_inbox_id != rooms.bob.inbox_id
        )
        await rooms.alice.say(rooms.owner_room, "and me?")
        await rooms.alice.wait_for(
            lambda s: s.text == "and me?" and s.sender_inbox_id != rooms.alice.inbox_id
        )


async def test_corrupt_gateway_database_is_a_clear_error(place: Place) -> None:
    await setup_owner(place)
    store_path = place.load().paths.store_path
    assert store_path.exists()
    store_path.write_bytes(b"this is not a database" * 300)
    before = sorted(p.name for p in store_path.parent.iterdir())
    with pytest.raises(StateError) as info:
        open_gateway(place.load(), EchoAgent())
    message = str(info.value)
    print(f"\ncorrupt gateway.sqlite3: {message}")
    assert str(store_path) in message and "gateway state" in message
    assert sorted(p.name for p in store_path.parent.iterdir()) == before
