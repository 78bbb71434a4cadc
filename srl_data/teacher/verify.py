"""Checking a teacher's final answer against a known reference answer.

``extract_final_answer`` finds the answer a solution commits to: the last
``\\boxed{...}`` (or ``\\fbox{...}``), else the last ``#### N`` line, else the
last "the answer is ..." / "final answer: ...". ``normalize_answer`` removes
differences that do not change the value: spaces, ``\\left``/``\\right``,
``\\!`` and other spacing commands, a trailing period, ``\\dfrac``/``\\tfrac``,
``\\frac{a}{b}`` against ``a/b``, thousands separators (``1,000``), ``$``,
``\\text{}`` wrappers, degree and percent signs, a leading ``x =``. Numbers are
then compared by value (``0.5`` equals ``1/2``, ``36.0`` equals ``36``).

When the optional ``math-verify`` package is installed
(``pip install 'srl-data[math]'``), answers that still differ are given to it
as a second opinion (symbolic equivalence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
_SAYS = re.compile(
    r"(?:the\s+(?:final\s+)?answer\s+is|final\s+answer\s*(?:is)?\s*[:=]?)\s*[:=]?\s*(.+)",
    re.IGNORECASE,
)


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The contents of the brace group opening at ``text[start]`` and the index after it."""
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def last_boxed(text: str) -> str | None:
    """The contents of the last ``\\boxed{...}`` (braces balanced), or None."""
    found = None
    for match in _BOX.finditer(text):
        group = _braced(text, match.end())
        if group is not None:
            found = group[0]
        else:  # "\boxed 5": one token after a space
            token = re.match(r"([^\s$]+)", text[match.end():])
            if token:
                found = token.group(1)
    return found


def extract_final_answer(text: str) -> str | None:
    """The final answer a solution states, or None when it states none."""
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    hashes = _HASHES.findall(text)
    if hashes:
        return hashes[-1].strip()
    says = _SAYS.findall(text)
    if says:
        answer = says[-1].strip()
        # Stop at the end of the sentence: a period followed by a space or the end.
        answer = re.split(r"\.(?:\s|$)", answer, maxsplit=1)[0]
        return answer.strip().strip("*").strip() or None
    return None


def reference_answer(text: str) -> str:
    """A reference answer field reduced to its final answer (it may be a whole
    worked solution ending in ``#### N`` or ``\\boxed{}``)."""
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    hashes = _HASHES.findall(text)
    if hashes:
        return hashes[-1].strip()
    return text.strip()


_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_FRAC = re.compile(r"\\(?:d|t)?frac\s*")
_SPACING = re.compile(r"\\[!,;:> ]|\\(?:quad|qquad|left|right|displaystyle)\b")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|°")
_PERCENT = re.compile(r"\\?%")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ASSIGN = re.compile(r"^[a-z]\s*=\s*(?=\S)", re.IGNORECASE)
_SIMPLE = re.compile(r"^[\w.]+$")


def _unfrac(text: str) -> str:
    """``\\frac{a}{b}`` (also ``\\frac12``) as ``a/b``, parenthesised when not simple."""
    out = []
    pos = 0
    for match in _FRAC.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        i = match.end()
        parts = []
        for _ in range(2):
            group = _braced(text, i)
            if group is not None:
                parts.append(group[0])
                i = group[1]
            elif i < len(text) and not text[i].isspace():
                parts.append(text[i])
                i += 1
            else:
                break
        if len(parts) < 2:
            out.append(text[match.start() : i])
        else:
            a, b = (_unfrac(p).strip() for p in parts)
            a = a if _SIMPLE.match(a) else f"({a})"
            b = b if _SIMPLE.match(b) else f"({b})"
            out.append(f"{a}/{b}")
        pos = i
    out.append(text[pos:])
    return "".join(out)


def normalize_answer(answer: str) -> str:
    """A canonical text form of a final answer (see the module docstring)."""
    text = answer.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) >= len(left) + len(right):
            text = text[len(left) : len(text) - len(right)]
    text = text.replace("$", "")
    while True:
        unwrapped = _WRAPPERS.sub(r"\1", text)
        if unwrapped == text:
            break
        text = unwrapped
    text = _SPACING.sub("", text)
    text = _DEGREES.sub("", text)
    text = _PERCENT.sub("", text)
    text = _unfrac(text)
    text = _THOUSANDS.sub("", text)
    text = re.sub(r"\s+", "", text)
    text = _ASSIGN.sub("", text)
    text = text.rstrip(".")
    while text.startswith("{") and text.endswith("}") and _braced(text, 0) == (text[1:-1], len(text)):
        text = text[1:-1]
    return text.lower()


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


def as_number(text: str) -> Fraction | None:
    """The value of a normalised answer that is a plain number or fraction."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if "/" in text:
        top, _, bottom = text.partition("/")
        a, b = as_number(top), as_number(bottom)
        if a is None or b is None or b == 0:
            return None
        return a / b
    if _NUMBER.match(text):
        try:
            return Fraction(text)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits): compare as text
            return None
    return None


def answers_match(predicted: str, expected: str) -> bool:
    """Whether two final answers are the same once normalised (without math-verify)."""
    a, b = normalize_answer(predicted), normalize_answer(expected)
    if a == b:
        return True
    x, y = as_number(a), as_number(b)
    return x is not None and y is not None and x == y


@lru_cache(maxsize=1)
def _math_verify() -> Any:
    try:
        import math_verify  # type: ignore[import-not-found]
    except ImportError:
        return None
    return math_verify


def math_verify_available() -> bool:
    return _math_verify() is not None


def _math_verify_match(predicted: str, expected: str) -> bool:
    mv = _math_verify()
    if mv is None:
        return False
    try:
        gold = mv.parse(f"${expected}$")
        answer = mv.parse(f"${predicted}$")
        return bool(gold) and bool(answer) and bool(mv.verify(gold, answer))
    except Exception:  # math-verify is a second opinion: its failures never stop a run
        return False


@dataclass(frozen=True)
class Verdict:
    """The result of checking one solution: ``verified`` is None when there was nothing to check."""

    verified: bool | None
    predicted: str | None = None
    expected: str | None = None

    @property
    def detail(self) -> str:
        if self.verified is None:
            return "no reference answer"
        if self.predicted is None:
            return f"no final answer found (expected {self.expected!r})"
        return f"answer {self.predicted!r}, expected {self.expected!r}"


@dataclass(frozen=True)
class Verifier:
    """Checks solutions against reference answers; ``use_math_verify`` None: when installed."""

    use_math_verify: bool | None = None

    def check(self, solution: str, reference: str | None) -> Verdict:
        if reference is None or not reference.strip():
            return Verdict(None)
        expected = reference_answer(reference)
        predicted = extract_final_answer(solution)
        if predicted is None:
            return Verdict(False, None, expected)
        ok = answers_match(predicted, expected)
        if not ok and self.use_math_verify is not False:
            ok = _math_verify_match(predicted, expected)
        return Verdict(ok, predicted, expected)
