"""lines: one step per non-empty line; GSM8K final answers and calculator notes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st


def test_one_step_per_non_empty_line(segment):
    result = segment("  First line.  \n\nSecond line.\n   \nThird.", "lines")
    assert [s.action for s in result.steps] == ["First line.", "Second line.", "Third."]
    assert result.answer is None and result.rule == "lines"


def test_gsm8k_answer_line_and_calculator_notes(segment):
    text = "Half of 48 is 48/2 = <<48/2=24>>24.\nSo 24+48 = <<24+48=72>>72 clips.\n#### 72"
    result = segment(text, "lines", gsm8k=True)
    assert [s.action for s in result.steps] == ["Half of 48 is 48/2 = 24.", "So 24+48 = 72 clips."]
    assert result.answer == "72"


def test_without_gsm8k_the_answer_line_is_a_step_and_notes_stay(segment):
    text = "a = <<1+1=2>>2\n#### 2"
    result = segment(text, "lines")
    assert [s.action for s in result.steps] == ["a = <<1+1=2>>2", "#### 2"]


@given(st.lists(st.text(alphabet="abc 123+=.", min_size=1).filter(lambda s: s.strip()), min_size=1, max_size=12))
def test_property_lines_in_lines_out(lines):
    from srl_data.models import Solution
    from srl_data.segmenters import get_segmenter

    text = "\n".join(lines) + "\n#### 5"
    result = get_segmenter("lines", gsm8k=True).segment(Solution(id="t", problem="p", solution=text))
    assert [s.action for s in result.steps] == [line.strip() for line in lines]
    assert result.answer == "5"
