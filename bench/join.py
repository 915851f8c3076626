"""(f) join latency, paste to joined: our ``configure --invite`` flow against ``convos conversations join``.

The same creator (a simulated Convos user in this process, approving requests as the iOS app does)
serves both joiners; each join starts from nothing (a new identity), as a real first paste does.
Runs alternate between the two sides.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from tests.interop.peer import CliInstall, CliUser

from bench.common import Figure, Results, pool
from openclaw_convos.gateway.config import load_config
from openclaw_convos.gateway.service import configure_with_invite
from openclaw_convos.joinflow.joiner import JoinStatus
from openclaw_convos.simuser import SimulatedUser


async def ours_once(root: Path, slug: str) -> float:
    state = root / "state"
    state.mkdir(parents=True)
    (state / "openclaw.json").write_text(json.dumps({"channels": {"convos": {"env": "local"}}}))
    loaded = load_config(
        environ={"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json")},
        home=root,
    )
    started = time.perf_counter()
    result = await configure_with_invite(loaded, slug, timeout=60)
    seconds = time.perf_counter() - started
    assert result.join.status is JoinStatus.JOINED, result.join.message
    return seconds


async def cli_once(install: CliInstall, root: Path, slug: str) -> float:
    user = CliUser(install, root, "Joiner")
    started = time.perf_counter()
    joined = await user.json(
        "conversations", "join", slug, "--profile-name", "Joiner", "--timeout", "60", timeout=90
    )
    seconds = time.perf_counter() - started
    assert joined["status"] == "joined", joined
    return seconds


async def run(results: Results, root: Path, install: CliInstall | None, rounds: int) -> dict[str, Any]:
    creator = await SimulatedUser.create("Carol", pool(), root / "creator")
    await creator.start()
    try:
        room = await creator.create_conversation("Join bench")
        slug = creator.invite(room)
        ours: list[float] = []
        peer: list[float] = []
        for i in range(rounds):
            ours.append(await ours_once(root / f"ours{i}", slug))
            if install is not None:
                peer.append(await cli_once(install, root / f"cli{i}", slug))
    finally:
        await creator.stop()
    median_peer = statistics.median(peer) if peer else float("nan")
    results.add(
        Figure(
            "f",
            "join latency, paste to joined (median)",
            statistics.median(ours) * 1000,
            median_peer * 1000,
            "ms",
            "convos conversations join",
            note=f"{rounds} joins each, new identity every time",
        )
    )
    return {"ours": ours, "peer": peer}
