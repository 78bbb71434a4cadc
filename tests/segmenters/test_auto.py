"""auto: the first of numbered, headers, paragraphs, lines giving at least min_steps steps."""

from __future__ import annotations

import pytest

from srl_data.errors import ConfigError
from srl_data.segmenters import SEGMENTERS, get_segmenter


@pytest.mark.parametrize(
    "text, rule, count",
    [
        ("1. **A** x\n2. **B** y", "numbered", 2),
        ("Step 1: a\nStep 2: b\nStep 3: c", "headers", 3),
        ("A first paragraph long enough to be a step.\n\nA second paragraph long enough to be one.", "paragraphs", 2),
        ("short a\nshort b\nshort c", "lines", 3),
    ],
)
def test_first_rule_that_gives_enough_steps(segment, text, rule, count):
    result = segment(text, "auto", min_steps=2)
    assert result.rule == rule
    assert len(result.steps) == count
    assert result.notes["tried"][rule] == count


def test_numbered_is_preferred_over_lines_even_when_lines_give_more(segment):
    result = segment("1. **A** x\ny\nz\n2. **B** w", "auto")
    assert result.rule == "numbered" and len(result.steps) == 2


def test_min_steps_moves_on_to_the_next_rule(segment):
    text = "1. **A** x\n2. **B** y\nthird line\nfourth line"
    assert segment(text, "auto", min_steps=2).rule == "numbered"
    assert segment(text, "auto", min_steps=3).rule == "lines"


def test_when_nothing_gives_enough_the_best_is_returned_with_what_was_tried(segment):
    result = segment("one line", "auto", min_steps=2)
    assert len(result.steps) == 1
    assert result.notes["tried"] == {"numbered": 0, "headers": 0, "paragraphs": 1, "lines": 1}


def test_registry_and_unknown_segmenter():
    assert set(SEGMENTERS) >= {"auto", "numbered", "headers", "lines", "paragraphs"}
    with pytest.raises(ConfigError) as info:
        get_segmenter("sentences")
    assert str(info.value) == f"unknown segmenter 'sentences'. Choose one of: {', '.join(sorted(SEGMENTERS))}."
