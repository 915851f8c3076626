"""Keys stay in their 0600 files: never in logs, status, errors or any other file we write.

The scan runs a whole scenario (setup by invite, a created conversation, a join, a pairing and
its approval, answers, status, a corrupt identity, a database opened with the wrong key, and
the gateway in a subprocess with our logs at DEBUG and libxmtp's at ``RUST_LOG=debug``), with
every Python logger at DEBUG captured. Then it looks for every key (each identity's wallet and
database key, and the simulated users' keys) in every log line, status, error message and
non-secret file: as hex (any 16-character window, either case), as base64 and base64url, and as
a Python bytes list. The config file keeps its mode whenever we rewrite it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.errors import ConvosError
from openclaw_convos.gateway.config import update_convos_config
from openclaw_convos.gateway.identities import IdentityStore
from openclaw_convos.gateway.service import create_owned_conversation, identity_store, open_gateway
from openclaw_convos.xmtp import Identity, IdentityKeys, XmtpClient
from tests.reliability.harness import ECHO_PREFIX, GatewayProcess, Place, setup_owner

SECRET_FILES = (".json",)  # identity files, under credentials/convos-identities/ only
ENCRYPTED = (".db3", ".db3-wal", ".db3-shm", ".db3-journal")


def key_forms(key: bytes) -> Iterator[str]:
    text = key.hex()
    for start in range(0, len(text) - 15):
        yield text[start : start + 16]
        yield text[start : start + 16].upper()
    yield base64.b64encode(key).decode()
    yield base64.urlsafe_b64encode(key).decode().rstrip("=")
    yield repr(list(key[:8]))[:-1]
    yield repr(key)[2:-1][:24]


def leaks(text: str, keys: dict[str, bytes]) -> list[str]:
    return sorted({name for name, key in keys.items() for form in key_forms(key) if form in text})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_keys_never_appear_in_logs_status_errors_or_files(
    place: Place, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    place.config_path.chmod(0o600)
    alice, owner_room = await setup_owner(place)  # configure --invite rewrites the config: mode kept
    assert mode(place.config_path) == 0o600 == mode(place.config_path.with_name("openclaw.json.bak"))
    assert json.loads(place.config_path.read_text())["channels"]["convos"]["ownerConversationId"]
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room = await create_owned_conversation(place.load(), name="Room", gateway=gateway)
        agent = gateway.hosts[room.identity.id].client.inbox_id
        bob = await place.user("Bob")
        assert (await bob.join(room.url)).conversation_id == room.conversation_id
        await bob.say(room.conversation_id, "hello")
        code_msg = await bob.wait_for(lambda s: s.sender_inbox_id == agent and "Pairing code:" in s.text)
        code = code_msg.text.split("Pairing code:")[1].split()[0]
        await alice.say(owner_room, f"approve {code}")
        await bob.wait_for(lambda s: s.sender_inbox_id == agent and "paired" in s.text)
        await bob.say(room.conversation_id, "and now")
        await bob.wait_for(lambda s: s.text == "and now" and s.sender_inbox_id == agent)
        texts.append(json.dumps(await gateway.status()))
        texts += [repr(h.stored) for h in gateway.hosts.values()]
        texts += [repr(h.client) for h in gateway.hosts.values()]
        texts.append(repr(place.load()))

    store = identity_store(place.load())
    stored, _ = store.load_all()
    keys = {f"{s.id} wallet": s.wallet_key for s in stored} | {f"{s.id} db": s.db_key for s in stored}
    for user in place.users:
        keys[f"{user.name} wallet"] = user.client.identity.keys.wallet_key
        keys[f"{user.name} db"] = user.client.identity.keys.db_key
    assert len(keys) == 2 * len(stored) + 2 * len(place.users) >= 8

    # Errors: a corrupt identity file, and a database opened with another identity's key.
    broken = store.create(role="member", label="broken")
    keys["broken wallet"], keys["broken db"] = broken.wallet_key, broken.db_key
    path = store._file(broken.id)
    path.write_text(path.read_text().replace('"dbEncryptionKey": "', '"dbEncryptionKey": "zz'))
    with pytest.raises(ConvosError) as corrupt:
        store.load(broken.id)
    texts += [str(corrupt.value), repr(corrupt.value)]
    victim = next(s for s in stored if s.id == room.identity.id)
    wrong = Identity(IdentityKeys(victim.wallet_key, os.urandom(32)), store.db_path(victim.id))
    with pytest.raises(ConvosError) as mismatch:
        await XmtpClient.open(wrong, place.pool)
    texts += [str(mismatch.value), repr(mismatch.value)]
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        status = await gateway.status()
        assert broken.id in status["problems"]
        texts.append(json.dumps(status))

    # The gateway as its own process, everything at DEBUG, libxmtp included.
    runner = GatewayProcess(
        place, tmp_path / "runner", extra=["--log-level", "DEBUG"], env={"RUST_LOG": "debug"}
    )
    try:
        ready = await runner.start()
        texts.append(json.dumps(ready))
        await alice.say(owner_room, "ping")
        await alice.wait_for(lambda s: s.text == f"{ECHO_PREFIX}ping", timeout=30)
    finally:
        await runner.terminate()
    texts.append(runner.stderr_path.read_text(errors="replace"))
    assert "DEBUG openclaw_convos" in texts[-1]  # the runner really logged at DEBUG
    texts.append(runner.stdout_text())
    assert "DEBUG" in texts[-1] and "xmtp_mls" in texts[-1]  # and so did libxmtp

    log_text = caplog.text
    records = [f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
    assert any(r.levelno == logging.DEBUG and r.name.startswith("openclaw_convos") for r in caplog.records)
    files = []
    for file in sorted(place.state_dir.rglob("*")):
        if not file.is_file() or file.name.endswith(ENCRYPTED):
            continue
        if file.suffix in SECRET_FILES and "convos-identities" in file.parts:
            continue
        files.append(file)
        texts.append(file.read_bytes().decode("latin-1"))
    found = {
        "log lines": leaks(log_text + "\n".join(records), keys),
        "status, reprs, errors, runner output, files": leaks("\n".join(texts), keys),
    }
    print(
        f"\nscanned {len(caplog.records)} log records, {len(texts)} texts and {len(files)} files "
        f"for {len(keys)} keys: {found}"
    )
    assert found == {"log lines": [], "status, reprs, errors, runner output, files": []}
    assert any(f.name == "gateway.sqlite3" for f in files) and any(f.name == "openclaw.json" for f in files)

    # ... and the keys are where they belong: 0600 files in 0700 folders.
    for item in stored:
        assert mode(store._file(item.id)) == 0o600
        assert mode(Path(f"{store.db_path(item.id)}.keycheck")) == 0o600
        assert mode(store.db_path(item.id).parent) == 0o700
    for folder in (store.folder, store.folder.parent, place.load().paths.credentials_dir):
        assert mode(folder) == 0o700, folder


def test_the_scan_finds_a_leaked_key() -> None:
    key = os.urandom(32)
    for text in (
        f"db key {key.hex()[7:30]}!",
        key.hex().upper(),
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        repr(list(key)),
        repr(key),
    ):
        assert leaks(f"x {text} y", {"k": key}) == ["k"], text
    assert leaks(os.urandom(32).hex(), {"k": key}) == []


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_identity_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    with umask(0):
        store = IdentityStore(tmp_path / "ids", tmp_path / "dbs")
        item = store.create(role="owner")
        store.update(item, label="renamed")
    assert mode(store._file(item.id)) == 0o600
    assert mode(store.folder) == 0o700
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".")], "temp files left"


@pytest.mark.parametrize("start_mode", [0o600, 0o640, 0o644])
def test_config_keeps_its_permissions_when_written(tmp_path: Path, start_mode: int) -> None:
    config = tmp_path / "openclaw.json"
    config.write_text(json.dumps({"channels": {"convos": {"privateKey": "0x" + "11" * 32}}, "other": 1}))
    config.chmod(start_mode)
    update_convos_config(config, {"enabled": True, "env": "dev"})
    assert mode(config) == start_mode
    assert mode(config.with_name("openclaw.json.bak")) == start_mode
    data = json.loads(config.read_text())
    assert data["other"] == 1 and data["channels"]["convos"]["env"] == "dev"
    link = tmp_path / "link.json"
    link.symlink_to(config)
    update_convos_config(link, {"env": "production"})
    assert link.is_symlink() and mode(config) == start_mode


def test_new_config_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    config = tmp_path / "new" / "openclaw.json"
    with umask(0):
        update_convos_config(config, {"enabled": True})
    assert mode(config) == 0o600 and mode(config.parent) == 0o700
