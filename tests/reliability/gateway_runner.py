"""Run one gateway in this process until SIGTERM, for tests that must SIGKILL it or limit it.

    python tests/reliability/gateway_runner.py --url http://127.0.0.1:PORT --state-dir DIR \
        --config DIR/openclaw.json --out OUTDIR [--agent-delay 0.05] [--fsize-limit BYTES] \
        [--owner-notice-interval S]

It loads the config as the CLI does, opens the gateway with :func:`open_gateway` against the
devnode at ``--url`` and an echo-like agent that answers ``echo: <text>``, then prints one line
``READY <status json>`` to stdout. Every agent turn is appended to ``OUTDIR/turns.jsonl`` (one
``write`` per line: a SIGKILL never leaves half a line), and ``OUTDIR/status.json`` is rewritten
every ``--status-every`` seconds with ``gateway.status()``, the pending pairing requests and the
process's memory (``VmRSS``/``VmHWM`` in KiB). A start failure prints ``error: <message>`` to
stderr and exits 1, as the CLI does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RUST_LOG", "off")

from openclaw_convos.agents import AgentReply, AgentTurn
from openclaw_convos.errors import ConvosError
from openclaw_convos.gateway.config import load_config
from openclaw_convos.gateway.service import open_gateway
from openclaw_convos.xmtp import Endpoint

ECHO_PREFIX = "echo: "


class RecordingEcho:
    """Answers ``echo: <text>``; records each turn before answering (so re-runs show up)."""

    name = "recording-echo"

    def __init__(self, log_path: Path, delay: float) -> None:
        self._fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._delay = delay

    async def respond(self, turn: AgentTurn) -> AgentReply:
        line = json.dumps(
            {
                "pid": os.getpid(),
                "at": time.time(),
                "conversation_id": turn.conversation_id,
                "sender": turn.sender_inbox_id,
                "message_id": turn.message_id,
                "text": turn.text,
            }
        )
        os.write(self._fd, (line + "\n").encode())
        if self._delay:
            await asyncio.sleep(self._delay)
        if turn.reaction is not None or not turn.text.strip():
            return AgentReply()
        return AgentReply(text=ECHO_PREFIX + turn.text)

    async def aclose(self) -> None:
        os.close(self._fd)


def memory_kib() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of this process, in KiB (Linux)."""
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


async def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    environ = {"OPENCLAW_STATE_DIR": args.state_dir, "OPENCLAW_CONFIG_PATH": args.config}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    overrides: dict[str, object] = {"endpoint": Endpoint(args.url)}
    if args.owner_notice_interval is not None:
        overrides["owner_notice_interval"] = args.owner_notice_interval
    agent = RecordingEcho(out / "turns.jsonl", args.agent_delay)
    try:
        gateway = open_gateway(load_config(environ=environ), agent, **overrides)
        await gateway.start()
    except ConvosError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        status = await gateway.status()
        print("READY " + json.dumps(status), flush=True)
        while not stop.is_set():
            status = await gateway.status()
            status["pending_pairing"] = len(await gateway.pairing.read_pending())  # read-only, no lock
            status["memory_kib"] = memory_kib()
            status["lanes"], status["queued"] = gateway.pipeline.load()
            status["pid"] = os.getpid()
            with contextlib.suppress(OSError, ConvosError):  # the status file is ours, not the gateway's
                _write_json(out / "status.json", status)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.status_every)
    finally:
        await gateway.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--agent-delay", type=float, default=0.0)
    parser.add_argument("--status-every", type=float, default=0.5)
    parser.add_argument("--owner-notice-interval", type=float, default=None)
    parser.add_argument("--fsize-limit", type=int, default=None, help="RLIMIT_FSIZE in bytes")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.fsize_limit is not None:
        # A full disk, simulated: writes past the limit fail with EFBIG instead of killing us.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
