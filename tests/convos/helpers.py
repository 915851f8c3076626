"""Test data: the invite vectors made by the official convos-cli, and vector A."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors"

VECTOR_A_KEY = "0x" + "11" * 32
VECTOR_A_INBOX = "72ae337d9ffe3da0004de2e46bb1d7fe5f0773d0d7d64292f7c31a03ccd085d8"
VECTOR_A_CONVERSATION = "0123456789abcdef0123456789abcdef"
VECTOR_A_TAG = "AbCdEf1234"
VECTOR_A_SLUG = (
    "Cn0KPwF4adgmBY-qNU-mBwB87ApxDfESiU2vVJP5cwfgfwrZ0Sk4u-vYEEjj29sBDKbGmvUQV2qE4P6qJ1j3zKRtcBIgcq4zfZ_-"
    "PaAATeLka7HX_l8Hc9DX1kKS98MaA8zQhdgaCkFiQ2RFZjEyMzQiBFRlc3RIAFIE8J-lqxJBNcXy-iofNW_M8SGYK1Qf12hO3u1Z"
    "QJO-Dw36ZSSkg0FqMqHUGuKTqZ65VG7cl_PRXVKV_Uud9u3cUqn_bXJzEgE"
)
VECTOR_A_PUBLIC_KEY = bytes.fromhex(
    "044f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa"
    "385b6b1b8ead809ca67454d9683fcf2ba03456d6fe2c4abe2b07f0fbdbb2f1c1"
)


def load_vectors() -> list[dict[str, Any]]:
    """Every CLI vector, sorted by file name."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(VECTOR_DIR.glob("*.json"))]


def vector(name: str) -> dict[str, Any]:
    """One CLI vector by its name (e.g. ``invite-06-already-expired``)."""
    value: dict[str, Any] = json.loads((VECTOR_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return value


def vector_ids() -> list[str]:
    return [path.stem for path in sorted(VECTOR_DIR.glob("*.json"))]
