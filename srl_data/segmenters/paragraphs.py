"""``paragraphs``: blank-line separated blocks.

Never splits inside ``$$…$$``, ``\\[…\\]``, fenced code, or a list (list items
separated by blank lines stay together, and a paragraph that introduces a list
with a colon keeps it). Fragments shorter than ``min_chars`` (default 30)
join the next paragraph (the previous one at the end, and for a short display
of math or code, the text that leads into it).
"""

from __future__ import annotations

import re

from ..models import Solution, Step
from .base import Segmented, Segmenter, register, scan_lines

_DISPLAY_OPENERS = ("$$", "\\[", "```", "~~~")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


@register
class ParagraphsSegmenter(Segmenter):
    name = "paragraphs"

    def segment(self, solution: Solution) -> Segmented:
        min_chars = int(self.options.get("min_chars", 30))
        blocks: list[list[str]] = [[]]
        for line in scan_lines(solution.solution or ""):
            if not line.text.strip() and not line.protected:
                if blocks[-1]:
                    blocks.append([])
                continue
            current = blocks[-1]
            if not current and len(blocks) > 1 and _continues_list(blocks[-2], line.text):
                blocks.pop()
                blocks[-1].append("")
                current = blocks[-1]
            current.append(line.text)
        paragraphs = ["\n".join(b).strip() for b in blocks if "\n".join(b).strip()]
        merged: list[str] = []
        carry = ""
        for text in paragraphs:
            if merged and not carry and len(text) < min_chars and text.startswith(_DISPLAY_OPENERS):
                # A short display (math or code) belongs to the text that leads into it.
                merged[-1] = f"{merged[-1]}\n\n{text}"
                continue
            text = f"{carry}\n\n{text}" if carry else text
            carry = ""
            if len(text) < min_chars:
                carry = text
                continue
            merged.append(text)
        if carry:
            if merged:
                merged[-1] = f"{merged[-1]}\n\n{carry}"
            else:
                merged.append(carry)
        steps = [Step(action=p, body=p) for p in merged]
        return Segmented(steps=steps, rule=self.name)


def _continues_list(previous: list[str], line: str) -> bool:
    """A list item after a blank line continues a list (or a 'colon' lead-in)."""
    if not _LIST_ITEM.match(line):
        return False
    last = next((text for text in reversed(previous) if text.strip()), "")
    return bool(_LIST_ITEM.match(last)) or last.rstrip().endswith(":") or last.startswith((" ", "\t"))
