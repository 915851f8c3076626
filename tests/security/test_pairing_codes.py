"""Pairing codes cannot be guessed within the limits, and a wrong ``approve`` does nothing.

The odds, from the constants the code uses: a code is 8 characters from a 32-character alphabet
(2**40 codes), drawn with ``secrets``; at most 3 are pending at a time and each lives 1 hour.
Only the owner, in the owner conversation, can approve: for anyone else the number of guesses is
zero (tested below). Even for a hypothetical attacker who could send ``approve`` guesses at 100
messages a second for a whole hour, the chance to hit one of the 3 live codes is below 1e-6.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

from openclaw_convos.agents import EchoAgent
from openclaw_convos.gateway import pairing
from openclaw_convos.gateway.pairing import (
    PAIRING_CODE_ALPHABET,
    PAIRING_CODE_LENGTH,
    PAIRING_MAX_PENDING,
    PAIRING_TTL,
    PairingStore,
    generate_code,
)
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.xmtp import content as xc
from tests.reliability.harness import Place, setup_owner

GUESSES_PER_SECOND = 100  # far above what one XMTP sender gets through a real node


def guess_probability(rate: float = GUESSES_PER_SECOND) -> float:
    """P(at least one of ``rate * TTL`` guesses hits one of the pending codes)."""
    space = len(set(PAIRING_CODE_ALPHABET)) ** PAIRING_CODE_LENGTH
    guesses = rate * PAIRING_TTL.total_seconds()
    return -math.expm1(guesses * math.log1p(-PAIRING_MAX_PENDING / space))


def test_the_odds_of_guessing_a_code() -> None:
    assert len(set(PAIRING_CODE_ALPHABET)) == len(PAIRING_CODE_ALPHABET) == 32
    assert not set("0O1I") & set(PAIRING_CODE_ALPHABET)
    assert PAIRING_CODE_LENGTH == 8 and PAIRING_MAX_PENDING == 3 and timedelta(hours=1) == PAIRING_TTL
    space = 32**8
    assert space == 2**40
    union_bound = PAIRING_MAX_PENDING * GUESSES_PER_SECOND * PAIRING_TTL.total_seconds() / space
    p = guess_probability()
    print(f"\ncode space 2^40 = {space:,}; 3 pending for 1 h; {GUESSES_PER_SECOND}/s guesses: P = {p:.2e}")
    assert p <= union_bound < 1e-6
    # Case does not widen the space: approval compares upper-cased codes.
    assert pairing.normalize_code("abcd2345") == "ABCD2345"


def test_codes_come_from_secrets_and_look_uniform() -> None:
    assert generate_code.__kwdefaults__ is not None
    assert generate_code.__kwdefaults__["randbelow"] is secrets.randbelow
    store = PairingStore(Path("/nonexistent"))
    assert store._randbelow is secrets.randbelow
    codes = [generate_code() for _ in range(20_000)]
    assert len(set(codes)) == len(codes)  # a repeat has probability ~2e-4
    counts = Counter("".join(codes))
    expected = len(codes) * PAIRING_CODE_LENGTH / len(PAIRING_CODE_ALPHABET)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in PAIRING_CODE_ALPHABET)
    assert set(counts) == set(PAIRING_CODE_ALPHABET)
    assert chi2 < 80, chi2  # 31 degrees of freedom: p < 1e-5 for a fair source


async def test_wrong_codes_and_non_owners_approve_nothing(place: Place) -> None:
    alice, owner_room = await setup_owner(place)
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room = await create_owned_conversation(place.load(), name="Room", gateway=gateway)
        agent = gateway.hosts[room.identity.id].client.inbox_id
        owner_host = gateway.host_for_conversation(owner_room)
        assert owner_host is not None
        owner_agent = owner_host.client.inbox_id
        bob, carol = await place.user("Bob"), await place.user("Carol")
        assert (await bob.join(room.url)).conversation_id == room.conversation_id
        await bob.say(room.conversation_id, "let me in")
        code_msg = await bob.wait_for(lambda s: s.sender_inbox_id == agent and "Pairing code:" in s.text)
        code = code_msg.text.split("Pairing code:")[1].split()[0]

        # Carol is a member of the owner conversation, but not the owner.
        await alice.conversation(owner_room).add_members([carol.inbox_id])
        await carol.client.sync_welcomes()
        wrong = [c for c in (generate_code() for _ in range(15)) if c != code][:10]
        for guess in wrong:
            await alice.say(owner_room, f"approve {guess}")
        for guess in [*wrong[:5], code]:
            await carol.say(owner_room, f"approve {guess}")
        await bob.say(room.conversation_id, f"approve {code}")  # the requester himself
        bob_dm = await bob.client.find_or_create_dm(owner_agent)
        await bob_dm.send(xc.encode_text(f"approve {code}"))
        refusals = lambda: [s for s in alice.seen if s.text.startswith("No pending pairing request")]  # noqa: E731
        await alice.wait_for(lambda s: len(refusals()) >= len(wrong), timeout=60)
        await gateway.idle(timeout=30)

        every = await gateway.pairing.list_pending()
        # per identity: Bob's request in the room keeps its code (his DM to the owner's identity
        # is a request of that identity's own)
        in_room = {p.id: p.code for p in every if p.account == room.identity.id}
        assert in_room.get(bob.inbox_id) == code, "a wrong approve changed Bob's pending request"
        assert {p.id for p in every} <= {bob.inbox_id, carol.inbox_id}  # Carol, a stranger, asked too
        allowed = await gateway.pairing.read_allow_from()
        assert bob.inbox_id not in allowed and carol.inbox_id not in allowed
        assert not any(s.text.startswith("Approved") for s in alice.seen + carol.seen)
        assert not [s for s in bob.seen if s.sender_inbox_id == agent and "paired" in s.text]
        print(
            f"\n{len(wrong)} wrong codes from the owner, 6 approves from a non-owner member, 2 from the requester: 0 approved"
        )

        # The right code, in lower case, from the owner: approved.
        await alice.say(owner_room, f"approve {code.lower()}")
        await alice.wait_for(lambda s: s.text.startswith("Approved "))
        await bob.say(room.conversation_id, "now?")
        await bob.wait_for(lambda s: s.sender_inbox_id == agent and s.text == "now?")
