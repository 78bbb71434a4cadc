"""From trajectories to hindsight records: choose pairs, describe goals, guard
against leaks, render, validate.

``HindsightBuilder.plan`` yields every candidate pair of a trajectory with its
goal and the reason it is dropped, if any (no goal, or a leak); ``build``
renders the kept ones as validated :class:`~srl_data.models.HindsightRecord`
objects. Both stream: nothing outlives one trajectory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ConfigError
from ..models import HindsightMetadata, HindsightRecord, Trajectory
from ..tokens import TokenCounter
from .goals import get_goal
from ..text import normalize_ws
from .leak import normalized_leak_reason
from .render import HindsightPrompt, StateView
from .strategies import get_strategy, trajectory_rng

NO_GOAL = "no_goal"


@dataclass(frozen=True)
class HindsightOptions:
    """Which pairs, which goal, whether to keep leaky pairs, which template."""

    strategy: str = "future"
    k: int | None = None  # future only; None: the default (4)
    max_horizon: int | None = None
    seed: int = 0
    goal: str = "result"
    keep_leaky: bool = False
    template: str | None = None  # name in prompts/ or a file; None: by trajectory kind

    def __post_init__(self) -> None:
        get_strategy(self.strategy, k=self.k, max_horizon=self.max_horizon)  # validates
        get_goal(self.goal)
        if self.seed < 0:
            raise ConfigError("--seed must be zero or more")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pair (i, j) with its goal text and why it is dropped (None: kept)."""

    i: int
    j: int
    goal: str | None
    drop: str | None
    leaky: bool = False


class HindsightBuilder:
    """Turns trajectories into hindsight pairs; counts what it made and dropped."""

    def __init__(self, options: HindsightOptions, counter: TokenCounter | None = None, *, tokens: bool = True) -> None:
        self.options = options
        self.strategy = get_strategy(options.strategy, k=options.k, max_horizon=options.max_horizon)
        self.goal = get_goal(options.goal)
        self.counter = (counter or TokenCounter()) if tokens else None
        self._renderers: dict[str, HindsightPrompt] = {}
        self.candidates = 0  # pairs the strategy produced
        self.kept = 0
        self.dropped: Counter[str] = Counter()
        self.leaky_kept = 0

    def renderer(self, kind: str) -> HindsightPrompt:
        if kind not in self._renderers:
            self._renderers[kind] = HindsightPrompt.for_kind(kind, self.options.template, self.counter)
        return self._renderers[kind]

    def plan(self, trajectory: Trajectory, view: StateView | None = None) -> Iterator[Candidate]:
        """Every pair the strategy gives, with its goal and drop reason; counted."""
        view = view or self.renderer(trajectory.kind).prepare(trajectory)
        steps = trajectory.steps
        rng = trajectory_rng(self.options.seed, trajectory.id) if self.strategy.sampled else None
        keep_leaky = self.options.keep_leaky
        goal_kind = self.goal
        # Goals and normalised texts are reused across pairs of one trajectory.
        goals: dict[int, tuple[str | None, str]] = {}
        targets: dict[int, str] = {}
        for i, j in self.strategy.pairs(len(steps), rng):
            self.candidates += 1
            if j not in goals:
                text = goal_kind.text(view, j)
                goals[j] = (text, normalize_ws(text) if text is not None else "")
            goal, normal_goal = goals[j]
            if goal is None:
                self.dropped[NO_GOAL] += 1
                yield Candidate(i, j, None, NO_GOAL)
                continue
            if i not in targets:
                targets[i] = normalize_ws(steps[i].action)
            reason = normalized_leak_reason(normal_goal, targets[i])
            if reason is not None and not keep_leaky:
                self.dropped[reason] += 1
                yield Candidate(i, j, goal, reason, leaky=True)
                continue
            self.kept += 1
            if reason is not None:
                self.leaky_kept += 1
            yield Candidate(i, j, goal, None, leaky=reason is not None)

    def build(self, trajectory: Trajectory) -> Iterator[HindsightRecord]:
        """The kept pairs of ``trajectory`` as validated records."""
        renderer = self.renderer(trajectory.kind)
        view = renderer.prepare(trajectory)
        options = self.options
        metadata = HindsightMetadata(
            strategy=options.strategy,
            goal_kind=options.goal,
            seed=options.seed,
            k=self.strategy.k if self.strategy.sampled else None,
            max_horizon=options.max_horizon,
            leak_guard=not options.keep_leaky,
            segmenter=trajectory.segmenter,
            trajectory_kind=trajectory.kind,
            template_id=renderer.template.id,
            template_hash=renderer.template.hash,
            source=trajectory.source,
        )
        steps = trajectory.steps
        actions = [s.action for s in steps]
        has_observations = any(s.observation for s in steps)
        observations = [s.observation or "" for s in steps] if has_observations else None
        counter = self.counter
        label = self.goal.label
        for pair in self.plan(trajectory, view):
            if pair.drop is not None:
                continue
            i, j, goal = pair.i, pair.j, pair.goal
            assert goal is not None
            target = actions[i]
            messages, tokens = renderer.render(view, i, j, goal, label)
            yield HindsightRecord(
                id=f"{trajectory.id}-h{i}-{j}",
                trajectory_id=trajectory.id,
                start_index=i,
                goal_index=j,
                horizon=j - i,
                num_steps=len(steps),
                problem=trajectory.problem,
                start_state=actions[:i],
                start_observations=observations[:i] if observations is not None else None,
                goal=goal,
                goal_kind=options.goal,
                expert_action=target,
                answer=trajectory.answer,
                prompt=messages,
                prompt_tokens=tokens,
                target_tokens=counter.count(target) if counter else 0,
                metadata=metadata,
            )
