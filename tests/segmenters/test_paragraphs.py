"""paragraphs: blank-line separated blocks, never split inside math, code or a list."""

from __future__ import annotations

LONG = "This paragraph is long enough to stand alone as a step."


def actions(result):
    return [s.action for s in result.steps]


def test_blank_lines_separate_steps(segment):
    result = segment(f"{LONG} One.\n\n{LONG} Two.\n\n\n{LONG} Three.", "paragraphs")
    assert actions(result) == [f"{LONG} One.", f"{LONG} Two.", f"{LONG} Three."]
    assert result.rule == "paragraphs"


def test_never_splits_inside_display_math(segment):
    math = "$$\na = b\n\nc = d\n$$"
    brackets = "\\[\nx\n\n= y + something long enough to exceed the limit\n\\]"
    result = segment(f"{LONG}\n\n{math}\n\n{LONG} Two.\n\n{brackets}", "paragraphs")
    # Short displays belong to the text that leads into them.
    assert actions(result) == [f"{LONG}\n\n{math}", f"{LONG} Two.", brackets]


def test_never_splits_inside_fenced_code(segment):
    code = "```python\nx = 1\n\ny = 2\n```"
    result = segment(f"{LONG}\n\n{code}\n\n{LONG} Two.", "paragraphs")
    assert actions(result) == [f"{LONG}\n\n{code}", f"{LONG} Two."]


def test_never_splits_a_list(segment):
    text = f"We consider the cases:\n\n1. the first case here\n\n2. the second case here\n\n{LONG}"
    result = segment(text, "paragraphs")
    assert actions(result) == [
        "We consider the cases:\n\n1. the first case here\n\n2. the second case here",
        LONG,
    ]


def test_short_fragments_join_their_neighbour(segment):
    result = segment(f"So:\n\n{LONG}\n\nDone.", "paragraphs")
    assert actions(result) == [f"So:\n\n{LONG}\n\nDone."]
    result = segment("Tiny.\n\nAlso tiny.", "paragraphs")
    assert actions(result) == ["Tiny.\n\nAlso tiny."]


def test_min_chars_option(segment):
    result = segment("Tiny.\n\nAlso tiny.", "paragraphs", min_chars=1)
    assert actions(result) == ["Tiny.", "Also tiny."]
