"""Profile the gateway under echo load: ``python -m bench.profile [--conversations N] [--seconds S]``.

Runs the gateway (EchoAgent) of the echo benchmark under ``py-spy record`` (install it into the venv:
``.venv/bin/pip install py-spy``; it is not a project dependency) while N raw clients ping it in a
closed loop, then prints where the gateway process spent its samples: the top functions by own time
and by inclusive time, and the callers that reached libxmtp calls. The raw collapsed stacks are
kept in ``bench/out/profile-<N>.txt``. Needs localhost:5556 free (the devnode runs there).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RUST_LOG", "off")

from tests.interop.peer import file_lock, port_lock_path

from bench import echo
from bench.common import closed_loop, devnode_process, measure_round_trips, summary

HERE = Path(__file__).resolve().parent


def report(collapsed: Path, top: int = 25) -> None:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"\n{total} samples")
    ours = collections.Counter({f: c for f, c in inclusive.items() if "openclaw_convos" in f})
    for title, counter in (("own time", own), ("inclusive time", inclusive), ("inclusive, our code", ours)):
        print(f"\n-- top {top} by {title}")
        for frame, count in counter.most_common(top):
            print(f"{100 * count / max(total, 1):6.1f}%  {frame}")


async def drive(conversations: int, seconds: float, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="openclaw-profile-") as tmp:
        async with echo.gateway_world(Path(tmp), conversations, profile=out) as pingers:
            print("sequential:", summary(await measure_round_trips(pingers[0], 100)))
            rate, latencies = await closed_loop(pingers, seconds)
            print(f"closed loop x{conversations}: {rate:.1f} round trips/s", summary(latencies))
        # py-spy writes its file when the gateway process exits
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:  # noqa: ASYNC110 - a file, not an event
            await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    (HERE / "out").mkdir(exist_ok=True)
    out = HERE / "out" / f"profile-{args.conversations}.txt"
    out.unlink(missing_ok=True)
    echo.PROFILE_FORMAT = "raw"
    with file_lock(port_lock_path(), 600, "localhost:5556"), devnode_process():
        asyncio.run(drive(args.conversations, args.seconds, out))
    if out.exists():
        report(out)
    else:
        print("py-spy wrote no profile (is it installed in the venv?)")


if __name__ == "__main__":
    main()
