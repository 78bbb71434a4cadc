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
from .tokens import PieceCount, TokenCounter

TARGETS = ("all", "skip-first", "skip-last")


@dataclass(frozen=True)
class StepRecordOptions:
    targets: str = "all"
    title_hint: bool = False
    # Template name or path; None picks the default for the trajectory kind.
    template: str | None = None
    max_prompt_tokens: int | None = None
    # Agent trajectories: earlier thoughts in the prompt, how many earlier
    # action/observation pairs it keeps (None: all), and the longest observation.
    context_thoughts: bool = False
    history_window: int | None = None
    max_observation_chars: int | None = None

    def __post_init__(self) -> None:
        if self.targets not in TARGETS:
            raise ConfigError(f"unknown --targets '{self.targets}'", hint=f"choose one of: {', '.join(TARGETS)}")
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 1:
            raise ConfigError("--max-prompt-tokens must be at least 1")
        if self.history_window is not None and self.history_window < 0:
            raise ConfigError("--history-window must be 0 or more")
        if self.max_observation_chars is not None and self.max_observation_chars < 1:
            raise ConfigError("--max-observation-chars must be at least 1")

    def agent_options(self) -> list[str]:
        """The agent-only options the user set, as flags."""
        asked = (("--context-thoughts", self.context_thoughts), ("--history-window", self.history_window is not None),
                 ("--max-observation-chars", self.max_observation_chars is not None))
        return [flag for flag, on in asked if on]


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


# Stand for per-record values while a trajectory's prompt text is laid out (found by identity).
_EARLIER = "\x00earlier steps\x00"
_NUMBER = "\x00step number\x00"
_TITLE = "\x00step title\x00"


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
        # One validated system message shared by every record (records are never mutated).
        self._system_message = Message(role="system", content=system) if system else None
        self._none = self.template.text("no_previous_steps") or "(none)"
        self._untitled = self.template.text("untitled") or ""
        # Per trajectory: the user text laid out once (placeholders that change
        # per record left as marks), each step followed by its blank line (the
        # same strings serve every record) and, when the earlier steps come
        # before any per-record value, the token-count states after the text
        # before them and after the first j earlier steps (j = 0, 1, ...).
        self._for: Trajectory | None = None
        self._layout: list[str] = []
        self._spaced: list[str] = []
        self._at: int | None = None
        self._head = ""
        self._tail: list[str] = []
        self._states: list[PieceCount] = []

    def _prepare(self, trajectory: Trajectory) -> None:
        self._for = trajectory
        self._spaced = [s.action + "\n\n" for s in trajectory.steps]
        self._layout = layout = self.template.pieces("user", {
            "problem": trajectory.problem.strip(),
            "previous_steps": [_EARLIER],
            "next_step_number": _NUMBER,
            "next_step_title": _TITLE,
        })
        marks = [i for i, piece in enumerate(layout) if piece is _EARLIER]
        self._at = None
        if len(marks) == 1 and not any(piece is _NUMBER or piece is _TITLE for piece in layout[: marks[0]]):
            # The usual template: a fixed head, the earlier steps, a tail per record.
            self._at = at = marks[0]
            self._head, self._tail = "".join(layout[:at]), layout[at + 1 :]
            self._states = [PieceCount(self.counter).add(layout[:at])]

    def _context(self, n: int) -> PieceCount:
        """The count after the head and the first ``n`` earlier steps, each added
        to the one before: step k's prompt costs one step more than step k-1's."""
        states = self._states
        while len(states) <= n:
            states.append(states[-1].copy().add((self._spaced[len(states) - 1],)))
        return states[n]

    @staticmethod
    def _fill(layout: list[str], k: int, title: str, earlier: list[str]) -> list[str]:
        """The layout's pieces with the marks replaced by this record's values."""
        out: list[str] = []
        for piece in layout:
            if piece is _NUMBER:
                out.append(str(k))
            elif piece is _TITLE:
                out.append(title)
            elif piece is _EARLIER:
                out.extend(earlier)
            else:
                out.append(piece)
        return out

    def render(self, trajectory: Trajectory, k: int) -> RenderedPrompt:
        if self._for is not trajectory:
            self._prepare(trajectory)
        steps = trajectory.steps
        step = steps[k - 1]
        title = step.title or self._untitled
        if k > 1 and self._at is not None:
            last = steps[k - 2].action
            tail = self._fill(self._tail, k, title, [])
            content = self._head + "".join([*self._spaced[: k - 2], last, *tail])
            tokens = self._context(k - 2).copy().add((last, *tail)).value()
        else:
            earlier = [self._none] if k == 1 else [*self._spaced[: k - 2], steps[k - 2].action]
            pieces = self._fill(self._layout, k, title, earlier)
            content = "".join(pieces)
            tokens = self.counter.count_pieces(pieces)
        messages = [self._system_message] if self._system_message is not None else []
        messages.append(Message(role="user", content=content))
        action = (step.body or step.action) if self.title_hint else step.action
        return RenderedPrompt(messages=messages, tokens=self._system_tokens + tokens, expert_action=action)


