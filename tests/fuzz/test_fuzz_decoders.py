"""Hypothesis fuzzing of the peer-facing decoders (see :mod:`.targets` for what each target checks).

Two kinds of input per target: arbitrary bytes, and valid inputs (:func:`targets.seeds`) put
through a few random mutations (bit flips, interesting bytes, inserts, deletes, truncation,
duplication, splicing), which reach much deeper than random bytes. The long run is the atheris
harness (``python -m tests.fuzz.atheris_decoders``); this is the part every test run does.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_convos.convos import content as cc
from openclaw_convos.convos.encoded import encode_envelope

from . import targets

SEEDS = targets.seeds()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_TARGET = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INTERESTING = (0x00, 0x01, 0x1F, 0x2A, 0x3D, 0x78, 0x7F, 0x80, 0xFF)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup", "splice"]))
        if not data:
            op = "insert"
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255)))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[pos:]
        elif op == "dup":
            end = min(len(data), pos + draw(st.integers(1, 64)))
            data[pos:pos] = data[pos:end]
        else:
            other = draw(st.sampled_from(seeds))
            cut = draw(st.integers(0, len(other)))
            data[pos:] = other[cut:]
    return bytes(data)


def _check(name: str, data: bytes) -> None:
    targets.TARGETS[name](data)


@pytest.mark.parametrize("name", [n for n in targets.TARGETS if not n.startswith("invite")])
@FAST
@given(data=st.data())
def test_random_bytes(name: str, data: st.DataObject) -> None:
    _check(name, data.draw(st.binary(max_size=2048)))


@pytest.mark.parametrize("name", [n for n in targets.TARGETS if not n.startswith("invite")])
@FAST
@given(data=st.data())
def test_mutated_valid_inputs(name: str, data: st.DataObject) -> None:
    _check(name, data.draw(mutated(SEEDS[name])))


@pytest.mark.parametrize("name", ["invite", "invite_wire"])
@SLOW_TARGET
@given(data=st.data())
def test_invites_random_and_mutated(name: str, data: st.DataObject) -> None:
    _check(name, data.draw(st.one_of(st.binary(max_size=1200), mutated(SEEDS[name]))))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
CONVOS_TYPES = [
    cc.JOIN_REQUEST,
    cc.INVITE_JOIN_ERROR,
    cc.INVITE_JOIN_HANDLED,
    cc.TYPING_INDICATOR,
    cc.EXPLODE_SETTINGS,
]
KEYS = ["inviteSlug", "profile", "metadata", "errorType", "inviteTag", "timestamp", "reason"]
KEYS += ["handledMessageId", "isTyping", "expiresAt", "name", "imageURL", "memberKind"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CONVOS_TYPES),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
def test_json_bodies_of_convos_types(
    type_id: cc.ContentTypeId, body: dict[str, object], params: dict[str, str]
) -> None:
    """Well-formed envelopes whose JSON has the right keys with any values."""
    raw = encode_envelope(type_id, json.dumps(body).encode(), parameters=params)
    targets.content(raw)
    targets.wire_message(raw)


@pytest.mark.parametrize("depth", [50, 5_000, 200_000])
def test_deep_nesting_is_refused_not_crashing(depth: int) -> None:
    """Deep JSON and protobuf nesting end in our errors, not RecursionError or a stack overflow."""
    nested_json = ("[" * depth + "]" * depth).encode()
    for type_id in CONVOS_TYPES:
        targets.content(encode_envelope(type_id, nested_json))
        targets.content(encode_envelope(type_id, b'{"profile":' * depth + b"1" + b"}" * depth))
    # A length-delimited field 1 inside field 1 inside ...: nested sub-messages.
    blob = b""
    for _ in range(min(depth, 20_000)):
        blob = b"\x0a" + _varint(len(blob)) + blob
    for name in targets.TARGETS:
        _check(name, blob)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_every_seed_decodes() -> None:
    """The seeds are valid: the mutations start from inputs that get all the way through."""
    for slug in SEEDS["invite"]:
        assert targets.parse_invite(slug.decode())
    for raw in SEEDS["content"]:
        decoded = cc.decode_content(raw)
        assert decoded is not None
    for text in SEEDS["app_data"]:
        assert targets.metadata.decode_app_data(text.decode()).tag == targets.TAG
