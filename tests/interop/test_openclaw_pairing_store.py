"""Our pairing store against OpenClaw's own, from the npm package ``openclaw@2026.7.35``.

2026.7.35 is the last OpenClaw release whose pairing store is JSON files (later ones keep pairing
in SQLite). Its ``dist/pairing-store-*.js`` and ``dist/file-lock-*.js`` run under Node exactly as
``openclaw pairing list/approve`` runs them: the same files, the same lock file. Only the
modules that store imports are installed (the package itself is unpacked, not installed with its
600 MB of dependencies), into ``~/.cache/openclaw-convos/openclaw-2026.7.35-pairing`` (or
``$OPENCLAW_CONVOS_INTEROP_CACHE/openclaw-2026.7.35-pairing``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openclaw_convos.gateway import pairing as pairing_module
from openclaw_convos.gateway.pairing import PairingStore

from .peer import InstallError, _clean_env, _host_node, _npm_install, _npm_pack_into, file_lock

OPENCLAW_VERSION = "2026.7.35"
# The packages its pairing store imports, at the versions its package.json pins.
STORE_DEPENDENCIES = ["json5@2.2.3", "tslog@4.10.2", "chalk@5.6.2", "typebox@1.3.3", "kysely@0.29.2"]

BOB = "b2" * 32
CAROL = "c3" * 32
DAVE = "d4" * 32
ERIN = "e5" * 32

DRIVER = r"""
import fs from "node:fs";
import path from "node:path";
const dist = process.argv[2];
const [op, argsJson] = process.argv.slice(3);
const args = JSON.parse(argsJson || "{}");
function load(marker) {
  for (const name of fs.readdirSync(dist)) {
    if (!name.endsWith(".js")) continue;
    const text = fs.readFileSync(path.join(dist, name), "utf8");
    if (!text.includes(marker)) continue;
    const names = {};
    const exported = text.match(/export \{([^}]*)\};?\s*$/);
    for (const part of exported[1].split(",")) {
      const [local, alias] = part.trim().split(/\s+as\s+/);
      names[local] = alias ?? local;
    }
    return { file: path.join(dist, name), names };
  }
  throw new Error(`no module with ${marker}`);
}
async function fn(marker, local) {
  const found = load(marker);
  const mod = await import(found.file);
  return mod[found.names[local]];
}
const STORE = "function upsertChannelPairingRequest(";
const LOCK = "async function withFileLock(filePath, options, fn)";
let out;
if (op === "upsert") {
  out = await (await fn(STORE, "upsertChannelPairingRequest"))({ channel: "convos", id: args.id, accountId: args.accountId, meta: args.meta });
} else if (op === "approve") {
  out = await (await fn(STORE, "approveChannelPairingCode"))({ channel: "convos", code: args.code });
} else if (op === "list") {
  out = await (await fn(STORE, "listChannelPairingRequests"))("convos", process.env, args.accountId);
} else if (op === "readAllow") {
  out = await (await fn(STORE, "readChannelAllowFromStore"))("convos", process.env, args.accountId);
} else if (op === "hold") {
  const withFileLock = await fn(LOCK, "withFileLock");
  const options = { retries: { retries: 10, factor: 2, minTimeout: 100, maxTimeout: 10000, randomize: true }, stale: 30000 };
  await withFileLock(args.file, options, async () => {
    console.log(JSON.stringify({ held: Date.now() }));
    await new Promise((resolve) => setTimeout(resolve, args.ms));
    if (args.die) process.kill(process.pid, "SIGKILL");
  });
  out = { released: Date.now() };
}
console.log(JSON.stringify(out ?? null));
"""


@dataclass(frozen=True)
class OpenClaw:
    node: str
    dist: Path
    state: Path
    driver: Path

    @property
    def credentials(self) -> Path:
        return self.state / "credentials"

    def _argv(self, op: str, args: dict[str, Any]) -> list[str]:
        return [self.node, str(self.driver), str(self.dist), op, json.dumps(args)]

    def _env(self) -> dict[str, str]:
        return _clean_env(OPENCLAW_STATE_DIR=str(self.state), OPENCLAW_TEST_FAST="1")

    async def call(self, op: str, **args: Any) -> Any:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(op, args), env=self._env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])

    async def spawn(self, op: str, **args: Any) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self._argv(op, args), env=self._env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )


def _cache_root() -> Path:
    configured = os.environ.get("OPENCLAW_CONVOS_INTEROP_CACHE")
    base = Path(configured).expanduser() if configured else Path.home() / ".cache" / "openclaw-convos"
    return base / f"openclaw-{OPENCLAW_VERSION}-pairing"


def _install() -> tuple[str, Path]:
    node, _version = _host_node()
    root = _cache_root()
    dist = root / "openclaw" / "dist"
    stamp = root / ".ok"
    with file_lock(root.with_name(root.name + ".lock"), 600, "openclaw pairing store install"):
        if not stamp.exists():
            _npm_install(root / "deps", STORE_DEPENDENCIES, legacy_peer_deps=False)
            with tempfile.TemporaryDirectory(prefix="openclaw-pack-") as scratch:
                _npm_pack_into(f"openclaw@{OPENCLAW_VERSION}", root / "openclaw", Path(scratch))
            # Node finds bare imports in a node_modules beside or above the importing file
            (root / "node_modules").unlink(missing_ok=True)
            (root / "node_modules").symlink_to(root / "deps" / "node_modules")
            stamp.write_text(f"openclaw {OPENCLAW_VERSION}\n")
    return node, dist


@pytest.fixture(scope="module")
def openclaw_dist() -> tuple[str, Path]:
    try:
        return _install()
    except InstallError as exc:
        pytest.skip(f"openclaw {OPENCLAW_VERSION} could not be unpacked: {exc}")


@pytest.fixture
def openclaw(openclaw_dist: tuple[str, Path], tmp_path: Path) -> Iterator[OpenClaw]:
    node, dist = openclaw_dist
    driver = tmp_path / "driver.mjs"
    driver.write_text(DRIVER)
    yield OpenClaw(node, dist, tmp_path / "state", driver)


def ours(oc: OpenClaw, **kwargs: Any) -> PairingStore:
    return PairingStore(oc.credentials, **kwargs)


async def test_openclaw_lists_and_approves_what_we_write(openclaw: OpenClaw) -> None:
    store = ours(openclaw)
    bob = await store.upsert(BOB, {"conversationId": "c1", "name": "Bob"}, account="20261203-aaaaaaaaaaaa")
    carol = await store.upsert(CAROL)
    listed = await openclaw.call("list")
    assert [(r["id"], r["code"], r["meta"]["accountId"]) for r in listed] == [
        (BOB, bob.code, "20261203-aaaaaaaaaaaa"),
        (CAROL, carol.code, "default"),
    ]
    assert listed[0]["meta"]["name"] == "Bob" and listed[0]["createdAt"].endswith("Z")
    approved = await openclaw.call("approve", code=bob.code.lower())
    assert approved["id"] == BOB
    # OpenClaw wrote the account's allowFrom file; we read it, and the request is gone for us too
    assert await openclaw.call("readAllow", accountId="20261203-aaaaaaaaaaaa") == [BOB]
    assert await store.read_allow_from() == (BOB,)
    assert [r.id for r in await store.list_pending()] == [CAROL]


async def test_we_list_and_approve_what_openclaw_writes(openclaw: OpenClaw) -> None:
    made = await openclaw.call("upsert", id=DAVE, accountId="id-x", meta={"name": "Dave"})
    assert made["created"]
    store = ours(openclaw)
    (request,) = await store.list_pending()
    assert (request.id, request.code, request.account, request.meta["name"]) == (
        DAVE,
        made["code"],
        "id-x",
        "Dave",
    )
    approved = await store.approve(made["code"])
    assert approved is not None and approved.id == DAVE
    assert await openclaw.call("readAllow", accountId="id-x") == [DAVE]
    assert await openclaw.call("list") == []
    # and the plain file (the default account's legacy file) is shared both ways
    await store.add_allow_from(ERIN)
    assert await openclaw.call("readAllow") == [ERIN]


async def test_openclaw_keeps_three_pending_per_identity(openclaw: OpenClaw) -> None:
    store = ours(openclaw)
    senders = [f"{i:064x}" for i in range(6)]
    for index, sender in enumerate(senders):
        assert (await store.upsert(sender, account="id-a" if index < 3 else "id-b")).created
    assert len(await openclaw.call("list")) == 6  # OpenClaw prunes beyond 3 per account: nothing pruned
    assert len(await store.list_pending()) == 6
    full = await openclaw.call("upsert", id=ERIN, accountId="id-a")
    assert full == {"code": "", "created": False}  # OpenClaw holds the same limit per identity


async def test_each_waits_for_the_others_lock_file(openclaw: OpenClaw) -> None:
    store = ours(openclaw)
    await store.upsert(BOB)  # creates the file
    pairing_file = openclaw.credentials / "convos-pairing.json"

    # OpenClaw holds the lock for 1.5 s; our upsert waits for it
    holder = await openclaw.spawn("hold", file=str(pairing_file), ms=1500)
    assert holder.stdout is not None
    held = json.loads(await asyncio.wait_for(holder.stdout.readline(), 30))
    assert (openclaw.credentials / "convos-pairing.json.lock").is_file()
    started = time.monotonic()
    assert (await store.upsert(CAROL)).created
    waited = time.monotonic() - started
    released = json.loads((await asyncio.wait_for(holder.communicate(), 30))[0].decode().splitlines()[-1])
    assert released["released"] - held["held"] >= 1400
    assert waited >= 0.8, waited

    # we hold the lock; OpenClaw reads our payload, sees a live holder, and waits too
    lock_ctx = pairing_module._file_lock(pairing_file, timeout=5, stale=30)
    lock_ctx.__enter__()
    try:
        payload = json.loads((openclaw.credentials / "convos-pairing.json.lock").read_text())
        assert payload["pid"] == os.getpid() and "starttime" in payload
        upsert = asyncio.create_task(openclaw.call("upsert", id=DAVE))
        await asyncio.sleep(1.5)
        assert not upsert.done()
        assert DAVE not in pairing_file.read_text()
    finally:
        lock_ctx.__exit__(None, None, None)
    assert (await asyncio.wait_for(upsert, 30))["created"]
    assert {r.id for r in await store.list_pending()} == {BOB, CAROL, DAVE}


async def test_we_reclaim_the_lock_of_an_openclaw_that_died(openclaw: OpenClaw) -> None:
    store = ours(openclaw, lock_timeout=5)
    await store.upsert(BOB)
    pairing_file = openclaw.credentials / "convos-pairing.json"
    holder = await openclaw.spawn("hold", file=str(pairing_file), ms=100, die=True)
    await asyncio.wait_for(holder.wait(), 30)
    lock = openclaw.credentials / "convos-pairing.json.lock"
    assert lock.is_file()  # left behind by the killed process
    started = time.monotonic()
    assert (await store.upsert(CAROL)).created
    assert time.monotonic() - started < 2  # reclaimed at once (dead pid), not after 30 s
    assert not lock.exists()
