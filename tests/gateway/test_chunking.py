"""Reply chunking: boundaries, fenced code blocks, and properties over generated text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_convos.gateway.chunking import DEFAULT_TEXT_CHUNK_LIMIT, _chunk_pieces, chunk_text

FENCE_LINE = re.compile(r"^ {0,3}```")


def squash(text: str) -> str:
    return "".join(text.split())


def without_fence_lines(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not FENCE_LINE.match(line))


# -- examples ------------------------------------------------------------------------------------


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("hello") == ["hello"]
    assert chunk_text("x" * DEFAULT_TEXT_CHUNK_LIMIT) == ["x" * DEFAULT_TEXT_CHUNK_LIMIT]
    assert len(chunk_text("x " * DEFAULT_TEXT_CHUNK_LIMIT)) == 2


@pytest.mark.parametrize("blank", ["", " ", "\n\n", " \t\n "])
def test_blank_text_gives_no_chunks(blank: str) -> None:
    assert chunk_text(blank) == []


def test_trailing_and_leading_blank_lines_are_dropped() -> None:
    assert chunk_text("\n\n  indented\nnext\n\n\n") == ["  indented\nnext"]


def test_prefers_paragraph_break() -> None:
    first = "First paragraph line one.\nline two of it."
    second = "Second paragraph. It goes on a bit."
    assert chunk_text(f"{first}\n\n{second}", 60) == [first, second]


def test_prefers_line_break_over_sentence() -> None:
    text = "aaaa bbbb cccc dddd. eeee\nffff gggg hhhh iiii jjjj kkkk"
    assert chunk_text(text, 40) == ["aaaa bbbb cccc dddd. eeee", "ffff gggg hhhh iiii jjjj kkkk"]


def test_prefers_sentence_end_over_word() -> None:
    text = "One two three four five. Six seven eight nine ten eleven twelve"
    assert chunk_text(text, 40) == ["One two three four five.", "Six seven eight nine ten eleven twelve"]


def test_sentence_end_inside_quotes() -> None:
    text = 'He said that "we should stop it." Then he left and did not come back'
    assert chunk_text(text, 45)[0] == 'He said that "we should stop it."'


def test_a_better_boundary_too_early_loses_to_filling_the_chunk() -> None:
    text = "short\n\n" + " ".join(["word"] * 30)
    chunks = chunk_text(text, 60)
    assert chunks[0].startswith("short\n\nword")
    assert all(len(c) <= 60 for c in chunks)


def test_word_break_then_hard_cut() -> None:
    assert chunk_text("alpha beta gamma", 11) == ["alpha beta", "gamma"]
    assert chunk_text("abcdefghijklmnopqrstuvwxyz", 10) == ["abcdefghij", "klmnopqrst", "uvwxyz"]


def test_indentation_of_the_next_line_is_kept() -> None:
    text = "def f():\n    return 1\n    # end of body"
    assert chunk_text(text, 25) == ["def f():\n    return 1", "    # end of body"]


def test_code_block_kept_whole_when_possible() -> None:
    code = "```python\nprint(1)\nprint(2)\n```"
    text = "Intro text here.\n\n" + code + "\n\nOutro."
    assert chunk_text(text, len(code) + 10) == ["Intro text here.", code + "\n\nOutro."]


def test_code_block_moves_to_the_next_chunk_rather_than_split() -> None:
    prose = "word " * 12
    code = "```\n" + "\n".join(f"line {i}" for i in range(5)) + "\n```"
    chunks = chunk_text(prose.strip() + "\n" + code, 70)
    assert chunks == [prose.strip(), code]


def test_long_code_block_is_closed_and_reopened() -> None:
    body = [f"value_{i} = {i} * 2" for i in range(40)]
    text = "```python\n" + "\n".join(body) + "\n```"
    chunks = chunk_text(text, 120)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 120
        assert chunk.startswith("```python\n")
        assert chunk.endswith("\n```")
    lines = [line for chunk in chunks for line in chunk.split("\n") if not line.startswith("```")]
    assert lines == body


def test_tilde_fence_and_longer_marker() -> None:
    body = "\n".join(f"~ row {i} ~" for i in range(30))
    text = "~~~~text\n" + body + "\n~~~~"
    chunks = chunk_text(text, 80)
    assert all(c.startswith("~~~~text\n") and c.endswith("\n~~~~") for c in chunks)


def test_unclosed_fence_stays_unclosed_at_the_end() -> None:
    text = "```\n" + "\n".join(f"line {i}" for i in range(30))
    chunks = chunk_text(text, 60)
    assert all(c.startswith("```\n") for c in chunks)
    assert all(c.endswith("\n```") for c in chunks[:-1])
    assert not chunks[-1].endswith("```")


def test_no_empty_block_when_the_split_falls_before_the_closer() -> None:
    text = "```\n" + "x" * 50 + "\n" + "y" * 50 + "\n```"
    chunks = chunk_text(text, 64)
    assert chunks == ["```\n" + "x" * 50 + "\n```", "```\n" + "y" * 50 + "\n```"]


def test_newline_mode_sends_paragraphs_separately() -> None:
    text = "one\n\ntwo\nstill two\n\n```\na\n\nb\n```"
    assert chunk_text(text, 100, mode="newline") == ["one", "two\nstill two", "```\na\n\nb\n```"]
    assert chunk_text(text, 100) == [text]


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        chunk_text("x", 0)
    with pytest.raises(ValueError):
        chunk_text("x", 10, mode="words")  # type: ignore[arg-type]


def test_long_text_performance_is_linear_enough() -> None:
    text = ("A sentence with some words. " * 40 + "\n\n") * 200  # ~230 kB
    chunks = chunk_text(text)
    assert all(len(c) <= DEFAULT_TEXT_CHUNK_LIMIT for c in chunks)
    assert squash("".join(chunks)) == squash(text)


# -- properties ----------------------------------------------------------------------------------

words = st.text(alphabet="abcdefghij.!?,'\"()", min_size=1, max_size=30)
separators = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  ", "\t", "\n \n", ". ", "\r\n"])
prose = st.lists(st.tuples(words, separators), max_size=60).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@st.composite
def markdown(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            blocks.append(draw(prose))
        else:
            lang = draw(st.sampled_from(["", "python", "js", "sh"]))
            body = draw(st.lists(prose.map(lambda s: s.replace("\n", " ")), max_size=12))
            blocks.append("```" + lang + "\n" + "\n".join(body) + "\n```")
    return "\n".join(blocks)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), limit=st.integers(1, 120))
def test_any_text_chunks_within_limit_and_keep_content(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert all(c.strip() for c in chunks)
    if "```" not in text and "~~~" not in text:
        assert squash("".join(chunks)) == squash(text)


@settings(max_examples=300, deadline=None)
@given(text=prose, limit=st.integers(10, 200))
def test_prose_boundaries_lose_only_whitespace(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert squash("".join(chunks)) == squash(text)
    assert all(c == c.rstrip() for c in chunks)


@settings(max_examples=300, deadline=None)
@given(text=markdown(), limit=st.integers(20, 300))
def test_markdown_chunks_have_balanced_fences(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    for chunk in chunks:
        fences = [line for line in chunk.split("\n") if FENCE_LINE.match(line)]
        assert len(fences) % 2 == 0, chunk
    assert squash(without_fence_lines("\n".join(chunks))) == squash(without_fence_lines(text))


@settings(max_examples=300, deadline=None)
@given(text=markdown(), limit=st.integers(20, 300))
def test_pieces_cover_the_text_in_order(text: str, limit: int) -> None:
    pieces = _chunk_pieces(text, limit)
    position = 0
    for piece in pieces:
        assert text[position : piece.start].strip() == ""  # only whitespace is skipped
        assert piece.start < piece.end
        assert not piece.prefix or FENCE_LINE.match(piece.prefix)
        assert not piece.suffix or FENCE_LINE.match(piece.suffix.lstrip("\n"))
        position = piece.end
    assert text[position:].strip() == ""


@settings(max_examples=200, deadline=None)
@given(text=markdown(), limit=st.integers(20, 300))
def test_newline_mode_keeps_content(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit, mode="newline")
    assert all(0 < len(c) <= limit for c in chunks)
    assert squash(without_fence_lines("\n".join(chunks))) == squash(without_fence_lines(text))
