"""The segmenter extension point.

A segmenter turns one :class:`~srl_data.models.Solution` into a
:class:`Segmented` (ordered steps, an optional preamble and an optional final
answer it found). Adding one is a subclass with a ``name`` and a ``segment``
method, decorated with :func:`register`.

Segmenters never see thinking: readers strip ``<think>`` blocks and the
thinking field off the solution text first.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ConfigError
from ..models import Solution, Step


@dataclass
class Segmented:
    steps: list[Step]
    rule: str
    preamble: str | None = None
    answer: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


class Segmenter:
    """Base class. ``options`` are the segmenter-specific settings."""

    name: ClassVar[str]
    kind: ClassVar[str] = "text"

    def __init__(self, **options: Any) -> None:
        self.options = options

    def segment(self, solution: Solution) -> Segmented:  # pragma: no cover - abstract
        raise NotImplementedError


SEGMENTERS: dict[str, type[Segmenter]] = {}


def register(cls: type[Segmenter]) -> type[Segmenter]:
    SEGMENTERS[cls.name] = cls
    return cls


def get_segmenter(name: str, **options: Any) -> Segmenter:
    try:
        cls = SEGMENTERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown segmenter '{name}'", hint=f"choose one of: {', '.join(sorted(SEGMENTERS))}"
        ) from None
    return cls(**options)


# ---------------------------------------------------------------------------
# Shared line scanning: which lines sit inside display math or fenced code.

_FENCE = re.compile(r"^\s*(```|~~~)")
_MATH_DELIMITER = re.compile(r"\$\$|\\\[|\\\]")


@dataclass(slots=True)  # not frozen: a frozen dataclass is three times slower to make, and this is per line
class Line:
    text: str
    protected: bool  # inside (or opening/closing) display math or a code fence


def scan_lines(text: str) -> Iterator[Line]:
    """Yield each line of ``text`` marking those inside ``$$…$$``, ``\\[…\\]``
    or fenced code, where no step may start."""
    in_code = False
    in_dollars = False
    in_brackets = False
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if ("```" in line or "~~~" in line) and _FENCE.match(line):
            yield Line(line, True)
            if not (in_dollars or in_brackets):
                in_code = not in_code
            continue
        if in_code:
            yield Line(line, True)
            continue
        starts_protected = in_dollars or in_brackets
        if "$$" not in line and "\\" not in line:
            yield Line(line, starts_protected)
            continue
        # Toggle display-math state by the delimiters on this line, in order.
        for token in _MATH_DELIMITER.findall(line):
            if token == "$$" and not in_brackets:
                in_dollars = not in_dollars
            elif token == "\\[" and not in_dollars:
                in_brackets = True
            elif token == "\\]" and not in_dollars:
                in_brackets = False
        yield Line(line, starts_protected)


def clean_block(lines: list[str]) -> str:
    """Join lines, dropping blank lines at both ends and the indentation all
    lines share (a nested list keeps its relative indentation)."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    text = "\n".join(map(str.rstrip, lines[start:end]))
    if text[:1] not in (" ", "\t") and "\n " not in text and "\n\t" not in text:
        return text  # no line starts with a blank: nothing to dedent (the common case)
    return textwrap.dedent(text)
