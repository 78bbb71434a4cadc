"""``numbered``: top-level numbered steps (``1. **Title** body``, ``1. **Title:** body``,
``1. Title``), the form of DeepSeek-R1's final solutions in s1K-1.1.

Rules, as a careful reader would split:

- Steps are numbered consecutively from 1 at the indentation of step 1; an
  indented (nested) list never starts a step.
- A list restarted inside a step (``1.``, ``2.`` … again) is part of that step.
  When a line's number could both continue such a sub-list and start the next
  step, it continues the sub-list if it directly follows a sub-list item line,
  and starts the step otherwise (after a blank line or other text).
- A number inside display math or fenced code, or in mid-line, never starts a step.
- When step 1 carries a bold title, only lines with a bold title start a step.
- Text before step 1 is the preamble; text after the last step belongs to it.
"""

from __future__ import annotations

import re

from ..models import Solution, Step
from .base import Segmented, Segmenter, clean_block, register, scan_lines

# Optional heading marks or bold around the number: "### 1. …", "**1.** …", "**1. Title**".
_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:#{1,6}[ \t]+)?(?P<bold>\*\*)?(?P<num>\d{1,3})[.)](?:\*\*)?[ \t]+(?P<rest>\S.*)$")
_BOLD_TITLE = re.compile(r"^\*\*(?P<title>[^*\n]+?)\*\*(?P<after>.*)$")


def _split_title(rest: str, bold_number: bool) -> tuple[str | None, str, bool]:
    """(title, text after the title on the line, whether the title was bold)."""
    if bold_number and rest.endswith("**"):
        # "**1. Title**": the whole remainder is a bold title.
        return rest[:-2].strip().rstrip(":").strip() or None, "", True
    match = _BOLD_TITLE.match(rest)
    if match:
        title = match.group("title").strip().rstrip(":").strip()
        after = match.group("after")
        after = after[1:] if after.startswith(":") else after
        return title or None, after.strip(), True
    return None, rest, False


@register
class NumberedSegmenter(Segmenter):
    name = "numbered"

    def segment(self, solution: Solution) -> Segmented:
        text = solution.solution or ""
        preamble: list[str] = []
        steps: list[dict] = []  # {lines, title, first_rest}
        expected = 1
        indent: str | None = None
        bold_mode = False
        sublist = 0  # number of the last item of a list restarted inside a step
        previous_was_sublist = False
        for line in scan_lines(text):
            item = None if line.protected else _ITEM.match(line.text)
            starts_step = False
            if item is not None:
                number = int(item.group("num"))
                rest = item.group("rest")
                title, after, bold = _split_title(rest, item.group("bold") is not None)
                at_top = indent is None or item.group("indent") == indent
                if number == expected and at_top and (not bold_mode or bold):
                    # A running sub-list whose next number is this one keeps it,
                    # unless the item looks like a step (bold title in bold mode).
                    continues_sublist = sublist and number == sublist + 1 and previous_was_sublist
                    if not continues_sublist or (bold_mode and bold):
                        starts_step = True
                if starts_step:
                    if indent is None:
                        indent = item.group("indent")
                        bold_mode = bold
                    steps.append({"lines": [line.text], "title": title, "after": after, "bold": bold})
                    expected += 1
                    sublist = 0
                    previous_was_sublist = False
                    continue
                if steps and (number == 1 or number == sublist + 1):
                    sublist = number
                    previous_was_sublist = True
                    steps[-1]["lines"].append(line.text)
                    continue
            previous_was_sublist = False
            (steps[-1]["lines"] if steps else preamble).append(line.text)
        out = []
        for raw in steps:
            action = clean_block(raw["lines"])
            title = raw["title"]
            if title is not None:
                body = clean_block([raw["after"], *raw["lines"][1:]])
            else:
                # "1. Title" followed by more lines: the first line is a title.
                rest_lines = clean_block(raw["lines"][1:])
                first = raw["after"].strip()
                if rest_lines and len(first) <= 120:
                    title, body = first.rstrip(":").strip() or None, rest_lines
                else:
                    body = clean_block([raw["after"], *raw["lines"][1:]])
            out.append(Step(action=action, title=title, body=body or action))
        return Segmented(steps=out, rule=self.name, preamble=clean_block(preamble) or None)