class AgentStepPrompt:
    """Agent trajectories: a chat of the system prompt (the trajectory's own,
    then the template's instructions), the task, then each earlier step as an
    assistant message (its action; its thought too with ``context_thoughts``)
    and a tool message (its observation, cut at ``max_observation_chars``).
    ``history_window`` keeps only the last K earlier steps. The target is the
    step's action alone."""

    default_template = "srl_agent_step"

    def __init__(self, options: StepRecordOptions, counter: TokenCounter) -> None:
        if options.title_hint:
            raise ConfigError("--title-hint applies to text solutions; agent steps have no titles",
                              hint="Drop --title-hint for agent trajectories")
        self.template = load_template(options.template or self.default_template)
        self.options = options
        self.counter = counter
        role = self.template.parts.get("observation_role", "tool")
        if role not in ("tool", "user"):
            raise ConfigError(f"observation_role must be 'tool' or 'user', not {role!r}", path=self.template.path)
        self.observation_role = role
        self._instructions = self.template.text("instructions") or ""
        self._for: Trajectory | None = None
        self._head: list[tuple[Message, int]] = []
        self._steps: list[tuple[tuple[Message, int], tuple[Message, int] | None]] = []

    def _message(self, role: str, part: str, values: dict[str, str | list[str]]) -> tuple[Message, int]:
        pieces = self.template.pieces(part, values)
        return Message(role=role, content="".join(pieces)), self.counter.count_pieces(pieces)  # type: ignore[arg-type]

    def _observation(self, text: str) -> tuple[Message, int]:
        limit = self.options.max_observation_chars
        if limit is None or len(text) <= limit:
            return self._message(self.observation_role, "observation", {"observation": text})
        marker = self.template.pieces("truncated", {"omitted": f"{len(text) - limit:,}"})
        return self._message(self.observation_role, "observation", {"observation": [text[:limit], *marker]})

    def _prepare(self, trajectory: Trajectory) -> None:
        """Render the messages every record of this trajectory shares, once."""
        self._for = trajectory
        head: list[tuple[Message, int]] = []
        if trajectory.system and trajectory.system.strip():
            system = self._message("system", "system", {"agent_system": trajectory.system.strip(),
                                                        "instructions": self._instructions})
        else:
            system = self._message("system", "system_without_agent", {"instructions": self._instructions})
        if system[0].content.strip():
            head.append(system)
        head.append(self._message("user", "task", {"task": trajectory.problem.strip()}))
        self._head = head
        steps = []
        for step in trajectory.steps:
            if self.options.context_thoughts and step.thought:
                action = self._message("assistant", "action_with_thought", {"thought": step.thought, "action": step.action})
            else:
                action = self._message("assistant", "action", {"action": step.action})
            observation = self._observation(step.observation) if step.observation is not None else None
            steps.append((action, observation))
        self._steps = steps

    def render(self, trajectory: Trajectory, k: int) -> RenderedPrompt:
        if self._for is not trajectory:
            self._prepare(trajectory)
        window = self.options.history_window
        first = 0 if window is None else max(0, k - 1 - window)
        parts = list(self._head)
        for action, observation in self._steps[first : k - 1]:
            parts.append(action)
            if observation is not None:
                parts.append(observation)
        return RenderedPrompt(
            messages=[message for message, _ in parts],
            tokens=sum(tokens for _, tokens in parts),
            expert_action=trajectory.steps[k - 1].action,
        )


# Prompt renderers by trajectory kind. Add a kind here.
RENDERERS: dict[str, type] = {"text": TextStepPrompt, "agent": AgentStepPrompt}


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
        steps = trajectory.steps
        actions = [step.action for step in steps]
        num_steps = len(steps)
        limit = self.options.max_prompt_tokens
        for k in target_indices(num_steps, self.options.targets):
            rendered = renderer.render(trajectory, k)
            if limit is not None and rendered.tokens > limit:
                self.too_long += 1
                continue
            step = steps[k - 1]
            yield StepRecord(
                id=f"{trajectory.id}-s{k}",
                trajectory_id=trajectory.id,
                step_index=k,
                num_steps=num_steps,
                problem=trajectory.problem,
                previous_steps=actions[: k - 1],
                expert_action=rendered.expert_action,
                step_title=step.title,
                thought=step.thought,
                answer=trajectory.answer,
                prompt=rendered.messages,
                prompt_tokens=rendered.tokens,
                target_tokens=self.counter.count(rendered.expert_action),
                metadata=metadata,
            )
