"""headers: 'Step 1:', '**Step 1:**', '## Step 1' styles."""

from __future__ import annotations

import pytest


def actions(result):
    return [s.action for s in result.steps]


@pytest.mark.parametrize(
    "first, second, title1, title2",
    [
        ("Step 1: Factor", "Step 2: Solve", "Factor", "Solve"),
        ("**Step 1:** Factor", "**Step 2:** Solve", "Factor", "Solve"),
        ("**Step 1: Factor**", "**Step 2: Solve**", "Factor", "Solve"),
        ("## Step 1", "## Step 2", None, None),
        ("### Step 1: Factor", "### Step 2 - Solve", "Factor", "Solve"),
        ("step 1. Factor", "STEP 2) Solve", "Factor", "Solve"),
    ],
)
def test_header_styles(segment, first, second, title1, title2):
    text = f"Intro.\n\n{first}\nbody one\n\n{second}\nbody two"
    result = segment(text, "headers")
    assert actions(result) == [f"{first}\nbody one", f"{second}\nbody two"]
    assert [s.title for s in result.steps] == [title1, title2]
    assert [s.body for s in result.steps] == ["body one", "body two"]
    assert result.preamble == "Intro."
    assert result.rule == "headers"


def test_a_header_line_alone_is_the_step_body_not_a_title(segment):
    result = segment("**Step 1:** Compute $3+4=7$.\n**Step 2:** So the answer is 7.", "headers")
    assert [s.title for s in result.steps] == [None, None]
    assert [s.body for s in result.steps] == ["Compute $3+4=7$.", "So the answer is 7."]


def test_headers_in_math_or_code_and_out_of_order_numbers_never_start_a_step(segment):
    text = "Step 1: A\n$$\nStep 2: inside math\n$$\n```\nStep 2: inside code\n```\nStep 3: skipped number\nStep 2: B"
    result = segment(text, "headers")
    assert actions(result) == [
        "Step 1: A\n$$\nStep 2: inside math\n$$\n```\nStep 2: inside code\n```\nStep 3: skipped number",
        "Step 2: B",
    ]


def test_trailing_text_belongs_to_the_last_step(segment):
    result = segment("Step 1: A\nx\nStep 2: B\ny\n\nThe answer is 3.", "headers")
    assert actions(result)[-1] == "Step 2: B\ny\n\nThe answer is 3."


def test_mid_line_step_mentions_are_not_headers(segment):
    assert segment("As in Step 1: nothing.\nSee Step 2: more.", "headers").steps == []
