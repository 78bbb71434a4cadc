"""The leak guard: a goal must not hand over the action it asks for.

A pair leaks when, after whitespace normalisation (every run of whitespace
becomes one space, ends stripped; case is kept), either

- ``contains``: the goal text contains the target action as a substring, or
- ``near_identical``: the goal is nearly identical to the target, meaning
  ``difflib.SequenceMatcher(None, goal, target, autojunk=False).ratio()`` is at
  least :data:`NEAR_IDENTICAL` (0.9). The ratio is 2M/(|goal|+|target|), M the
  characters in matching blocks: the SRL reward's own similarity, so a goal
  that would earn >= 0.9 reward if copied out is refused.

The cheap upper bounds ``real_quick_ratio`` and ``quick_ratio`` are tried first;
the exact ratio is computed only when they cannot rule the pair out.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from ..text import normalize_ws

NEAR_IDENTICAL = 0.9

CONTAINS = "leak_contains_target"
NEAR = "leak_near_identical"


def similarity(goal: str, target: str) -> float:
    """The exact difflib ratio of the two normalised texts."""
    return SequenceMatcher(None, normalize_ws(goal), normalize_ws(target), autojunk=False).ratio()


def leak_reason(goal: str, target: str, threshold: float = NEAR_IDENTICAL) -> str | None:
    """Why ``goal`` leaks ``target`` (:data:`CONTAINS` or :data:`NEAR`), or None."""
    return normalized_leak_reason(normalize_ws(goal), normalize_ws(target), threshold)


def normalized_leak_reason(g: str, t: str, threshold: float = NEAR_IDENTICAL) -> str | None:
    """:func:`leak_reason` of texts already passed through ``normalize_ws``."""
    if t and t in g:
        return CONTAINS
    if 2 * min(len(g), len(t)) < threshold * (len(g) + len(t)):
        return None  # the lengths alone rule it out (difflib's real_quick_ratio)
    matcher = SequenceMatcher(None, g, t, autojunk=False)
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return None
    return NEAR if matcher.ratio() >= threshold else None
