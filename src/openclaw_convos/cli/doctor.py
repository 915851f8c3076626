"""``doctor``: find what would stop the gateway, with a real call to the node.

Checks the config, the setup, the agent backend's settings, the node (a real request), the
installations each inbox uses against XMTP's limit of 10, and the permissions of key files and
folders. Never prints key material: only paths and modes. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, ConvosError
from ..gateway.config import ENVS, LoadedConfig
from ..gateway.health import assess
from ..gateway.lock import run_started_at, running_gateway
from ..gateway.pairing import WILDCARD, PairingStore
from ..gateway.paths import StatePaths, resolve_state_paths
from .console import Console, Progress, short
from .context import add_network_options, identities, load, owner_conversation_id
from .errors import EXIT_ERROR, EXIT_OK
from .runtime_info import agent_description

Level = Literal["ok", "warn", "fail"]
_SHOWN = {"ok": " ok ", "warn": "warn", "fail": "FAIL"}
MAX_INSTALLATIONS = 10
WARN_INSTALLATIONS = 8


@dataclass(frozen=True, slots=True)
class Check:
    level: Level
    name: str
    detail: str


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, level: Level, name: str, detail: str) -> None:
        self.checks.append(Check(level, name, detail))

    @property
    def failed(self) -> bool:
        return any(c.level == "fail" for c in self.checks)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _private(report: Report, path: Path, what: str, *, want: int, fatal: bool = True) -> None:
    """``path`` must not be readable by group or others (0700 folders, 0600 files)."""
    mode = _mode(path)
    if mode is None:
        return
    if mode & 0o077:
        report.add(
            "fail" if fatal else "warn",
            "permissions",
            f"{what} {path} is {mode:04o}; others can read it. Fix: chmod {want:o} {path}",
        )
    else:
        report.add("ok", "permissions", f"{what} {path} is {mode:04o}")


def check_permissions(report: Report, paths: StatePaths, *, config_has_secret: bool) -> None:
    state_mode = _mode(paths.state_dir)
    if state_mode is not None and state_mode & 0o002:
        report.add(
            "fail", "permissions", f"state folder {paths.state_dir} is world-writable ({state_mode:04o})"
        )
    _private(report, paths.credentials_dir, "credentials folder", want=0o700)
    if paths.identities_root.exists():
        _private(report, paths.identities_root, "identities folder", want=0o700)
    bad_keys = 0
    key_files = 0
    for env in ENVS:
        folder = paths.identities_dir(env)
        if not folder.is_dir():
            continue
        _private(report, folder, f"identities folder ({env})", want=0o700)
        for file in sorted(folder.glob("*.json")):
            key_files += 1
            mode = _mode(file)
            if mode is not None and mode & 0o077:
                bad_keys += 1
                report.add(
                    "fail",
                    "permissions",
                    f"key file {file} is {mode:04o}; others can read it. Fix: chmod 600 {file}",
                )
    if key_files and not bad_keys:
        report.add("ok", "permissions", f"{key_files} key file(s) are private (0600)")
    scoped = (
        sorted(paths.credentials_dir.glob("convos-*-allowFrom.json"))
        if paths.credentials_dir.is_dir()
        else []
    )
    for path in (paths.pairing_path(), paths.allow_from_path(), *scoped):
        if path.exists():
            _private(report, path, "pairing store", want=0o600, fatal=False)
    config_mode = _mode(paths.config_path)
    if config_mode is not None:
        if config_mode & 0o022:
            report.add(
                "fail",
                "permissions",
                f"config {paths.config_path} is writable by others ({config_mode:04o}); it can name a "
                f"program to run. Fix: chmod 600 {paths.config_path}",
            )
        elif config_has_secret and config_mode & 0o077:
            report.add(
                "fail",
                "permissions",
                f"config {paths.config_path} holds a secret (privateKey) and is "
                f"{config_mode:04o}. Fix: chmod 600 {paths.config_path}",
            )


async def run_checks(
    report: Report, loaded: LoadedConfig, *, timeout: float, progress: Progress | None = None
) -> None:
    cfg = loaded.convos
    if not cfg.enabled:
        report.add("warn", "config", "channels.convos.enabled is false: `run` refuses to start")
    if cfg.private_key is not None:
        report.add(
            "warn",
            "config",
            "channels.convos.privateKey keeps a wallet key in the config in plain text; the gateway "
            "adopts it into a 0600 key file (then you can remove it from the config)",
        )
    if cfg.dm_policy == "open" and WILDCARD not in cfg.allow_from:
        report.add(
            "warn", "config", 'dmPolicy is "open" but allowFrom lacks "*" (OpenClaw requires it as an opt-in)'
        )

    for problem in PairingStore(loaded.paths.credentials_dir).problems():
        report.add("fail", "pairing", problem.message)

    stored, broken = identities(loaded)
    for key, error in broken.items():
        report.add("fail", "identities", f"identity {key} is unreadable: {error}")
    if cfg.identity_id is not None and cfg.identity_id not in {s.id for s in stored}:
        report.add(
            "warn",
            "config",
            f"channels.convos.identityId {cfg.identity_id} names no identity on env {cfg.env!r} "
            "(setup writes it; remove it or run `openclaw-convos configure` again)",
        )
    owner = owner_conversation_id(loaded, stored)
    pending = [s for s in stored if not s.conversation_id and s.invite_slug]
    if owner:
        report.add("ok", "setup", f"owner conversation {owner}; {len(stored)} identity(ies) on {cfg.env}")
    elif pending:
        report.add(
            "warn",
            "setup",
            "the owner join is pending: the creator must approve it in the Convos app; "
            "`openclaw-convos run` finishes it",
        )
    else:
        report.add(
            "fail",
            "setup",
            f"no owner conversation on env {cfg.env!r}: run `openclaw-convos configure` (or `invite create`)",
        )
    for item in pending:
        if item.role != "owner":
            report.add("warn", "setup", f"identity {item.id} is still waiting to be let into a conversation")

    try:
        from ..agents import build_agent

        agent = build_agent(cfg.agent, environ=loaded.environ)
        await agent.aclose()
        report.add("ok", "agent", agent_description(loaded))
    except ConfigError as exc:
        report.add("fail", "agent", str(exc))

    check_media(report, loaded)
    await check_gateway(report, loaded)

    from ..xmtp import BackendPool

    pool = BackendPool(cfg.endpoint())
    started = time.monotonic()
    if progress is not None:
        progress.update(f"Reaching the XMTP node at {pool.endpoint.url}…")
    try:
        await pool.probe(timeout=timeout)
    except ConvosError as exc:
        report.add(
            "fail",
            "node",
            f"{exc}. Check the network; for testing try env 'dev', or `openclaw-convos node` with env 'local'",
        )
        return
    report.add("ok", "node", f"{pool.endpoint.url} answered in {(time.monotonic() - started) * 1000:.0f} ms")
    await check_installations(report, pool, [s for s in stored if s.inbox_id], timeout=timeout)


def check_media(report: Report, loaded: LoadedConfig) -> None:
    """Attachments: received always; sent only with an upload provider (config or convos-cli's variables)."""
    from ..media import resolve_upload_settings

    media = loaded.convos.media
    limit = f"up to {media.max_bytes / (1024 * 1024):g} MB"
    try:
        settings = resolve_upload_settings(media, loaded.environ, loaded.convos.env)
    except ConfigError as exc:
        report.add("fail", "attachments", str(exc))
        return
    t = media.transcription
    if t is not None and t.api_key_env and not loaded.environ.get(t.api_key_env, "").strip():
        report.add("fail", "attachments", f"media.transcription: the variable {t.api_key_env} is not set")
        return
    if settings is None:
        report.add(
            "ok",
            "attachments",
            f"received ({limit}); the agent cannot send files: no upload provider "
            "(set CONVOS_UPLOAD_PROVIDER, or channels.convos.media.provider)",
        )
        return
    where = {
        "s3": f"s3 bucket {settings.bucket} at {settings.endpoint}, public URL {settings.public_url}",
        "convos-api": f"convos-api at {settings.api_base_url}",
        "pinata": f"pinata, gateway {settings.public_url}",
    }[settings.provider]
    report.add("ok", "attachments", f"received and sent ({limit}) through {where}")


async def check_gateway(report: Report, loaded: LoadedConfig) -> None:
    """The running gateway's own record: its health and the problems of single conversations."""
    pid = running_gateway(loaded.paths)
    activity: dict[str, str] = {}
    if loaded.paths.store_path.exists():
        from ..gateway.state import GatewayState

        try:
            state = GatewayState.open(loaded.paths.store_path)
        except ConvosError as exc:
            report.add("fail", "gateway", f"its state database does not open: {exc}")
            return
        try:
            activity = await state.activity()
        finally:
            state.close()
    health = assess(
        running=pid is not None,
        run_started_unix=run_started_at(loaded.paths) if pid is not None else None,
        activity=activity,
        now=time.time(),
    )
    if pid is None:
        report.add("ok", "gateway", "not running")
    elif health.ok:
        age = f", heartbeat {health.heartbeat_age:.0f} s ago" if health.heartbeat_age is not None else ""
        report.add("ok", "gateway", f"running (pid {pid if pid > 0 else '?'}), {health.state}{age}")
    else:
        report.add(
            "fail",
            "gateway",
            f"running (pid {pid}) but {health.state}: {health.detail}. Fix: {health.action}",
        )
    when = "" if pid is not None else " (recorded by the last run)"
    for key, problem in health.problems.items():
        report.add("fail" if pid is not None else "warn", "conversation", f"{key}: {problem}{when}")


async def check_installations(report: Report, pool: Any, stored: list[Any], *, timeout: float) -> None:
    if not stored:
        return
    # the inbox state is read with the node's API directly: opening an identity here could clash
    # with a running gateway that has it open
    worst = 0
    for item in stored:
        try:
            if await pool.inbox_state(item.inbox_id, timeout) is None:
                report.add(
                    "fail",
                    "node",
                    f"the node does not know inbox {item.inbox_id} ({item.id}): it lost its data "
                    "(restarted on an empty database?) or this is the wrong node. Fix: restore the "
                    "node's data or point env/apiUrl at the right node; else set up again "
                    "(`openclaw-convos configure`)",
                )
                continue
            count = await pool.installation_count(item.inbox_id, timeout)
        except ConvosError as exc:
            report.add("warn", "installations", f"inbox {short(item.inbox_id)}: not read ({exc})")
            continue
        worst = max(worst, count)
        level: Level = (
            "fail" if count >= MAX_INSTALLATIONS else "warn" if count >= WARN_INSTALLATIONS else "ok"
        )
        if level != "ok":
            report.add(
                level,
                "installations",
                f"inbox {item.inbox_id} ({item.id}) uses {count} of {MAX_INSTALLATIONS} installations"
                + ("; it cannot open on a new machine" if level == "fail" else "; keep its database safe"),
            )
    report.add(
        "ok" if worst < WARN_INSTALLATIONS else "warn",
        "installations",
        f"{len(stored)} inbox(es), at most {worst} of {MAX_INSTALLATIONS} installations each",
    )


async def cmd_doctor(args: argparse.Namespace) -> int:
    console = Console()
    report = Report()
    if not args.json:
        console.say("openclaw-convos doctor")
    try:
        loaded = load(args)
    except ConfigError as exc:
        report.add("fail", "config", str(exc))
        loaded = None
    if loaded is not None:
        if loaded.exists:
            report.add("ok", "config", f"{loaded.paths.config_path} is valid")
        else:
            report.add("warn", "config", f"{loaded.paths.config_path} does not exist yet (defaults apply)")
        progress = None if args.json else console.progress()
        try:
            await run_checks(report, loaded, timeout=args.timeout, progress=progress)
        finally:
            if progress is not None:
                progress.done()
        secret = loaded.convos.private_key is not None
        check_permissions(report, loaded.paths, config_has_secret=secret)
    else:
        # the config does not load: still check the files we can find
        check_permissions(report, resolve_state_paths(), config_has_secret=True)
    if args.json:
        console.json(
            {
                "ok": not report.failed,
                "checks": [{"level": c.level, "name": c.name, "detail": c.detail} for c in report.checks],
            }
        )
    else:
        for c in report.checks:
            console.say(f"  [{_SHOWN[c.level]}] {c.name:<13} {c.detail}")
        fails = sum(c.level == "fail" for c in report.checks)
        warns = sum(c.level == "warn" for c in report.checks)
        console.say()
        console.say(
            "No problems found." if not fails and not warns else f"{fails} problem(s), {warns} warning(s)."
        )
    return EXIT_ERROR if report.failed else EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="check config, node reachability, installations and file permissions (non-zero on problems)",
    )
    add_network_options(p)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the node (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_doctor)
