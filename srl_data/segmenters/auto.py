"""``auto``: the first of numbered, headers, paragraphs, lines that gives at
least ``min_steps`` steps. The rule that split the solution is recorded."""

from __future__ import annotations

from ..models import Solution
from .base import SEGMENTERS, Segmented, Segmenter, register

ORDER = ("numbered", "headers", "paragraphs", "lines")


@register
class AutoSegmenter(Segmenter):
    name = "auto"

    def segment(self, solution: Solution) -> Segmented:
        min_steps = int(self.options.get("min_steps", 2))
        tried: dict[str, int] = {}
        best: Segmented | None = None
        for name in ORDER:
            result = SEGMENTERS[name](**self.options).segment(solution)
            tried[name] = len(result.steps)
            if len(result.steps) >= min_steps:
                result.notes["tried"] = tried
                return result
            if best is None or len(result.steps) > len(best.steps):
                best = result
        assert best is not None
        best.notes["tried"] = tried
        return best
