"""Rendering hindsight prompts: the start state, the goal, as chat messages.

:meth:`HindsightPrompt.prepare` renders each step of a trajectory once (its
action and, when it has one, its observation as context) into a *chunk* that
starts with a non-space character and ends in a newline; the state s_i is then
the first i chunks. Token counts of such chunks add up exactly (see
:mod:`srl_data.tokens`), so a pair costs one lookup per earlier step rather
than tokenising its whole context again.

Templates live in ``prompts/`` (``hindsight`` for text, ``hindsight_agent``
for agents, chosen by the trajectory's kind; ``--prompt-template`` overrides).
Thoughts never appear: a state is actions and observations only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Message, Trajectory
from ..prompts import PromptTemplate, load_template
from ..tokens import TokenCounter

# Default template by trajectory kind. Add a kind here.
TEMPLATES: dict[str, str] = {"text": "hindsight", "agent": "hindsight_agent"}

_DEFAULT_STEP = "{action}\n\n"
_DEFAULT_OBSERVATION = "Observation:\n{observation}\n\n"


@dataclass
class StateView:
    """One trajectory prepared for rendering: the chunk of each step."""

    trajectory: Trajectory
    chunks: list[str]

    def state_text(self, j: int) -> str:
        """The steps 1..j as the prompt shows them."""
        return "".join(self.chunks[:j])


def _part(template: PromptTemplate, name: str, default: str) -> str:
    text = template.text(name)
    return default if text is None else text


def _fill(template: PromptTemplate, name: str, default: str, values: dict[str, str | list[str]]) -> str:
    """Template part ``name`` (or ``default``) filled in; unknown placeholders
    are a ConfigError naming the template."""
    if template.text(name) is None:
        return default.format(**values)
    return template.render(name, values)


class HindsightPrompt:
    """Renders (start state, goal) pairs of one template."""

    def __init__(self, template: PromptTemplate, counter: TokenCounter | None) -> None:
        self.template = template
        self.counter = counter
        self._system = template.text("system") or ""
        self._step_end = _part(template, "step_end", "")
        self._none = _part(template, "no_previous_steps", "(none yet)\n\n")

    @classmethod
    def for_kind(cls, kind: str, template: str | None, counter: TokenCounter | None) -> "HindsightPrompt":
        return cls(load_template(template or TEMPLATES.get(kind, TEMPLATES["text"])), counter)

    def prepare(self, trajectory: Trajectory) -> StateView:
        chunks = []
        for number, step in enumerate(trajectory.steps, start=1):
            text = _fill(self.template, "step", _DEFAULT_STEP, {"number": str(number), "action": step.action.strip()})
            if step.observation and step.observation.strip():
                text += _fill(self.template, "observation", _DEFAULT_OBSERVATION,
                              {"number": str(number), "observation": step.observation.strip()})
            chunks.append(text + self._step_end)
        return StateView(trajectory, chunks)

    def system_text(self, trajectory: Trajectory) -> str:
        own = (trajectory.system or "").strip()
        if own and self._system:
            return f"{own}\n\n{self._system}"
        return own or self._system

    def render(self, view: StateView, i: int, j: int, goal: str, goal_label: str) -> tuple[list[Message], int]:
        """The prompt for start state s_i and the goal describing s_j, and its token count."""
        trajectory = view.trajectory
        state = view.chunks[:i] if i else [self._none]
        values: dict[str, str | list[str]] = {
            "problem": trajectory.problem.strip(),
            "state": state,
            "goal": goal,
            "goal_label": goal_label,
            "horizon": str(j - i),
            "next_step_number": str(i + 1),
        }
        pieces = self.template.pieces("user", values)
        messages = []
        system = self.system_text(trajectory)
        tokens = 0
        if system:
            messages.append(Message(role="system", content=system))
            tokens += self.counter.count(system) if self.counter else 0
        messages.append(Message(role="user", content="".join(pieces)))
        if self.counter is not None:
            tokens += self.counter.count_pieces(pieces)
        return messages, tokens
