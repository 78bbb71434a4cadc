"""Goal kinds: how the goal state s_j is described to the model (``--goal``).

A goal must say where to get without handing over the answer. Each kind is one
class registered in :data:`GOALS`; :meth:`GoalKind.text` returns the goal text
for goal index j (1..N), or None when the trajectory has nothing to show for
that j (the pair is then dropped and counted as ``no_goal``).

- ``result``: what step j established: the last equation of its last line
  (``48 + 24 = 72``), else that line's last sentence. For a step with an
  observation (agents) it is the observation's first line instead: what the
  action brought about, where tools put their summary (``Found 1 matches``,
  ``[File: a.py (10 lines total)]``); the last lines are often a shell prompt.
- ``title``: step j's title, where the solution has titles.
- ``observation``: the observation after step j (agent trajectories).
- ``answer``: the trajectory's final answer; only for j = N.
- ``state``: the full state text at j (steps 1..j as the prompt renders them).
  It contains a_(i+1) whenever j > i, so the leak guard drops every such pair;
  useful only with ``--keep-leaky``, for comparison.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from ..errors import ConfigError

if TYPE_CHECKING:
    from .render import StateView


class GoalKind:
    """Base class: ``text(view, j)`` describes state s_j, or None."""

    name: ClassVar[str]
    label: ClassVar[str]  # how the prompt introduces the goal
    description: ClassVar[str]

    def text(self, view: "StateView", j: int) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError


GOALS: dict[str, type[GoalKind]] = {}


def register(cls: type[GoalKind]) -> type[GoalKind]:
    GOALS[cls.name] = cls
    return cls


def get_goal(name: str) -> GoalKind:
    try:
        return GOALS[name]()
    except KeyError:
        raise ConfigError(f"unknown --goal '{name}'", hint=f"choose one of: {', '.join(GOALS)}") from None


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


# --- result: what a step established ----------------------------------------

_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters: a word, not a variable
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TRAILING = ".,;:!?"


def _mathy(token: str) -> bool:
    """A token that can be part of an equation: numbers, operators, one-letter
    variables, LaTeX commands; not a word."""
    return not _WORD.search(_LATEX_COMMAND.sub("", token))


def last_equation(line: str) -> str | None:
    """The last ``lhs = rhs`` in ``line``: the mathy tokens just left of the last
    '=' and the token right after it (``Natalia sold 48+24 = 72 clips`` gives
    ``48+24 = 72``), or None."""
    at = line.rfind("=")
    if at < 0:
        return None
    right = line[at + 1:].split()
    rhs = right[0].rstrip(_TRAILING) if right else ""
    lhs: list[str] = []
    for token in reversed(line[:at].split()):
        if not _mathy(token):
            break
        lhs.append(token)
    lhs.reverse()
    while lhs and lhs[0] == "=":
        lhs.pop(0)
    if not lhs or not rhs:
        return None
    return f"{' '.join(lhs)} = {rhs}"


def established(text: str) -> str | None:
    """What a step's text established: its last line's last equation, else
    that line's last sentence. The last line is the last one with a letter or
    digit (so a closing ``\\]`` or code fence is skipped)."""
    lines = [line.strip() for line in text.splitlines() if any(c.isalnum() for c in line)]
    if not lines:
        return None
    last = lines[-1]
    equation = last_equation(last)
    if equation:
        return equation
    sentences = [s for s in _SENTENCE_END.split(last) if s.strip()]
    return sentences[-1].strip() if sentences else last


def first_line(text: str) -> str | None:
    """The first line with a letter or digit: where tools put their summary."""
    for line in text.splitlines():
        if any(c.isalnum() for c in line):
            return line.strip()
    return None


@register
class ResultGoal(GoalKind):
    name = "result"
    label = "what a later step establishes"
    description = "the last equation or sentence of step j (first line of its observation, for agents)"

    def text(self, view: "StateView", j: int) -> str | None:
        step = view.trajectory.steps[j - 1]
        if step.observation and step.observation.strip():
            return first_line(step.observation)
        return _clean(established(step.body or step.action))


@register
class TitleGoal(GoalKind):
    name = "title"
    label = "the title of a later step"
    description = "step j's title (solutions with titled steps)"

    def text(self, view: "StateView", j: int) -> str | None:
        return _clean(view.trajectory.steps[j - 1].title)


@register
class ObservationGoal(GoalKind):
    name = "observation"
    label = "what the environment shows after a later action"
    description = "the observation after step j (agent trajectories)"

    def text(self, view: "StateView", j: int) -> str | None:
        return _clean(view.trajectory.steps[j - 1].observation)


@register
class AnswerGoal(GoalKind):
    name = "answer"
    label = "the final answer"
    description = "the trajectory's final answer (j = N only)"

    def text(self, view: "StateView", j: int) -> str | None:
        trajectory = view.trajectory
        if j != len(trajectory.steps):
            return None
        return _clean(trajectory.answer)


@register
class StateGoal(GoalKind):
    name = "state"
    label = "the whole state to reach"
    description = "the full state text at j (always leaks: only with --keep-leaky)"

    def text(self, view: "StateView", j: int) -> str | None:
        return _clean(view.state_text(j))
