"""Building SRL step records from segmented trajectories.

For step k of an N-step trajectory the record holds the problem, the expert's
steps 1..k-1 and, as the target, step k. ``targets`` chooses which steps become
records (SPEC section 1: implementations differ):

- ``all``: N records per N-step trajectory;
- ``skip-first``: N-1, no record for step 1;
- ``skip-last``: N-1, no record for the last step (the SRL paper's literal reading).

The prompt is rendered by the :class:`PromptRenderer` registered for the
trajectory's ``kind`` (``text`` here; agents add their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from .errors import ConfigError
from .models import Message, RecordMetadata, StepRecord, Trajectory
from .prompts import PromptTemplate, load_template
from .tokens import TokenCounter

TARGETS = ("all", "skip-first", "skip-last")


@dataclass(frozen=True)
class StepRecordOptions:
    targets: str = "all"
    title_hint: bool = False
    # Template name or path; None picks the default for the trajectory kind.
    template: str | None = None
    max_prompt_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.targets not in TARGETS:
            raise ConfigError(f"unknown --targets '{self.targets}'", hint=f"choose one of: {', '.join(TARGETS)}")
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 1:
            raise ConfigError("--max-prompt-tokens must be at least 1")


def target_indices(num_steps: int, targets: str) -> range:
    """1-based indices of the steps that become records."""
    if targets == "skip-first":
        return range(2, num_steps + 1)
    if targets == "skip-last":
        return range(1, num_steps)
    return range(1, num_steps + 1)


@dataclass
class RenderedPrompt:
    messages: list[Message]
    tokens: int
    expert_action: str


class PromptRenderer(Protocol):
    template: PromptTemplate

    def render(self, trajectory: Trajectory, k: int) -> RenderedPrompt: ...


class TextStepPrompt:
    """Problem plus earlier steps in one user message (math and other text)."""

    default_template = "srl_step"
    title_hint_template = "srl_step_title_hint"

    def __init__(self, options: StepRecordOptions, counter: TokenCounter) -> None:
        name = options.template or (self.title_hint_template if options.title_hint else self.default_template)
        self.template = load_template(name)
        self.title_hint = options.title_hint
        self.counter = counter
        system = self.template.text("system")
        self._system = system
        self._system_tokens = counter.count(system) if system else 0
        self._none = self.template.text("no_previous_steps") or "(none)"

    def render(self, trajectory: Trajectory, k: int) -> RenderedPrompt:
        steps = trajectory.steps
        step = steps[k - 1]
        if k == 1:
            previous: list[str] = [self._none]
        else:
            previous = [s.action + "\n\n" for s in steps[: k - 2]] + [steps[k - 2].action]
        values: dict[str, str | list[str]] = {
            "problem": trajectory.problem.strip(),
            "previous_steps": previous,
            "next_step_number": str(k),
            "next_step_title": step.title or "",
        }
        pieces = self.template.pieces("user", values)
        messages = []
        if self._system:
            messages.append(Message(role="system", content=self._system))
        messages.append(Message(role="user", content="".join(pieces)))
        tokens = self._system_tokens + self.counter.count_pieces(pieces)
        action = (step.body or step.action) if self.title_hint else step.action
        return RenderedPrompt(messages=messages, tokens=tokens, expert_action=action)


# Prompt renderers by trajectory kind. Add a kind here.
RENDERERS: dict[str, type] = {"text": TextStepPrompt}


class StepRecordBuilder:
    """Turns trajectories into validated :class:`StepRecord` objects."""

    def __init__(self, options: StepRecordOptions, counter: TokenCounter | None = None) -> None:
        self.options = options
        self.counter = counter or TokenCounter()
        self._renderers: dict[str, PromptRenderer] = {}
        self.too_long = 0

    def renderer(self, kind: str) -> PromptRenderer:
        if kind not in self._renderers:
            self._renderers[kind] = RENDERERS[kind](self.options, self.counter)
        return self._renderers[kind]

    def build(self, trajectory: Trajectory) -> Iterator[StepRecord]:
        renderer = self.renderer(trajectory.kind)
        template = renderer.template
        metadata = RecordMetadata(
            segmenter=trajectory.segmenter,
            template_id=template.id,
            template_hash=template.hash,
            source=trajectory.source,
            targets=self.options.targets,
            title_hint=self.options.title_hint,
        )
        num_steps = len(trajectory.steps)
        limit = self.options.max_prompt_tokens
        for k in target_indices(num_steps, self.options.targets):
            rendered = renderer.render(trajectory, k)
            if limit is not None and rendered.tokens > limit:
                self.too_long += 1
                continue
            step = trajectory.steps[k - 1]
            yield StepRecord(
                id=f"{trajectory.id}-s{k}",
                trajectory_id=trajectory.id,
                step_index=k,
                num_steps=num_steps,
                problem=trajectory.problem,
                previous_steps=[s.action for s in trajectory.steps[: k - 1]],
                expert_action=rendered.expert_action,
                step_title=step.title,
                answer=trajectory.answer,
                prompt=rendered.messages,
                prompt_tokens=rendered.tokens,
                target_tokens=self.counter.count(rendered.expert_action),
                metadata=metadata,
            )
