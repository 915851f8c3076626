#!/usr/bin/env python3
"""Regenerate the protobuf modules of every ``src/openclaw_convos/*/proto/*.proto``.

Writes ``<name>_pb2.py`` and ``<name>_pb2.pyi`` next to each ``.proto`` (or below ``--out``), using
the protoc bundled with the pinned grpcio-tools. The include root is ``src/``, so each file's
descriptor name is its path below ``src/`` (unique in the process-wide descriptor pool) and the
generated imports are absolute package imports (``from openclaw_convos.<part>.proto import x_pb2``).

Convention for ``.proto`` authors: import repository protos by their path below ``src/``, e.g.
``import "openclaw_convos/devnode/proto/signature.proto";``; well-known types as usual
(``import "google/protobuf/empty.proto";``). A bare ``import x_pb2`` line that protoc may still
emit (a proto placed directly in the include root) is rewritten to ``from . import x_pb2``.

Usage: ``scripts/gen_protos.py [--out DIR] [--check]``. ``--check`` regenerates into a temporary
folder and exits 1 when a committed file differs or is missing.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
PROTO_GLOB = "openclaw_convos/*/proto/*.proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi")
_BARE_IMPORT = re.compile(r"^import (\w+_pb2) as (\w+)$", re.MULTILINE)


def proto_files(src: Path = SRC) -> list[Path]:
    """Every project ``.proto`` below ``src``, sorted."""
    return sorted(src.glob(PROTO_GLOB))


def expected_outputs(src: Path = SRC) -> list[Path]:
    """Paths (relative to ``src``) of the generated files the protos produce."""
    outputs: list[Path] = []
    for proto in proto_files(src):
        rel = proto.relative_to(src)
        outputs.extend(rel.with_name(rel.stem + suffix) for suffix in GENERATED_SUFFIXES)
    return outputs


def _fix_imports(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fixed = _BARE_IMPORT.sub(r"from . import \1 as \2", text)
    if fixed != text:
        path.write_text(fixed, encoding="utf-8")


def generate(out: Path, src: Path = SRC) -> list[Path]:
    """Run protoc on every project proto, writing below ``out``; return the written files."""
    from grpc_tools import protoc  # dev dependency, imported only when generating

    protos = proto_files(src)
    if not protos:
        return []
    out.mkdir(parents=True, exist_ok=True)
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{src}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        *(str(p.relative_to(src)) for p in protos),
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    written = [out / rel for rel in expected_outputs(src)]
    for path in written:
        _fix_imports(path)
    return written


def check(src: Path = SRC) -> list[str]:
    """Regenerate into a temporary folder; return the committed files that differ or are missing."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), src)
        for rel in expected_outputs(src):
            committed = src / rel
            if not committed.exists():
                problems.append(f"missing: {rel}")
            elif not filecmp.cmp(committed, Path(tmp) / rel, shallow=False):
                problems.append(f"stale: {rel}")
    expected = set(expected_outputs(src))
    for suffix in GENERATED_SUFFIXES:
        for path in src.glob(f"openclaw_convos/*/proto/*{suffix}"):
            if path.relative_to(src) not in expected:
                problems.append(f"orphan (no .proto): {path.relative_to(src)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SRC, help="output root (default: src/)")
    parser.add_argument("--check", action="store_true", help="only compare with the committed files")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
