"""The committed ``_pb2`` modules equal a fresh generation from the ``.proto`` files."""

from __future__ import annotations

import filecmp
import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _gen_protos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protos", REPO / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_generated_code_is_current(tmp_path: Path) -> None:
    gen = _gen_protos()
    src = REPO / "src"
    written = gen.generate(tmp_path, src)
    assert written, "no .proto files found"
    stale = [
        str(rel)
        for rel in gen.expected_outputs(src)
        if not (src / rel).exists() or not filecmp.cmp(src / rel, tmp_path / rel, shallow=False)
    ]
    assert not stale, f"regenerate with scripts/gen_protos.py: {stale}"


def test_no_orphan_generated_files() -> None:
    gen = _gen_protos()
    src = REPO / "src"
    expected = set(gen.expected_outputs(src))
    generated = {p.relative_to(src) for p in src.glob("openclaw_convos/*/proto/*_pb2.py*")}
    assert generated <= expected, f"generated files without a .proto: {sorted(generated - expected)}"


def test_every_proto_folder_is_a_package() -> None:
    gen = _gen_protos()
    for proto in gen.proto_files(REPO / "src"):
        assert (proto.parent / "__init__.py").exists(), f"{proto.parent} needs an __init__.py"
