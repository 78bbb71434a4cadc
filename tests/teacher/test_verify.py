"""Final-answer extraction, normalisation and comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srl_data.teacher.verify import (
    Verifier,
    answers_match,
    extract_final_answer,
    normalize_answer,
    reference_answer,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So we get \\boxed{42}.", "42"),
        ("First \\boxed{1}, then corrected: \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("nested \\boxed{\\sqrt{x^{2}}} ok", "\\sqrt{x^{2}}"),
        ("\\fbox{7}", "7"),
        ("She has 36 muffins.\n#### 36", "36"),
        ("Thus the answer is 1,000. Done.", "1,000"),
        ("The final answer is $\\frac{3}{4}$", "$\\frac{3}{4}$"),
        ("**Final answer:** 7", "7"),
        ("no answer stated here", None),
        ("", None),
    ],
)
def test_extract_final_answer(text: str, expected: str | None) -> None:
    assert extract_final_answer(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1/2", "\\frac{1}{2}"),
        ("\\dfrac{1}{2}", "\\frac12"),
        ("\\tfrac{3}{4}", "0.75"),
        ("1,000", "1000"),
        ("1,234,567", "1234567"),
        ("36.", "36"),
        ("36.0", "36"),
        (" 36 ", "36"),
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("\\!5", "5"),
        ("x = 5", "5"),
        ("$42$", "42"),
        ("\\text{(B)}", "(B)"),
        ("90^\\circ", "90"),
        ("50\\%", "50"),
        ("\\frac{a+b}{2}", "(a+b)/2"),
        ("{7}", "7"),
    ],
)
def test_equivalent_answers_match(a: str, b: str) -> None:
    assert answers_match(a, b)
    assert answers_match(b, a)


@pytest.mark.parametrize(("a", "b"), [("1/2", "1/3"), ("1,2", "12"), ("36", "37"), ("x+1", "x-1"), ("0.333", "1/3")])
def test_different_answers_do_not_match(a: str, b: str) -> None:
    assert not answers_match(a, b)


def test_normalize_is_idempotent_on_examples() -> None:
    for text in ["\\left(\\frac{1}{2}\\right)", "1,000.", "\\dfrac{x}{y}", "$\\text{yes}$"]:
        once = normalize_answer(text)
        assert normalize_answer(once) == once


def test_reference_answer_reduces_worked_solutions() -> None:
    assert reference_answer("24/2 = 12\n#### 12") == "12"
    assert reference_answer("... hence $\\boxed{5}$") == "5"
    assert reference_answer("2, 3") == "2, 3"


def test_verifier_verdicts() -> None:
    verifier = Verifier(use_math_verify=False)
    assert verifier.check("1. **A** x\n\\boxed{1,000}", "1000").verified is True
    wrong = verifier.check("\\boxed{999}", "#### 1000")
    assert wrong.verified is False
    assert wrong.detail == "answer '999', expected '1000'"
    missing = verifier.check("I could not decide.", "4")
    assert missing.verified is False
    assert missing.detail == "no final answer found (expected '4')"
    assert verifier.check("\\boxed{4}", None).verified is None
    assert verifier.check("\\boxed{4}", "  ").verified is None


integers = st.integers(min_value=-10**9, max_value=10**9)


@given(integers)
def test_integer_spellings_match(value: int) -> None:
    grouped = f"{value:,}"
    assert answers_match(grouped, str(value))
    assert answers_match(f"${value}$.", f"{value}.0")
    assert Verifier(use_math_verify=False).check(f"so \\boxed{{{grouped}}}", str(value)).verified is True


@given(integers, integers)
def test_different_integers_never_match(a: int, b: int) -> None:
    if a != b:
        assert not answers_match(str(a), f"{b:,}")


@given(st.integers(min_value=-999, max_value=999), st.integers(min_value=1, max_value=999))
def test_fractions_match_their_value(top: int, bottom: int) -> None:
    assert answers_match(f"\\frac{{{top}}}{{{bottom}}}", f"{top}/{bottom}")
    assert answers_match(f"\\dfrac{{{top * 2}}}{{{bottom * 2}}}", f"{top}/{bottom}")


def test_math_verify_gives_a_second_opinion_when_installed() -> None:
    from srl_data.teacher.verify import math_verify_available

    if not math_verify_available():
        pytest.skip("math-verify is not installed (pip install 'srl-data[math]')")
    solution = "1. **Expand** ...\n\\boxed{x^2+2x+1}"
    assert Verifier(use_math_verify=False).check(solution, "(x+1)^2").verified is False
    assert Verifier().check(solution, "(x+1)^2").verified is True
    assert Verifier().check("\\boxed{\\sqrt{4}}", "2").verified is True
    assert Verifier().check("\\boxed{\\sqrt{5}}", "2").verified is False


def test_a_number_too_long_to_convert_is_compared_as_text() -> None:
    # Python refuses int() of more than 4,300 digits; a runaway answer must not crash the write pass.
    huge = "9" * 5000
    verifier = Verifier(use_math_verify=False)
    assert verifier.check(f"\\boxed{{{huge}}}", "5").verified is False
    assert verifier.check(f"\\boxed{{{huge}}}", huge).verified is True
    assert answers_match(f"{huge}/3", "5") is False
