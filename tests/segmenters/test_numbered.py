"""numbered: tricky solutions split exactly where a careful reader would."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srl_data.models import Solution
from srl_data.presets import FieldMap
from srl_data.readers import Row, to_solution
from srl_data.segmenters import get_segmenter


def actions(result):
    return [s.action for s in result.steps]


def titles(result):
    return [s.title for s in result.steps]


def bodies(result):
    return [s.body for s in result.steps]


def test_bold_titles_with_body_on_the_same_line(segment):
    result = segment("1. **Factor** We have $x^2-1=(x-1)(x+1)$.\n\n2. **Solve** So $x=\\pm1$.")
    assert actions(result) == ["1. **Factor** We have $x^2-1=(x-1)(x+1)$.", "2. **Solve** So $x=\\pm1$."]
    assert titles(result) == ["Factor", "Solve"]
    assert bodies(result) == ["We have $x^2-1=(x-1)(x+1)$.", "So $x=\\pm1$."]
    assert result.rule == "numbered" and result.preamble is None


def test_bold_title_with_colon_inside_or_outside(segment):
    result = segment("1. **Set up:** Let $a=1$.\n2. **Solve**: Then $b=2$.")
    assert titles(result) == ["Set up", "Solve"]
    assert bodies(result) == ["Let $a=1$.", "Then $b=2$."]


def test_bold_number_and_title(segment):
    result = segment("**1. Set up**\nLet $a=1$.\n\n**2. Solve:** Then $b=2$.")
    assert actions(result) == ["**1. Set up**\nLet $a=1$.", "**2. Solve:** Then $b=2$."]
    assert titles(result) == ["Set up", "Solve"]
    assert bodies(result) == ["Let $a=1$.", "Then $b=2$."]


def test_title_may_hold_a_single_star(segment):
    result = segment("1. **Compute $a*b$** It is 6.\n2. **Check** Fine.")
    assert titles(result) == ["Compute $a*b$", "Check"]


def test_heading_marks_around_the_number(segment):
    result = segment("### 1. Factor\nbody one\n### 2. Solve\nbody two")
    assert actions(result) == ["### 1. Factor\nbody one", "### 2. Solve\nbody two"]
    assert titles(result) == ["Factor", "Solve"]


def test_nested_indented_list_stays_in_its_step(segment):
    text = "1. A\n2. B\n   1. x\n   2. y\n   3. z\n3. C"
    assert actions(segment(text)) == ["1. A", "2. B\n   1. x\n   2. y\n   3. z", "3. C"]


def test_nested_list_keeps_its_relative_indentation_in_the_body(segment):
    result = segment("1. **Count:**\n   - two ways\n     1. left\n   - three ways\n2. **Multiply** 6.")
    assert bodies(result)[0] == "- two ways\n  1. left\n- three ways"


def test_restarted_list_inside_a_step_bold_mode(segment):
    text = "1. **A** one\n2. **B** cases:\n1. first\n2. second\n3. third\n3. **C** three"
    result = segment(text)
    assert actions(result) == ["1. **A** one", "2. **B** cases:\n1. first\n2. second\n3. third", "3. **C** three"]


def test_restarted_list_inside_a_step_plain_mode(segment):
    # "2. y" could be step 2, but it directly follows the restarted list's "1. x".
    text = "1. Split into cases:\n1. x > 0\n2. x < 0\n\n2. Combine the cases."
    assert actions(segment(text)) == ["1. Split into cases:\n1. x > 0\n2. x < 0", "2. Combine the cases."]


def test_restarted_list_with_blank_lines_uses_the_later_step_line(segment):
    text = "1. Cases:\n\n1. x > 0\n\n2. x < 0\n\n2. Combine.\n\n3. Conclude."
    assert actions(segment(text)) == ["1. Cases:\n\n1. x > 0\n\n2. x < 0", "2. Combine.", "3. Conclude."]


def test_a_later_restarted_list_does_not_swallow_a_step(segment):
    text = "1. A:\n1. u\n2. v\n\n2. B\n\n3. C:\n1. p\n2. q\n3. r\n\n4. D"
    assert [a.split("\n")[0] for a in actions(segment(text))] == ["1. A:", "2. B", "3. C:", "4. D"]


def test_numbers_in_display_math_and_code_never_start_a_step(segment):
    text = (
        "1. First we write\n$$\n2. x = 3\n$$\n"
        "2. Then\n\\[\n3. y = 4\n\\]\n```python\n3. code\n```\n"
        "3. Last"
    )
    assert actions(segment(text)) == [
        "1. First we write\n$$\n2. x = 3\n$$",
        "2. Then\n\\[\n3. y = 4\n\\]\n```python\n3. code\n```",
        "3. Last",
    ]


def test_number_in_mid_line_never_starts_a_step(segment):
    text = "1. As shown in 2. below, and 3. too.\n2. Next."
    assert actions(segment(text)) == ["1. As shown in 2. below, and 3. too.", "2. Next."]


def test_decimal_numbers_are_not_items(segment):
    assert actions(segment("1. Start.\n2.5 is half of 5.\n2. End.")) == ["1. Start.\n2.5 is half of 5.", "2. End."]


def test_bold_mode_only_bold_titled_lines_start_steps(segment):
    text = "1. **A** one\n2. a plain line that is not a step\n2. **B** two"
    result = segment(text)
    assert actions(result) == ["1. **A** one\n2. a plain line that is not a step", "2. **B** two"]


def test_steps_must_be_consecutive_from_one(segment):
    assert actions(segment("1. a\n3. c\n2. b")) == ["1. a\n3. c", "2. b"]
    assert segment("2. a\n3. b").steps == []


def test_preamble_is_kept_apart(segment):
    result = segment("We factor first.\n\n1. **Factor** (x-1)(x+1)\n2. **Solve** x=1")
    assert result.preamble == "We factor first."
    assert actions(result) == ["1. **Factor** (x-1)(x+1)", "2. **Solve** x=1"]


def test_trailing_final_answer_joins_the_last_step(segment):
    result = segment("1. **A** one\n\n2. **B** two\n\nFinal answer: $\\boxed{4}$")
    assert actions(result)[-1] == "2. **B** two\n\nFinal answer: $\\boxed{4}$"
    assert bodies(result)[-1] == "two\n\nFinal answer: $\\boxed{4}$"


def test_trailing_line_does_not_turn_a_one_line_step_into_a_title(segment):
    result = segment("1. Add the numbers.\n2. Get four\n\nThus the answer is 4.")
    assert titles(result) == [None, None]
    assert bodies(result) == ["Add the numbers.", "Get four\n\nThus the answer is 4."]


def test_plain_titles_when_every_step_reads_as_titled(segment):
    result = segment("1. Factor the quadratic:\n$(x-2)(x-3)=0$.\n2. Solve each factor\n$x=2$ or $x=3$.")
    assert titles(result) == ["Factor the quadratic", "Solve each factor"]
    assert bodies(result) == ["$(x-2)(x-3)=0$.", "$x=2$ or $x=3$."]


def test_sentences_are_not_titles(segment):
    result = segment("1. We set $a=1$.\nThen $b=2$.\n2. So $c=3$.\nDone.")
    assert titles(result) == [None, None]
    assert bodies(result) == ["We set $a=1$.\nThen $b=2$.", "So $c=3$.\nDone."]


def test_indented_steps(segment):
    result = segment("  1. A\n  2. B\n    1. nested\n  3. C")
    assert actions(result) == ["1. A", "2. B\n  1. nested", "3. C"]


def test_no_numbered_steps(segment):
    result = segment("Just prose.\nNo list.")
    assert result.steps == [] and result.preamble == "Just prose.\nNo list."


# ---------------------------------------------------------------------------
# Property tests: generated numbered solutions split back into the generated steps.

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SENTENCE = st.lists(WORD, min_size=1, max_size=8).map(lambda ws: " ".join(ws).capitalize() + ".")
TITLE = st.lists(WORD, min_size=1, max_size=4).map(lambda ws: " ".join(ws).capitalize())


@st.composite
def numbered_solution(draw):
    n = draw(st.integers(min_value=1, max_value=9))
    bold = draw(st.booleans())
    steps: list[str] = []
    step_titles: list[str | None] = []
    for k in range(1, n + 1):
        title = draw(TITLE)
        if bold:
            form = draw(st.sampled_from(["{k}. **{t}** {s}", "{k}. **{t}:** {s}", "**{k}. {t}**\n{s}", "{k}. **{t}**: {s}"]))
            lines = [form.format(k=k, t=title, s=draw(SENTENCE))]
            step_titles.append(title)
        else:
            lines = [f"{k}. {draw(SENTENCE)}"]
            step_titles.append(None)
        blank_needed = False
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            extra = draw(st.sampled_from(["text", "nested", "math", "brackets", "code", "midline", "sublist"]))
            other = draw(st.integers(min_value=1, max_value=n + 1))  # often the next step's number
            if extra == "text":
                lines.append(draw(SENTENCE))
            elif extra == "nested":
                lines += [f"   {i}. {draw(SENTENCE)}" for i in range(1, draw(st.integers(1, n + 1)) + 1)]
                lines.append(f"   - {draw(SENTENCE)}")
            elif extra == "math":
                lines += ["$$", f"{other}. x = {other}", "$$"]
            elif extra == "brackets":
                lines += ["\\[", f"{other}. y", "\\]"]
            elif extra == "code":
                lines += ["```", f"{other}. print({other})", "```"]
            elif extra == "midline":
                lines.append(f"{draw(SENTENCE)} {other}. {draw(SENTENCE)}")
            else:  # a list restarted at the steps' indentation, items directly after each other
                lines.append(draw(SENTENCE)[:-1] + ":")
                lines += [f"{i}. {draw(SENTENCE)}" for i in range(1, draw(st.integers(1, n + 1)) + 1)]
                blank_needed = True
        steps.append("\n".join(lines))
        steps.append("\n\n" if blank_needed or draw(st.booleans()) else "\n")
    separators = steps[1::2]
    step_texts = steps[0::2]
    preamble = draw(st.one_of(st.none(), SENTENCE))
    trailer = draw(st.one_of(st.none(), SENTENCE.map(lambda s: "Final answer: " + s)))
    text = (preamble + "\n\n" if preamble else "") + "".join(t + sep for t, sep in zip(step_texts, separators))
    text = text.rstrip("\n")
    if trailer:
        text += "\n\n" + trailer
        step_texts[-1] += "\n\n" + trailer
    return text, step_texts, step_titles, preamble


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(numbered_solution())
def test_generated_solutions_split_back_into_their_steps(case):
    text, expected, expected_titles, preamble = case
    result = get_segmenter("numbered").segment(Solution(id="t", problem="p", solution=text))
    assert actions(result) == expected
    if expected_titles[0] is not None:
        assert titles(result) == expected_titles
    assert result.preamble == preamble


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(numbered_solution(), st.sampled_from(["block", "close_only", "unclosed", "field"]),
       st.sampled_from(["auto", "numbered", "headers", "paragraphs", "lines"]))
def test_thinking_never_appears_in_a_step(case, where, segmenter):
    text = case[0]
    secret = "zqxthinkingzqx"
    thought = f"1. **Plan** {secret}\n2. **Check** {secret}"
    if where == "block":
        text = f"<think>{thought}</think>\n{text}"
    elif where == "close_only":
        text = f"{thought}</think>\n{text}"
    elif where == "unclosed":
        text = f"{text}\n<think>{thought}"
    data = {"problem": "p", "solution": text, "thinking": thought if where == "field" else None}
    solution = to_solution(Row(data, "in.jsonl", 1), FieldMap(thinking="thinking"))
    assert secret in (solution.thinking or "")
    result = get_segmenter(segmenter, min_steps=2).segment(solution)
    for step in result.steps:
        for part in (step.action, step.title, step.body):
            assert secret not in (part or "") and "think>" not in (part or "")
    assert secret not in (result.preamble or "")
