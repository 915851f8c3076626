"""Pairing codes, reply texts, and the OpenClaw-compatible store files."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openclaw_convos.errors import StateError
from openclaw_convos.gateway.pairing import (
    PAIRING_CODE_ALPHABET,
    PairingStore,
    approve_command,
    build_approval_notice,
    build_pairing_reply,
    format_approved,
    format_no_pending,
    format_unknown_code,
    generate_code,
    normalize_allow_entry,
)

ALICE = "a1" * 32
BOB = "b2" * 32
CAROL = "c3" * 32
DAVE = "d4" * 32
START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
START_MS = START.replace(microsecond=123000)  # stored with millisecond precision, like JavaScript


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> PairingStore:
    return PairingStore(tmp_path / "credentials", clock=clock)


def read(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


# -- codes and texts ---------------------------------------------------------------------------


def test_generated_codes_use_the_alphabet() -> None:
    for _ in range(200):
        code = generate_code()
        assert len(code) == 8
        assert set(code) <= set(PAIRING_CODE_ALPHABET)
    assert not set("01OI") & set(PAIRING_CODE_ALPHABET)
    assert len(PAIRING_CODE_ALPHABET) == 32


def test_generated_code_avoids_existing_codes() -> None:
    values = iter([0] * 8 + [1] * 8)  # first "AAAAAAAA" (taken), then "BBBBBBBB"
    assert generate_code(["aaaaaaaa"], randbelow=lambda n: next(values)) == "BBBBBBBB"


def test_code_generation_gives_up_after_500_attempts() -> None:
    calls = 0

    def always_zero(n: int) -> int:
        nonlocal calls
        calls += 1
        return 0

    with pytest.raises(StateError, match="unique pairing code"):
        generate_code(["AAAAAAAA"], randbelow=always_zero)
    assert calls == 500 * 8


def test_pairing_reply_text() -> None:
    assert build_pairing_reply(BOB, "ABCD2345") == (
        "OpenClaw: access not configured.\n"
        "\n"
        f"Your Convos inbox ID: {BOB}\n"
        "\n"
        "Pairing code: ABCD2345\n"
        "\n"
        "Ask the bot owner to approve with:\n"
        "openclaw-convos pairing approve ABCD2345\n"
        "(or, with OpenClaw: openclaw pairing approve convos <code>)"
    )


def test_pairing_reply_with_profile() -> None:
    text = build_pairing_reply(BOB, "ABCD2345", profile="work")
    assert text.endswith("\n(or, with OpenClaw: openclaw --profile work pairing approve convos <code>)")
    assert approve_command() == "openclaw pairing approve convos <code>"


def test_other_texts() -> None:
    assert build_approval_notice(BOB) == f"\u2705 Device paired successfully (inbox: {BOB[:12]}...)"
    assert format_no_pending() == "No pending convos pairing requests."
    assert format_approved(BOB) == f"Approved convos sender {BOB}."
    assert format_unknown_code("XYZ") == "No pending pairing request found for code: XYZ"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(BOB, BOB), (" convos:" + BOB.upper(), BOB), ("CONVOS:" + BOB, BOB), ("*", "*"), (12, "12")],
)
def test_normalize_allow_entry(raw: str | int, expected: str) -> None:
    assert normalize_allow_entry(raw) == expected


# -- store files ---------------------------------------------------------------------------------


async def test_upsert_writes_openclaw_shape(store: PairingStore, tmp_path: Path) -> None:
    result = await store.upsert(BOB, {"name": "Bob", "empty": "  ", "none": None})
    assert result.created
    assert len(result.code) == 8
    data = read(tmp_path / "credentials" / "convos-pairing.json")
    assert data == {
        "version": 1,
        "requests": [
            {
                "id": BOB,
                "code": result.code,
                "createdAt": "2026-03-01T12:00:00.123Z",
                "lastSeenAt": "2026-03-01T12:00:00.123Z",
                "meta": {"name": "Bob", "accountId": "default"},
            }
        ],
    }
    raw = (tmp_path / "credentials" / "convos-pairing.json").read_text()
    assert raw.startswith('{\n  "version": 1,\n') and raw.endswith("}\n")


async def test_store_files_are_private(store: PairingStore, tmp_path: Path) -> None:
    await store.upsert(BOB)
    approved = await store.approve((await store.list_pending())[0].code)
    assert approved is not None
    creds = tmp_path / "credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o700
    # OpenClaw's approve writes the file of the request's account ("default" here)
    for name in ("convos-pairing.json", "convos-default-allowFrom.json"):
        assert stat.S_IMODE((creds / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in creds.iterdir()) == ["convos-default-allowFrom.json", "convos-pairing.json"]


async def test_repeat_upsert_keeps_code_and_updates_last_seen(
    store: PairingStore, clock: Clock, tmp_path: Path
) -> None:
    first = await store.upsert(BOB, {"name": "Bob"})
    clock.advance(minutes=10)
    again = await store.upsert("convos:" + BOB.upper())
    assert again.code == first.code
    assert not again.created
    (request,) = await store.list_pending()
    assert request.created_at == START_MS
    assert request.last_seen_at == START_MS + timedelta(minutes=10)
    assert request.meta == {"name": "Bob", "accountId": "default"}  # kept when no new meta is given
    await store.upsert(BOB, {"name": "Robert"})
    (request,) = await store.list_pending()
    assert request.meta == {"name": "Robert", "accountId": "default"}


async def test_at_most_three_pending(store: PairingStore) -> None:
    for sender in (ALICE, BOB, CAROL):
        assert (await store.upsert(sender)).created
    full = await store.upsert(DAVE)
    assert full.code == "" and not full.created
    assert [r.id for r in await store.list_pending()] == [ALICE, BOB, CAROL]
    # an existing requester is still recognised when the channel is full
    assert (await store.upsert(BOB)).code != ""


async def test_codes_are_unique_among_pending(tmp_path: Path, clock: Clock) -> None:
    values = iter([0] * 8 + [0] * 8 + [1] * 8)
    store = PairingStore(tmp_path, clock=clock, randbelow=lambda n: next(values))
    assert (await store.upsert(ALICE)).code == "AAAAAAAA"
    assert (await store.upsert(BOB)).code == "BBBBBBBB"


async def test_expiry_after_one_hour(store: PairingStore, clock: Clock) -> None:
    first = await store.upsert(BOB)
    clock.advance(minutes=60)
    assert [r.code for r in await store.list_pending()] == [first.code]  # exactly 1 h: still live
    clock.advance(seconds=1)
    assert await store.list_pending() == []
    again = await store.upsert(BOB)
    assert again.created  # a fresh request once the old one expired


async def test_expired_requests_free_capacity(store: PairingStore, clock: Clock) -> None:
    for sender in (ALICE, BOB, CAROL):
        await store.upsert(sender)
    clock.advance(hours=2)
    assert (await store.upsert(DAVE)).created
    assert [r.id for r in await store.list_pending()] == [DAVE]


async def test_approve_is_case_insensitive_and_moves_sender(store: PairingStore, tmp_path: Path) -> None:
    code = (await store.upsert(BOB, {"name": "Bob"})).code
    await store.upsert(CAROL)
    approved = await store.approve(f"  {code.lower()} ")
    assert approved is not None
    assert approved.id == BOB and approved.entry == BOB
    assert approved.request.meta == {"name": "Bob", "accountId": "default"}
    assert [r.id for r in await store.list_pending()] == [CAROL]
    assert read(tmp_path / "credentials" / "convos-default-allowFrom.json") == {
        "version": 1,
        "allowFrom": [BOB],
    }
    assert await store.read_allow_from() == (BOB,)
    assert await store.approve(code) is None  # already used


async def test_approve_unknown_or_expired_code(store: PairingStore, clock: Clock) -> None:
    code = (await store.upsert(BOB)).code
    assert await store.approve("ZZZZZZZZ") is None
    assert await store.approve("   ") is None
    clock.advance(hours=1, seconds=1)
    assert await store.approve(code) is None
    assert await store.read_allow_from() == ()


async def test_list_pending_sorted_by_creation(store: PairingStore, clock: Clock) -> None:
    await store.upsert(CAROL)
    clock.advance(minutes=1)
    await store.upsert(ALICE)
    clock.advance(minutes=1)
    await store.upsert(CAROL)  # seen again, created first
    assert [r.id for r in await store.list_pending()] == [CAROL, ALICE]


async def test_reads_files_written_by_openclaw(tmp_path: Path, clock: Clock) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "convos-pairing.json").write_text(
        json.dumps(
            {
                "version": 1,
                "requests": [
                    {
                        "id": BOB,
                        "code": "QRST2345",
                        "createdAt": "2026-03-01T11:30:00.000Z",
                        "lastSeenAt": "2026-03-01T11:45:00.000Z",
                        "futureField": {"x": 1},
                    },
                    {"id": CAROL, "code": "BROKEN22", "createdAt": "not a date", "lastSeenAt": ""},
                    "garbage",
                    {"id": DAVE},
                ],
            }
        )
    )
    (creds / "convos-allowFrom.json").write_text(
        json.dumps({"version": 1, "allowFrom": ["convos:" + ALICE, "*", "", 7, True]})
    )
    store = PairingStore(creds, clock=clock)
    (request,) = await store.list_pending()  # the unparseable one counts as expired
    assert request.code == "QRST2345"
    assert request.created_at == datetime(2026, 3, 1, 11, 30, tzinfo=UTC)
    assert await store.read_allow_from() == (ALICE, "7")
    # rewriting keeps fields we do not know
    await store.upsert(BOB)
    records = read(creds / "convos-pairing.json")["requests"]  # type: ignore[index]
    assert records[0]["futureField"] == {"x": 1}
    assert records[0]["createdAt"] == "2026-03-01T11:30:00.000Z"


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"version": 1, "requests": {}}'])
async def test_corrupt_files_read_as_empty(tmp_path: Path, clock: Clock, content: str) -> None:
    (tmp_path / "convos-pairing.json").write_text(content)
    (tmp_path / "convos-allowFrom.json").write_text(content)
    store = PairingStore(tmp_path, clock=clock)
    assert await store.list_pending() == []  # moves the corrupt pairing file aside
    assert await store.read_allow_from() == ()
    assert (await store.upsert(BOB)).created


async def test_allow_from_add_and_remove(store: PairingStore) -> None:
    assert await store.add_allow_from("convos:" + BOB.upper())
    assert not await store.add_allow_from(BOB)
    assert not await store.add_allow_from("*")
    assert await store.add_allow_from(CAROL)
    assert await store.read_allow_from() == (BOB, CAROL)
    assert await store.remove_allow_from(BOB)
    assert not await store.remove_allow_from(BOB)
    assert await store.read_allow_from() == (CAROL,)


async def test_missing_files_read_as_empty_without_creating_them(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path / "nowhere", clock=clock)
    assert await store.read_allow_from() == ()
    assert not (tmp_path / "nowhere").exists()


async def test_naive_clock_is_rejected(tmp_path: Path) -> None:
    store = PairingStore(tmp_path, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.upsert(BOB)


# -- locking -------------------------------------------------------------------------------------


async def test_waits_for_a_lock_held_by_another_process(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path, clock=clock)
    allow = tmp_path / "convos-allowFrom.json"
    allow.write_text('{"version": 1, "allowFrom": []}\n')
    lock = Path(os.path.realpath(allow) + ".lock")
    lock.mkdir()  # what proper-lockfile (OpenClaw's CLI) holds while it writes
    task = asyncio.create_task(store.add_allow_from(BOB))
    await asyncio.sleep(0.3)
    assert not task.done()
    assert read(allow) == {"version": 1, "allowFrom": []}
    lock.rmdir()
    assert await asyncio.wait_for(task, 5)
    assert read(allow) == {"version": 1, "allowFrom": [BOB]}
    assert not lock.exists()


async def test_gives_up_on_a_live_lock(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path, clock=clock, lock_timeout=0.2)
    (tmp_path / "convos-pairing.json").write_text('{"version": 1, "requests": []}\n')
    (tmp_path / "convos-pairing.json.lock").mkdir()
    with pytest.raises(StateError, match="locked by another process"):
        await store.upsert(BOB)


async def test_breaks_a_stale_lock(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path, clock=clock, lock_timeout=5)
    (tmp_path / "convos-pairing.json").write_text('{"version": 1, "requests": []}\n')
    lock = tmp_path / "convos-pairing.json.lock"
    lock.mkdir()
    old = lock.stat().st_mtime - 60
    os.utime(lock, (old, old))
    assert (await store.upsert(BOB)).created
    assert not lock.exists()


async def test_concurrent_writers_lose_no_update(tmp_path: Path, clock: Clock) -> None:
    # two stores (as if two processes) interleaving read-modify-writes on the same files
    first = PairingStore(tmp_path, clock=clock)
    second = PairingStore(tmp_path, clock=clock)
    senders = [f"{i:064x}" for i in range(30)]
    await asyncio.gather(
        *((first if i % 2 else second).add_allow_from(sender) for i, sender in enumerate(senders))
    )
    assert sorted(await first.read_allow_from()) == sorted(senders)


# -- accounts: one pending limit per gateway identity ---------------------------------------------


async def test_pending_limit_and_requests_are_per_account(store: PairingStore) -> None:
    # three strangers fill identity A; identity B still pairs, and a sender pending at A is a
    # new requester at B with a code of its own (as at an unrelated gateway)
    for sender in (ALICE, BOB, CAROL):
        assert (await store.upsert(sender, account="id-a")).created
    assert (await store.upsert(DAVE, account="id-a")).code == ""
    at_b = await store.upsert(DAVE, account="id-b")
    assert at_b.created and at_b.code
    again = await store.upsert(ALICE, account="id-b")
    assert again.created and again.code not in {r.code for r in await store.list_pending("id-a")}
    assert [r.id for r in await store.list_pending("id-a")] == [ALICE, BOB, CAROL]
    assert [r.id for r in await store.read_pending("id-b")] == [DAVE, ALICE]
    assert {r.account for r in await store.list_pending()} == {"id-a", "id-b"}


async def test_approval_goes_to_the_accounts_file_and_counts_everywhere(
    store: PairingStore, tmp_path: Path
) -> None:
    code = (await store.upsert(BOB, {"conversationId": "c1"}, account="ID-A")).code
    approved = await store.approve(code)
    assert approved is not None and approved.request.account == "id-a"
    creds = tmp_path / "credentials"
    assert read(creds / "convos-id-a-allowFrom.json") == {"version": 1, "allowFrom": [BOB]}
    await store.add_allow_from(CAROL)  # the plain file (the owner, at setup)
    assert await store.read_allow_from() == (CAROL, BOB)
    assert await store.remove_allow_from(BOB)
    assert await store.read_allow_from() == (CAROL,)


# -- a corrupt store is kept, reported, never rewritten ------------------------------------------


async def test_corrupt_allow_from_is_kept_reported_and_never_overwritten(
    store: PairingStore, tmp_path: Path
) -> None:
    creds = tmp_path / "credentials"
    await store.add_allow_from(ALICE)
    await store.add_allow_from(BOB)
    allow = creds / "convos-allowFrom.json"
    broken = allow.read_bytes().replace(b'"allowFrom"', b'"allowFrom\xff"', 1)[:-3]  # one bad byte, cut
    allow.write_bytes(broken)
    # decisions: nobody is approved (fail closed), and it is said
    assert await store.read_allow_from() == ()
    (problem,) = store.problems()
    assert problem.path == allow and "corrupt" in problem.message
    assert allow.read_bytes() == broken  # reading changed nothing
    # the next approval does not overwrite it: the corrupt file is moved aside, byte for byte
    code = (await store.upsert(CAROL)).code
    await store.approve(code)
    await store.add_allow_from(DAVE)
    asides = sorted(creds.glob("convos-allowFrom.json.corrupt-*"))
    assert len(asides) == 1 and asides[0].read_bytes() == broken
    assert read(allow) == {"version": 1, "allowFrom": [DAVE]}
    assert await store.read_allow_from() == (DAVE, CAROL)
    (problem,) = store.problems()
    assert problem.path == asides[0] and "moved aside" in problem.message


async def test_corrupt_pairing_file_is_moved_aside_not_overwritten(
    store: PairingStore, tmp_path: Path
) -> None:
    creds = tmp_path / "credentials"
    await store.upsert(ALICE)
    pairing = creds / "convos-pairing.json"
    pairing.write_text('{"version": 1, "requests": {"oops": 1}}')
    assert await store.read_pending() == []
    assert [p.path for p in store.problems()] == [pairing]
    assert (await store.upsert(BOB)).created
    (aside,) = creds.glob("convos-pairing.json.corrupt-*")
    assert aside.read_text() == '{"version": 1, "requests": {"oops": 1}}'


# -- reads for decisions are cached while the files are unchanged ---------------------------------


async def test_reads_parse_a_file_only_when_it_changed(store: PairingStore, tmp_path: Path) -> None:
    await store.add_allow_from(ALICE)
    await store.upsert(BOB)
    store.parses = 0
    for _ in range(200):
        assert await store.read_allow_from() == (ALICE,)
        assert [r.id for r in await store.read_pending()] == [BOB]
    assert store.parses == 2  # once each
    # another process (OpenClaw's CLI) replaces the file: read again
    other = PairingStore(tmp_path / "credentials")
    await other.add_allow_from(CAROL)
    assert await store.read_allow_from() == (ALICE, CAROL)
    # an in-place edit of the same size and mtime granularity is still seen (inode/size/mtime_ns)
    allow = tmp_path / "credentials" / "convos-allowFrom.json"
    allow.write_text(allow.read_text().replace(CAROL, DAVE))
    assert await store.read_allow_from() == (ALICE, DAVE)


# -- OpenClaw's lock file -------------------------------------------------------------------------


def _lock_file(path: Path, payload: object) -> Path:
    lock = Path(os.path.realpath(path) + ".lock")
    lock.write_text(json.dumps(payload, indent=2) + "\n")
    return lock


async def test_lock_is_a_file_with_openclaws_payload(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path, clock=clock)
    seen: list[object] = []
    original = os.replace

    def spy(src: object, dst: object) -> None:  # look at the lock while the write happens
        lock = tmp_path / "convos-allowFrom.json.lock"
        if str(dst).endswith("convos-allowFrom.json"):
            seen.append(json.loads(lock.read_text()) if lock.is_file() else None)
        original(src, dst)  # type: ignore[arg-type]

    os.replace = spy  # type: ignore[assignment]
    try:
        await store.add_allow_from(BOB)
    finally:
        os.replace = original
    (payload,) = seen
    assert isinstance(payload, dict)
    assert payload["pid"] == os.getpid()
    assert datetime.fromisoformat(payload["createdAt"]).tzinfo is not None
    assert payload["starttime"] == int(
        Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    )
    assert not (tmp_path / "convos-allowFrom.json.lock").exists()


async def test_a_live_holders_lock_file_is_waited_for(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path, clock=clock)
    allow = tmp_path / "convos-allowFrom.json"
    allow.write_text('{"version": 1, "allowFrom": []}\n')
    old = "2020-01-01T00:00:00.000Z"  # a live pid is never reclaimed by age (OpenClaw's rule)
    lock = _lock_file(allow, {"pid": os.getppid(), "createdAt": old})
    task = asyncio.create_task(store.add_allow_from(BOB))
    await asyncio.sleep(0.4)
    assert not task.done()
    lock.unlink()
    assert await asyncio.wait_for(task, 5)
    assert read(allow) == {"version": 1, "allowFrom": [BOB]}


@pytest.mark.parametrize(
    "payload",
    [
        {"pid": 2**22 + 12345, "createdAt": "2026-03-01T12:00:00.000Z"},  # no such process
        {"pid": os.getppid(), "createdAt": "2026-03-01T12:00:00.000Z", "starttime": 1},  # pid reused
        {"createdAt": "2020-01-01T00:00:00.000Z"},  # no pid, old
    ],
)
async def test_stale_lock_files_are_reclaimed(tmp_path: Path, clock: Clock, payload: object) -> None:
    store = PairingStore(tmp_path, clock=clock, lock_timeout=2)
    (tmp_path / "convos-pairing.json").write_text('{"version": 1, "requests": []}\n')
    lock = _lock_file(tmp_path / "convos-pairing.json", payload)
    assert (await store.upsert(BOB)).created
    assert not lock.exists()


async def test_an_unreadable_lock_file_is_reclaimed_only_when_old(tmp_path: Path, clock: Clock) -> None:
    store = PairingStore(tmp_path, clock=clock, lock_timeout=0.3)
    (tmp_path / "convos-pairing.json").write_text('{"version": 1, "requests": []}\n')
    lock = tmp_path / "convos-pairing.json.lock"
    lock.write_bytes(b"")  # a holder between open() and write()
    with pytest.raises(StateError, match="locked by another process"):
        await store.upsert(BOB)
    old = lock.stat().st_mtime - 60
    os.utime(lock, (old, old))
    assert (await store.upsert(BOB)).created
