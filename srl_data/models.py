"""Typed records that flow between stages (SPEC section 3).

read -> :class:`Solution` -> segment -> :class:`Trajectory` -> build ->
:class:`StepRecord` (or a hindsight pair) -> write.

Records are validated with pydantic before they are written. Every written row
carries a stable ``id``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Model):
    """One chat message of a rendered prompt."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str


class Solution(_Model):
    """A problem with one expert solution (text) or agent conversation (messages).

    ``thinking`` is kept apart from the solution: it never reaches a step.
    ``location`` is ``file:line`` of the row the solution came from.
    """

    id: str
    problem: str
    solution: str | None = None
    # Agent conversation as read (items checked by the agent segmenter, which
    # rejects what it cannot read instead of failing the run).
    messages: list[Any] | None = None
    # The conversation's own system prompt (agent tool descriptions), if any.
    system: str | None = None
    answer: str | None = None
    thinking: str | None = None
    source: str | None = None
    location: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Step(_Model):
    """One logical action of an expert trajectory.

    ``action`` is what is learned. ``title`` is the step's title where the
    solution gives one. ``thought`` is reasoning that accompanied the action
    (never a target). ``observation`` is what the environment answered (context
    only, never a target).
    """

    action: str
    title: str | None = None
    body: str | None = None
    thought: str | None = None
    observation: str | None = None


class Trajectory(_Model):
    """A problem plus its expert solution cut into ordered steps."""

    id: str
    kind: Literal["text", "agent"] = "text"
    problem: str
    answer: str | None = None
    thinking: str | None = None
    preamble: str | None = None
    system: str | None = None
    segmenter: str
    steps: list[Step]
    source: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class RecordMetadata(_Model):
    """Provenance of one step record."""

    segmenter: str
    template_id: str
    template_hash: str
    schema_version: str = SCHEMA_VERSION
    source: str | None = None
    targets: str = "all"
    title_hint: bool = False


class StepRecord(_Model):
    """One SRL instance: the context up to step k-1 and the expert's step k."""

    id: str
    trajectory_id: str
    step_index: int = Field(ge=1)
    num_steps: int = Field(ge=1)
    problem: str
    previous_steps: list[str]
    expert_action: str
    step_title: str | None = None
    # The reasoning that came with the expert's step (agents): for reference, never the target.
    thought: str | None = None
    answer: str | None = None
    prompt: list[Message]
    prompt_tokens: int = Field(ge=0)
    target_tokens: int = Field(ge=0)
    metadata: RecordMetadata


class Reject(_Model):
    """An input that did not become output, and why."""

    id: str | None
    reason: str
    detail: str | None = None
    location: str | None = None
    stage: str = "segment"


class HindsightMetadata(_Model):
    """Provenance of one hindsight pair: how it was chosen and rendered."""

    strategy: str
    goal_kind: str
    seed: int
    k: int | None = None
    max_horizon: int | None = None
    leak_guard: bool = True
    segmenter: str
    trajectory_kind: str = "text"
    template_id: str
    template_hash: str
    schema_version: str = SCHEMA_VERSION
    source: str | None = None


class HindsightRecord(_Model):
    """One goal-directed pair (trajectory, start i, goal j > i).

    States run s0 (the task alone) .. sN; step k's action leads from s(k-1) to
    s(k). The start state s_i is the problem plus the actions of steps 1..i
    (``start_state``) and, for agents, their observations
    (``start_observations``, context only). The target is a_(i+1), the action
    actually taken from s_i, whatever the goal.
    """

    id: str
    trajectory_id: str
    start_index: int = Field(ge=0)
    goal_index: int = Field(ge=1)
    horizon: int = Field(ge=1)
    num_steps: int = Field(ge=1)
    problem: str
    start_state: list[str]
    start_observations: list[str] | None = None
    goal: str
    goal_kind: str
    expert_action: str
    answer: str | None = None
    prompt: list[Message]
    prompt_tokens: int = Field(ge=0)
    target_tokens: int = Field(ge=0)
    metadata: HindsightMetadata

    @model_validator(mode="after")
    def _indices_agree(self) -> "HindsightRecord":
        if not self.start_index < self.goal_index <= self.num_steps:
            raise ValueError(f"need 0 <= start_index < goal_index <= num_steps, got "
                             f"{self.start_index}, {self.goal_index}, {self.num_steps}")
        if self.horizon != self.goal_index - self.start_index:
            raise ValueError("horizon must be goal_index - start_index")
        if len(self.start_state) != self.start_index:
            raise ValueError("start_state must hold the start_index actions before the start state")
        return self
