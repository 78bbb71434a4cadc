"""``numbered``: top-level numbered steps (``1. **Title** body``, ``1. **Title:** body``,
``**1. Title**``, ``1. Title``), the form of DeepSeek-R1's final solutions in s1K-1.1.

Rules, as a careful reader would split:

- Steps are numbered consecutively from 1 at the indentation of step 1; an
  indented (nested) list never starts a step.
- A list restarted inside a step (``1.``, ``2.`` … again, at the steps'
  indentation) is part of that step. When a line's number could both continue
  such a sub-list and start the next step, it continues the sub-list if it
  directly follows a sub-list item (only indented lines between), or if a later
  line, before the next restarted list, carries the same number and could start
  the step; otherwise it starts the step.
- A number inside display math or fenced code, or in mid-line, never starts a step.
- When step 1 carries a bold title, only lines with a bold title start a step.
- The title is kept apart: a bold title, or (without bold) the first line of a
  step when it reads as a heading (short, not a sentence, more text below it)
  and every step but the last reads the same way.
- Text before step 1 is the preamble; text after the last step belongs to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import Solution, Step
from .base import Segmented, Segmenter, clean_block, register, scan_lines

# Optional heading marks or bold around the number: "### 1. …", "**1.** …", "**1. Title**".
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:#{1,6}[ \t]+)?(?P<bold>\*\*)?(?P<num>\d{1,3})[.)](?P<close>\*\*)?[ \t]+(?P<rest>\S.*)$"
)
# A bold title may hold single '*' (e.g. "$a*b$") but not "**".
_BOLD_TITLE = re.compile(r"^\*\*(?P<title>(?:[^*\n]|\*(?!\*))+?)\*\*(?P<after>.*)$")
# A plain first line reads as a heading when short and not a finished sentence.
_MAX_PLAIN_TITLE = 100
_SENTENCE_END = (".", "?", "!")


@dataclass(slots=True)
class _Item:
    indent: str
    number: int
    title: str | None
    after: str
    bold: bool


@dataclass
class _Raw:
    item: _Item
    lines: list[str] = field(default_factory=list)


def _clean_title(text: str) -> str | None:
    return text.strip().rstrip(":").strip() or None


def _split_title(rest: str, bold_number: bool, closed_number: bool) -> tuple[str | None, str, bool]:
    """(title, text after the title on the line, whether the title was bold)."""
    match = _BOLD_TITLE.match(rest)
    if match:
        after = match.group("after").strip()
        after = after[1:].strip() if after.startswith(":") else after
        return _clean_title(match.group("title")), after, True
    if bold_number and not closed_number and "**" in rest:
        # "**1. Title**" or "**1. Title:** body": bold runs from the number to the next "**".
        title, _, after = rest.partition("**")
        after = after.strip()
        after = after[1:].strip() if after.startswith(":") else after
        return _clean_title(title), after, True
    return None, rest, False


def _parse(text: str) -> _Item | None:
    if not text.lstrip(" \t#*")[:1].isdigit():
        return None  # cheap test first: most lines are not items
    match = _ITEM.match(text)
    if match is None:
        return None
    title, after, bold = _split_title(match.group("rest"), match.group("bold") is not None,
                                      match.group("close") is not None)
    return _Item(match.group("indent"), int(match.group("num")), title, after, bold)


@register
class NumberedSegmenter(Segmenter):
    name = "numbered"

    def segment(self, solution: Solution) -> Segmented:
        lines = list(scan_lines(solution.solution or ""))
        items = [None if line.protected else _parse(line.text) for line in lines]
        preamble: list[str] = []
        steps: list[_Raw] = []
        expected = 1
        indent: str | None = None
        bold_mode = False
        sublist = 0  # number of the last item of a list restarted inside the current step
        after_sublist = False  # the line before continues a sub-list item

        def later_step_line(start: int, number: int) -> bool:
            # Looks ahead up to the next restarted list (a "1." there belongs to another sub-list).
            for it in items[start:]:
                if it is None or it.indent != indent:
                    continue
                if it.number == 1:
                    return False
                if it.number == number and (it.bold or not bold_mode):
                    return True
            return False

        for index, (line, item) in enumerate(zip(lines, items)):
            at_top = item is not None and (indent is None or item.indent == indent)
            if item is not None and at_top:
                if item.number == expected and (item.bold or not bold_mode):
                    ambiguous = sublist and item.number == sublist + 1 and not (bold_mode and item.bold)
                    if not ambiguous or not (after_sublist or later_step_line(index + 1, item.number)):
                        if indent is None:
                            indent, bold_mode = item.indent, item.bold
                        steps.append(_Raw(item, [line.text]))
                        expected += 1
                        sublist, after_sublist = 0, False
                        continue
                if steps and item.number in (1, sublist + 1):
                    sublist, after_sublist = item.number, True
                    steps[-1].lines.append(line.text)
                    continue
            if after_sublist and not (line.text.strip() and line.text[:1] in (" ", "\t")):
                after_sublist = False
            (steps[-1].lines if steps else preamble).append(line.text)
        return Segmented(steps=_build_steps(steps), rule=self.name, preamble=clean_block(preamble) or None)


def _plain_title(raw: _Raw) -> str | None:
    """The step's first line as a title, when it reads as one and text follows."""
    first = raw.item.after.strip()
    if not clean_block(raw.lines[1:]) or len(first) > _MAX_PLAIN_TITLE or first.endswith(_SENTENCE_END):
        return None
    return _clean_title(first)


def _build_steps(raws: list[_Raw]) -> list[Step]:
    # Plain (non-bold) titles only when every step but the last reads as titled,
    # so a final-answer line after a one-line last step never makes it a title.
    plain_titles = (
        any(raw.item.title is None for raw in raws)
        and all(_plain_title(raw) for raw in raws[:-1])
        and (len(raws) > 1 or _plain_title(raws[0]) is not None)
    )
    out = []
    for raw in raws:
        action = clean_block(raw.lines)
        title = raw.item.title
        if title is not None:
            body = clean_block([raw.item.after, *raw.lines[1:]]) or title
        elif plain_titles and (title := _plain_title(raw)) is not None:
            body = clean_block(raw.lines[1:])
        else:
            body = clean_block([raw.item.after, *raw.lines[1:]])
        out.append(Step(action=action, title=title, body=body or action))
    return out
