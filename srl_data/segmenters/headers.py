"""``headers``: steps introduced by a header line: ``Step 1:``, ``**Step 1:**``,
``## Step 1``, ``### Step 1: Title``, ``**Step 1. Title**``.

Steps are numbered consecutively from 1; a header inside display math or fenced
code never starts a step. Text on the header line after the number is the
title, unless nothing follows the header (then that text is the step's body).
Text before step 1 is the preamble; text after the last step belongs to it.
"""

from __future__ import annotations

import re

from ..models import Solution, Step
from .base import Segmented, Segmenter, clean_block, register, scan_lines

_HEADER = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*Step[ \t]+(?P<num>\d{1,3})[ \t]*[:.)\-]?[ \t]*(?:\*\*|__)?"
    r"[ \t]*[:.\-]?[ \t]*(?P<title>.*?)[ \t]*(?:\*\*|__)?[ \t]*$",
    re.IGNORECASE,
)


@register
class HeadersSegmenter(Segmenter):
    name = "headers"

    def segment(self, solution: Solution) -> Segmented:
        preamble: list[str] = []
        steps: list[dict] = []
        expected = 1
        for line in scan_lines(solution.solution or ""):
            match = None if line.protected else _HEADER.match(line.text)
            if match is not None and int(match.group("num")) == expected:
                title = match.group("title").strip().strip("*_").strip().rstrip(":").strip()
                steps.append({"lines": [line.text], "title": title or None})
                expected += 1
                continue
            (steps[-1]["lines"] if steps else preamble).append(line.text)
        out = []
        for raw in steps:
            body = clean_block(raw["lines"][1:])
            action = clean_block(raw["lines"])
            title = raw["title"]
            if not body and title:
                # "Step 2: x = 3." alone on its line: the text is the step, not a title.
                title, body = None, title
            out.append(Step(action=action, title=title, body=body or action))
        return Segmented(steps=out, rule=self.name, preamble=clean_block(preamble) or None)
