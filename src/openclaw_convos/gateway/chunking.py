"""Split a long reply into messages of at most ``textChunkLimit`` characters (default 4000).

Boundaries, best first: a paragraph break, a line break, the end of a sentence, a space. A
boundary of a better kind wins if it keeps the chunk at least half full; otherwise the latest
boundary wins. A hard cut happens only in a window without any whitespace.

Fenced code blocks (```` ``` ```` or ``~~~``, CommonMark rules) are kept whole when a boundary
outside them exists in the window. When a block must be split (it alone is too long), the chunk
is cut at a line break inside the block, closed with the fence marker, and the next chunk
re-opens the block with its original opening line, so every chunk renders as valid markdown.

The whitespace at a boundary is dropped (indentation of the next line is kept); nothing else is
lost, no chunk is empty or whitespace only, and every chunk has at most ``limit`` characters
(Python characters, i.e. code points). ``mode="newline"`` (OpenClaw's ``chunkMode``) first
makes each paragraph its own message, then applies the length rules to long paragraphs.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["CHUNK_MODES", "DEFAULT_TEXT_CHUNK_LIMIT", "ChunkMode", "chunk_text"]

DEFAULT_TEXT_CHUNK_LIMIT = 4000
ChunkMode = Literal["length", "newline"]
CHUNK_MODES: tuple[ChunkMode, ...] = ("length", "newline")

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = ".!?\u2026\u3002\uff01\uff1f"
_CLOSERS = "\"')]}\u00bb\u201d\u2019"

_PARAGRAPH, _LINE, _SENTENCE, _WORD = range(4)


@dataclass(frozen=True, slots=True)
class _Fence:
    start: int  # start of the opening line
    body_start: int  # first index after the opening line
    close_start: int  # start of the closing line (len(text) when unclosed)
    end: int  # end of the closing line, without its newline (len(text) when unclosed)
    opener: str  # the opening line
    marker: str  # what closes it

    def contains(self, index: int) -> bool:
        """A cut at ``index`` would split this block."""
        return self.start < index < self.end


@dataclass(frozen=True, slots=True)
class _Piece:
    prefix: str
    start: int
    end: int
    suffix: str

    def render(self, text: str) -> str:
        return self.prefix + text[self.start : self.end] + self.suffix


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, ``end`` excluding the newline."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            if start < len(text):
                yield start, len(text)
            return
        yield start, end
        start = end + 1


def _scan_fences(text: str) -> list[_Fence]:
    fences: list[_Fence] = []
    current: tuple[int, int, str, str] | None = None  # start, body_start, opener, marker
    for start, end in _lines(text):
        line = text[start:end].rstrip("\r")
        if current is None:
            match = _FENCE_OPEN.match(line)
            if match is None or (match.group(2)[0] == "`" and "`" in match.group(3)):
                continue
            current = (start, min(end + 1, len(text)), line, match.group(2))
            continue
        marker = current[3]
        stripped = line.lstrip(" ")
        if (
            len(line) - len(stripped) <= 3
            and stripped.rstrip(" \t")
            and set(stripped.rstrip(" \t")) == {marker[0]}
            and len(stripped.rstrip(" \t")) >= len(marker)
        ):
            fences.append(_Fence(current[0], current[1], start, end, current[2], marker))
            current = None
    if current is not None:
        fences.append(_Fence(current[0], current[1], len(text), len(text), current[2], current[3]))
    return fences


class _Chunker:
    def __init__(self, text: str, limit: int) -> None:
        self.text = text
        self.limit = limit
        # A block can be split and re-opened only if its opening line, a character and the
        # closing marker fit in one chunk; longer openers are treated as plain text.
        self.fences = [f for f in _scan_fences(text) if len(f.opener) + len(f.marker) + 3 <= limit]
        self._starts = [f.start for f in self.fences]

    def fence_at(self, index: int) -> _Fence | None:
        i = bisect.bisect_left(self._starts, index) - 1
        if i >= 0 and self.fences[i].contains(index):
            return self.fences[i]
        return None

    def paragraph_regions(self) -> list[tuple[int, int]]:
        """Spans between blank lines that are outside code blocks."""
        regions: list[tuple[int, int]] = []
        start = 0
        for match in _WHITESPACE.finditer(self.text):
            if match.group().count("\n") >= 2 and self.fence_at(match.start()) is None:
                regions.append((start, match.start()))
                start = match.end()
        regions.append((start, len(self.text)))
        return regions

    def _skip_blank_lines(self, pos: int, end: int) -> int:
        match = _WHITESPACE.match(self.text, pos, end)
        if match is None:
            return pos
        newline = self.text.rfind("\n", pos, match.end())
        return match.end() if match.end() >= end else (newline + 1 if newline >= 0 else pos)

    def _kind(self, start: int, end: int) -> int:
        newlines = self.text.count("\n", start, end)
        if newlines >= 2:
            return _PARAGRAPH
        if newlines == 1:
            return _LINE
        before = self.text[max(0, start - 2) : start]
        if before[-1] in _SENTENCE_END or (
            len(before) == 2 and before[1] in _CLOSERS and before[0] in _SENTENCE_END
        ):
            return _SENTENCE
        return _WORD

    def _resume(self, start: int, end: int) -> int:
        newline = self.text.rfind("\n", start, end)
        return newline + 1 if newline >= 0 else end

    def pieces(self, region_start: int, region_end: int) -> Iterator[_Piece]:
        text = self.text
        tail = len(text[region_start:region_end].rstrip()) + region_start
        pos = region_start
        inside: _Fence | None = None  # the block the next chunk continues
        while True:
            if inside is None:
                pos = self._skip_blank_lines(pos, tail)
            if pos >= tail:
                return
            prefix = inside.opener + "\n" if inside else ""
            budget = self.limit - len(prefix)
            if tail - pos <= budget:
                yield _Piece(prefix, pos, tail, "")
                return
            cut, resume, fence = self._choose(pos, pos + budget, tail, prefix_fence=inside)
            if prefix or fence or text[pos:cut].strip():  # a hard cut can isolate whitespace
                yield _Piece(prefix, pos, cut, "\n" + fence.marker if fence else "")
            inside = fence
            pos = resume

    def _choose(
        self, pos: int, window_end: int, tail: int, *, prefix_fence: _Fence | None
    ) -> tuple[int, int, _Fence | None]:
        text = self.text
        min_fill = max(1, (window_end - pos) // 2)
        outside: list[list[tuple[int, int]]] = [[], [], [], []]
        inside_lines: list[tuple[int, int, _Fence]] = []
        inside_words: list[tuple[int, int, _Fence]] = []
        for match in _WHITESPACE.finditer(text, pos, min(tail, window_end + 1)):
            start = match.start()
            if start <= pos:
                continue
            end = match.end()
            while end < tail and text[end].isspace():
                end += 1
            kind = self._kind(start, end)
            resume = self._resume(start, end) if kind <= _LINE else end
            fence = self.fence_at(start)
            if fence is None:
                outside[kind].append((start, resume))
                continue
            if start + 1 + len(fence.marker) > window_end:
                continue  # no room left for the closing marker
            opened_here = fence.start >= pos
            if opened_here and not text[fence.body_start : start].strip():
                continue  # would leave an empty block behind
            if not text[resume : fence.close_start].strip():
                continue  # would re-open a block only to close it
            target = inside_lines if kind <= _LINE else inside_words
            target.append((start, resume, fence))
        for kind in (_PARAGRAPH, _LINE, _SENTENCE, _WORD):
            if outside[kind] and outside[kind][-1][0] - pos >= min_fill:
                start, resume = outside[kind][-1]
                return start, resume, None
        candidates = [c for group in outside for c in group]
        if candidates:
            start, resume = max(candidates)
            return start, resume, None
        for group in (inside_lines, inside_words):
            if group:
                return group[-1]
        return self._hard_cut(pos, window_end)

    def _hard_cut(self, pos: int, window_end: int) -> tuple[int, int, _Fence | None]:
        cut = window_end
        fence = self.fence_at(cut)
        if fence is None:
            return cut, cut, None
        if fence.start > pos and cut <= fence.body_start:
            return fence.start, fence.start, None  # do not cut through the opening line
        cut = min(window_end - 1 - len(fence.marker), fence.close_start)
        if cut <= max(pos, fence.body_start if fence.start >= pos else pos):
            return window_end, window_end, None  # degenerate; give up on fence repair
        return cut, cut, fence


def chunk_text(text: str, limit: int = DEFAULT_TEXT_CHUNK_LIMIT, *, mode: ChunkMode = "length") -> list[str]:
    """The chunks of ``text``, in order (see the module docstring); [] for blank text."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if mode not in CHUNK_MODES:
        raise ValueError(f"unknown chunk mode {mode!r}")
    if not text.strip():
        return []
    chunker = _Chunker(text, limit)
    regions = chunker.paragraph_regions() if mode == "newline" else [(0, len(text))]
    out: list[str] = []
    for start, end in regions:
        out.extend(piece.render(text) for piece in chunker.pieces(start, end))
    return out


def _chunk_pieces(text: str, limit: int) -> list[_Piece]:
    """The pieces behind :func:`chunk_text` (length mode); for tests."""
    if not text.strip():
        return []
    return list(_Chunker(text, limit).pieces(0, len(text)))
