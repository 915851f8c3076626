"""(e) invite decode + verify per second: ours against the convos-cli's own code under Node.

Both sides get the same 64 signed invites (made by our creator code, which the interop suite shows
the CLI accepts) and do what a joiner does with a pasted invite: decode the slug, recover the signer
from the signature, check the expiry.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.interop.peer import CliInstall

from bench.common import Figure, Results
from openclaw_convos.convos.invites import create_invite, parse_invite, verify_invite
from openclaw_convos.convos.tags import new_invite_tag

HERE = Path(__file__).resolve().parent


def make_slugs(count: int = 64) -> list[str]:
    slugs = []
    for i in range(count):
        slugs.append(
            create_invite(
                os.urandom(32),
                secrets.token_hex(32),
                secrets.token_hex(16),
                new_invite_tag(),
                name=f"Room {i}",
                description="A benchmark conversation" if i % 2 else None,
                emoji="🦞",
                expires_at=datetime.now(UTC) + timedelta(days=1) if i % 3 == 0 else None,
            )
        )
    return slugs


def ours_per_second(slugs: list[str], seconds: float) -> float:
    def once(slug: str) -> None:
        verify_invite(parse_invite(slug), datetime.now(UTC))

    for slug in slugs:
        once(slug)
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for slug in slugs:
            once(slug)
        count += len(slugs)
    return count / (time.perf_counter() - started)


async def node_per_second(install: CliInstall, slug_file: Path, seconds: float) -> float:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(slug_file.parent)}
    script = HERE / "invite_bench.mjs"
    package = (
        str(install.package_dir) if install.route == "host" else "/opt/convos/node_modules/@xmtp/convos-cli"
    )
    argv = install.node_argv(
        [str(script), package, str(slug_file), str(seconds)], env, (HERE, slug_file.parent)
    )
    proc = await asyncio.create_subprocess_exec(
        *argv, env=install.process_env(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"node invite benchmark failed: {err.decode()[-1500:]}")
    return float(json.loads(out.decode().strip().splitlines()[-1])["perSecond"])


async def run(results: Results, root: Path, install: CliInstall | None, seconds: float) -> dict[str, Any]:
    slugs = make_slugs()
    slug_file = root / "invites" / "slugs.txt"
    slug_file.parent.mkdir(parents=True, exist_ok=True)
    slug_file.write_text("\n".join(slugs) + "\n")
    ours = ours_per_second(slugs, seconds)
    peer = await node_per_second(install, slug_file, seconds) if install is not None else float("nan")
    results.add(
        Figure(
            "e",
            "invite decode + verify",
            ours,
            peer,
            "ops/s",
            "convos-cli code (node)",
            higher_is_better=True,
            note="parse + signature recovery + expiry, 64 invites, single thread",
        )
    )
    return {"ours": ours, "peer": peer}
