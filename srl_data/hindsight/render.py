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

import string
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..models import Message, Trajectory
from ..prompts import PromptTemplate, load_template
from ..tokens import TokenCounter

# Default template by trajectory kind. Add a kind here.
TEMPLATES: dict[str, str] = {"text": "hindsight", "agent": "hindsight_agent"}

_DEFAULT_STEP = "{action}\n\n"
_DEFAULT_OBSERVATION = "Observation:\n{observation}\n\n"


@dataclass
class StateView:
    """One trajectory prepared for rendering: the chunk of each step and, when
    chunks add up exactly, the token count of every state prefix."""

    trajectory: Trajectory
    chunks: list[str]
    prefix_tokens: list[int] | None = None  # prefix_tokens[i]: tokens of chunks[:i]
    system: str = ""
    system_tokens: int = 0
    # Token counts of the prompt text before the state, which rarely varies
    # within one trajectory (the problem, in the bundled templates).
    head_tokens: dict[tuple[str, ...], int] = field(default_factory=dict)

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


def _safe(left: str, right: str) -> bool:
    """Token counts of ``left`` and ``right`` add up (see :mod:`srl_data.tokens`)."""
    return left.endswith("\n") and bool(right) and not right[0].isspace()


USER_FIELDS = ("problem", "state", "goal", "goal_label", "horizon", "next_step_number")


class HindsightPrompt:
    """Renders (start state, goal) pairs of one template."""

    def __init__(self, template: PromptTemplate, counter: TokenCounter | None) -> None:
        self.template = template
        self.counter = counter
        self._system = template.text("system") or ""
        self._step_end = _part(template, "step_end", "")
        self._none = _part(template, "no_previous_steps", "(none yet)\n\n")
        user = template.text("user")
        if user is None:
            raise ConfigError(f"template '{template.name}' has no 'user' text", path=template.path)
        self._user = list(string.Formatter().parse(user))
        unknown = sorted({name for _, name, _, _ in self._user if name is not None} - set(USER_FIELDS))
        if unknown:
            raise ConfigError(
                f"template uses an unknown placeholder {{{unknown[0]}}}",
                path=template.path,
                hint=f"use only: {', '.join('{' + k + '}' for k in USER_FIELDS)}",
            )
        self._one_state = sum(1 for _, name, _, _ in self._user if name == "state") == 1

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
        view = StateView(trajectory, chunks, system=self.system_text(trajectory))
        if self.counter is not None:
            view.system_tokens = self.counter.count(view.system)
            if all(_safe(a, b) for a, b in zip(chunks, chunks[1:])) and all(chunks):
                prefix = [0]
                for chunk in chunks:
                    prefix.append(prefix[-1] + self.counter.count(chunk))
                view.prefix_tokens = prefix
        return view

    def system_text(self, trajectory: Trajectory) -> str:
        own = (trajectory.system or "").strip()
        if own and self._system:
            return f"{own}\n\n{self._system}"
        return own or self._system

    def render(self, view: StateView, i: int, j: int, goal: str, goal_label: str) -> tuple[list[Message], int]:
        """The prompt for start state s_i and the goal describing s_j, and its token count."""
        values = {
            "problem": view.trajectory.problem.strip(),
            "goal": goal,
            "goal_label": goal_label,
            "horizon": str(j - i),
            "next_step_number": str(i + 1),
        }
        state = view.chunks[:i] if i else [self._none]
        before: list[str] = []
        after: list[str] = []
        pieces = before
        for literal, name, _, _ in self._user:
            if literal:
                pieces.append(literal)
            if name is None:
                continue
            if name == "state":
                if pieces is before and self._one_state:
                    pieces = after
                else:
                    pieces.extend(state)
                continue
            if values[name]:
                pieces.append(values[name])
        user = "".join(before) + "".join(state) + "".join(after) if self._one_state else "".join(before)
        messages = []
        if view.system:
            messages.append(Message(role="system", content=view.system))
        messages.append(Message(role="user", content=user))
        return messages, self._count(view, i, before, state, after)

    def _count(self, view: StateView, i: int, before: list[str], state: list[str], after: list[str]) -> int:
        counter = self.counter
        if counter is None:
            return 0
        if not self._one_state:
            return view.system_tokens + counter.count_pieces(before)
        additive = (
            (not before or _safe(before[-1], state[0]))
            and (not after or _safe(state[-1], after[0]))
            and (view.prefix_tokens is not None or not i)
        )
        if not additive:
            return view.system_tokens + counter.count_pieces(before + state + after)
        state_tokens = view.prefix_tokens[i] if i else counter.count(self._none)  # type: ignore[index]
        key = tuple(before)
        head = view.head_tokens.get(key)
        if head is None:
            head = view.head_tokens[key] = counter.count_pieces(before)
        return view.system_tokens + head + state_tokens + counter.count_pieces(after)
