"""Coverage-guided fuzzing (atheris = libFuzzer for Python) of the peer-facing decoders.

Not part of the test run. One command, from the repository root::

    .venv/bin/pip install atheris                      # if it is not installed yet
    .venv/bin/python -m tests.fuzz.atheris_decoders    # 1,000,000 inputs over all targets
    .venv/bin/python -m tests.fuzz.atheris_decoders -runs=20000 -seed=1   # any libFuzzer flags

The targets are those of :mod:`tests.fuzz.targets` (invites, slugs and framing, appData,
content, the gateway's normaliser); the first byte of each input picks one. The corpus starts
from the targets' valid seeds, in a temporary folder that is removed afterwards. Any exception
that is not a ``ConvosError`` (or a failed property check) stops the run: libFuzzer prints the
traceback, the input is saved as ``fuzz-crash-*`` in the current folder, and the exit status is
non-zero. The last line says how many inputs ran and the result.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_RUNS = 1_000_000
CHILD = "--child"


def _child(argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["openclaw_convos"]):
        from tests.fuzz import targets

    names = list(targets.TARGETS)

    def test_one_input(data: bytes) -> None:
        if data:
            targets.TARGETS[names[data[0] % len(names)]](data[1:])

    atheris.Setup([sys.argv[0], *argv], test_one_input)
    atheris.Fuzz()


def _write_seeds(corpus: Path) -> int:
    from tests.fuzz import targets

    names = list(targets.TARGETS)
    count = 0
    for name, seeds in targets.seeds().items():
        for seed in seeds:
            (corpus / f"seed-{count:03d}").write_bytes(bytes([names.index(name)]) + seed)
            count += 1
    return count


def main(argv: list[str]) -> int:
    if argv[:1] == [CHILD]:
        _child(argv[1:])
        return 0
    flags = list(argv)
    if not any(flag.startswith("-runs=") for flag in flags):
        flags.append(f"-runs={DEFAULT_RUNS}")
    flags += ["-max_len=8192", "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"]
    flags.append("-artifact_prefix=fuzz-crash-")
    with tempfile.TemporaryDirectory(prefix="convos-fuzz-") as folder:
        corpus = Path(folder)
        seeds = _write_seeds(corpus)
        print(f"atheris: {seeds} seeds, flags {' '.join(flags)}", flush=True)
        started = time.monotonic()
        env = dict(os.environ, RUST_LOG="off")
        proc = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.atheris_decoders", CHILD, *flags, str(corpus)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
        found = len(list(corpus.iterdir()))
    tail = proc.stdout.strip().splitlines()
    print("\n".join(tail[-40:]))
    done = re.search(r"Done (\d+) runs in (\d+) second", proc.stdout)
    runs = int(done.group(1)) if done else None
    result = "no failures" if proc.returncode == 0 and runs else f"FAILED (exit {proc.returncode})"
    print(
        f"atheris: {runs if runs is not None else '?'} inputs in {elapsed:.0f}s, corpus grew to "
        f"{found} inputs, result: {result}",
        flush=True,
    )
    return 0 if proc.returncode == 0 and runs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
