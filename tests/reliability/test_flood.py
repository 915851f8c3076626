"""A flood of junk join requests and strangers, while the owner keeps talking to the agent.

The gateway runs in a subprocess (its memory is measured alone). Attackers write to the
identity of a gateway-created conversation:

- junk join requests, typed ``convos.org/join_request`` messages in DMs: random slugs, truncated
  and oversized copies of the real invite, invites made by another creator, expired invites, and
  forged invites naming our inbox but signed by someone else (that sender gets blocked);
- strangers: DMs from inboxes nobody approved, several messages each.

Scaling: every stranger is a real libxmtp client (about 35 ms to create, plus a DM), so the
message volume comes from fewer clients each sending many messages: the full run (``slow``) has
10,000 junk join requests from 20 clients and 1,000 stranger messages from 200 strangers x 5;
the quick run 200 junk requests and 24 stranger messages (8 x 3). What matters for the pairing
and notice limits is the number of distinct senders (many more than 3); what matters for memory
and latency is the number of messages.

Checked: the agent is only ever called for the owner; at most 3 pairing codes are pending at any
time (and at most 3 are ever sent); the owner gets at most 3 pairing notices; the gateway's peak
memory stays bounded; the owner's pings are answered during the flood (latency printed).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from openclaw_convos.convos import content as cc
from openclaw_convos.convos.framing import b64url_encode
from openclaw_convos.convos.invites import create_invite
from openclaw_convos.convos.tags import new_invite_tag
from openclaw_convos.gateway.service import create_owned_conversation
from openclaw_convos.xmtp import BackendPool, Endpoint, Identity, IdentityKeys, XmtpClient, XmtpConversation
from openclaw_convos.xmtp import content as xc

from .harness import ECHO_PREFIX, ExternalNode, GatewayProcess, Place, conversation_texts, setup_owner


@dataclass(frozen=True)
class Scale:
    junk: int
    junk_clients: int
    strangers: int
    per_stranger: int
    max_growth_mib: int
    max_latency_s: float
    restart: bool = True
    """Also restart the gateway afterwards and time a real join (the sweep re-reads the junk)."""


QUICK = Scale(
    junk=200,
    junk_clients=5,
    strangers=8,
    per_stranger=3,
    max_growth_mib=150,
    max_latency_s=10,
    restart=False,
)
FULL = Scale(
    junk=10_000, junk_clients=20, strangers=200, per_stranger=5, max_growth_mib=250, max_latency_s=20
)


async def _clients(place: Place, count: int, label: str, *, own_backend: bool = False) -> list[XmtpClient]:
    """``count`` registered clients. ``own_backend``: one backend each, for heavy senders (libxmtp
    stalls a backend object silently after 5,000 requests a minute)."""
    folder = place.root / "attackers"
    out: list[XmtpClient] = []
    for start in range(0, count, 20):
        batch = [
            XmtpClient.open(
                Identity(IdentityKeys.generate(), folder / f"{label}-{i}.db3"),
                BackendPool(Endpoint(place.url), clients_per_backend=1) if own_backend else place.pool,
            )
            for i in range(start, min(count, start + 20))
        ]
        out += await asyncio.gather(*batch)
    return out


def _junk_slugs(kind: int, real_slug: str, our_inbox: str, attacker: XmtpClient, rng: random.Random) -> str:
    key = attacker.identity.keys.wallet_key
    conversation = os.urandom(16).hex()
    if kind == 0:
        return b64url_encode(rng.randbytes(rng.randint(1, 400)))
    if kind == 1:
        cut = rng.randint(10, len(real_slug) - 1)
        return real_slug[:cut] if rng.random() < 0.5 else real_slug[:cut] + real_slug[cut + 1 :]
    if kind == 2:  # a valid invite, by another creator
        return create_invite(key, attacker.inbox_id, conversation, new_invite_tag())
    if kind == 3:  # claims to be ours, expired
        return create_invite(key, our_inbox, conversation, new_invite_tag(), expires_at=1_600_000_000)
    # claims to be ours, signed by the attacker: a forgery (the sender is blocked)
    return create_invite(key, our_inbox, conversation, new_invite_tag(), name="x" * rng.randint(0, 2000))


async def _send_junk(
    attacker: XmtpClient, kind: int, count: int, real_slug: str, our_inbox: str, seed: int
) -> None:
    rng = random.Random(seed)
    dm = await attacker.find_or_create_dm(our_inbox)
    for _ in range(count):
        slug = _junk_slugs(kind, real_slug, our_inbox, attacker, rng)
        await dm.send(cc.encode_content(cc.JoinRequest(invite_slug=slug)))


async def _send_stranger(stranger: XmtpClient, our_inbox: str, count: int) -> XmtpConversation:
    dm = await stranger.find_or_create_dm(our_inbox)
    for i in range(count):
        await dm.send(xc.encode_text(f"hello {i} from a stranger"))
    return dm


def _pending_codes(place: Place) -> int:
    path = place.state_dir / "credentials" / "convos-pairing.json"
    try:
        return len(json.loads(path.read_text()).get("requests", []))
    except (OSError, ValueError):
        return 0


async def _flood(place: Place, tmp_path: Path, scale: Scale) -> None:
    alice, owner_room = await setup_owner(place)
    created = await create_owned_conversation(place.load(), name="Public room")
    gateway = GatewayProcess(place, tmp_path / "gw")
    try:
        await gateway.start()
        await alice.say(owner_room, "warm up")
        await alice.wait_for(lambda s: s.text == f"{ECHO_PREFIX}warm up", timeout=30)
        await asyncio.sleep(1.0)
        baseline = gateway.status()
        assert baseline is not None
        base_rss = baseline["memory_kib"]["VmRSS"]

        our_inbox = str(created.identity.inbox_id)
        attackers = await _clients(place, scale.junk_clients, "junk", own_backend=True)
        strangers = await _clients(place, scale.strangers, "stranger")
        stranger_ids = {s.inbox_id for s in strangers}

        latencies: list[float] = []
        pending_seen: list[int] = []
        flooding = True

        async def ping() -> None:
            n = 0
            while flooding or n < 3:
                n += 1
                text = f"ping {n}"
                after = len(alice.seen)
                sent = time.monotonic()
                await alice.say(owner_room, text)
                await alice.wait_for(
                    lambda s, t=text: s.text == f"{ECHO_PREFIX}{t}", timeout=120, after=after
                )
                latencies.append(time.monotonic() - sent)
                await asyncio.sleep(0.5)

        async def watch_pairing() -> None:
            while flooding:
                pending_seen.append(_pending_codes(place))
                status = gateway.status()
                if status is not None:
                    pending_seen.append(int(status.get("pending_pairing", 0)))
                await asyncio.sleep(0.2)

        pinger = asyncio.create_task(ping())
        watcher = asyncio.create_task(watch_pairing())
        started = time.monotonic()
        per_client = scale.junk // scale.junk_clients
        jobs = [
            _send_junk(a, kind, per_client, created.slug, our_inbox, seed)
            for seed, a in enumerate(attackers)
            for kind in [seed % 5]
        ]
        stranger_jobs = [_send_stranger(s, our_inbox, scale.per_stranger) for s in strangers]
        await asyncio.gather(*jobs, *stranger_jobs)
        sent_in = time.monotonic() - started

        # Wait until the gateway has worked through everything.
        expected_ignored = scale.strangers * scale.per_stranger
        deadline = time.monotonic() + 240
        while True:
            status = gateway.status() or {}
            counts = status.get("messages", {})
            if counts.get("ignored", 0) >= expected_ignored and status.get("queued", 1) == 0:
                break
            assert time.monotonic() < deadline, f"the gateway did not drain the flood: {status}"
            await asyncio.sleep(0.5)
        drained_in = time.monotonic() - started
        flooding = False
        await pinger
        await watcher
        status = gateway.status()
        assert status is not None

        turns = gateway.turns()
        callers = {t["sender"] for t in turns}
        assert callers == {alice.inbox_id}, "the agent was called for someone else than the owner"
        assert max(pending_seen) <= 3, f"pending pairing codes: {max(pending_seen)}"
        codes_sent = 0
        for stranger in strangers:
            for conversation in await stranger.list_conversations():
                codes_sent += sum(
                    "Pairing code:" in t for t in await conversation_texts(conversation, our_inbox)
                )
        assert 1 <= codes_sent <= 3, codes_sent
        owner_agent = alice.seen[-1].sender_inbox_id
        notices = [
            t
            for t in await conversation_texts(alice.conversation(owner_room), owner_agent)
            if "Pairing request" in t
        ]
        assert 1 <= len(notices) <= 3, notices
        peak = status["memory_kib"]["VmHWM"]
        growth_mib = (peak - base_rss) / 1024
        assert growth_mib < scale.max_growth_mib, f"peak memory grew by {growth_mib:.0f} MiB"
        assert len(status["problems"]) == 0, status["problems"]
        during = latencies[: max(1, len(latencies) - 3)]
        print(
            f"\nflood: {scale.junk} junk join requests ({scale.junk_clients} clients), "
            f"{expected_ignored} stranger messages ({scale.strangers} strangers x {scale.per_stranger}); "
            f"sent in {sent_in:.0f}s, gateway drained it in {drained_in:.0f}s\n"
            f"  owner pings answered: {len(latencies)}, latency p50 {statistics.median(during):.2f}s, "
            f"max {max(during):.2f}s\n"
            f"  agent turns {len(turns)} (all the owner's), pairing codes pending max {max(pending_seen)}, "
            f"codes sent {codes_sent}, owner notices {len(notices)}\n"
            f"  gateway memory: {base_rss / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB "
            f"(+{growth_mib:.0f} MiB), {status['lanes']} conversation lanes"
        )
        assert max(during) < scale.max_latency_s, f"owner latency {max(during):.1f}s"
        assert not stranger_ids & callers

        if not scale.restart:
            return
        # A restart catches up on the last 24 h of join requests: the junk must not stall a real join.
        await gateway.terminate()
        restarted = time.monotonic()
        await gateway.start()
        bob = await place.user("Bob")
        joined = await bob.join(created.url, timeout=120)
        join_s = time.monotonic() - restarted
        assert joined.conversation_id == created.conversation_id, joined.message
        print(f"  after a restart, a real join request took {join_s:.1f}s (the sweep re-reads the junk)")
        assert join_s < scale.max_latency_s * 2
    finally:
        await gateway.close()


async def test_flood_quick(place: Place, tmp_path: Path) -> None:
    await _flood(place, tmp_path, QUICK)


@pytest.mark.slow
async def test_flood_10000_junk_join_requests_and_1000_stranger_messages(tmp_path: Path) -> None:
    async with ExternalNode(tmp_path / "node.sqlite3") as node:  # its own process: its own core
        place = Place(tmp_path, node.url, BackendPool(Endpoint(node.url)))
        place.write_config()
        try:
            await _flood(place, tmp_path, FULL)
        finally:
            await place.close()
