"""``lines``: one step per non-empty line (GSM8K, PRM800K).

With ``gsm8k=True`` (on with ``--preset gsm8k``) a ``#### N`` line is the final
answer, not a step, and calculator notes such as ``<<48/2=24>>`` are removed.
"""

from __future__ import annotations

import re

from ..models import Solution, Step
from .base import Segmented, Segmenter, register

_FINAL = re.compile(r"^\s*####\s*(?P<answer>.*?)\s*$")
_CALCULATOR = re.compile(r"<<[^<>\n]*>>")


@register
class LinesSegmenter(Segmenter):
    name = "lines"

    def segment(self, solution: Solution) -> Segmented:
        gsm8k = bool(self.options.get("gsm8k", False))
        answer = None
        steps = []
        for line in (solution.solution or "").split("\n"):
            if gsm8k:
                final = _FINAL.match(line)
                if final:
                    answer = final.group("answer") or None
                    continue
                line = _CALCULATOR.sub("", line)
            text = line.strip()
            if text:
                steps.append(Step(action=text, body=text))
        return Segmented(steps=steps, rule=self.name, answer=answer)
