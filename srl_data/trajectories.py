"""From input rows to segmented trajectories: the read and segment stages.

``iter_solutions`` reads rows and maps them onto solutions; ``segment_all``
cuts each into steps, sending solutions that give too few steps to a reject
callback with the reason. ``iter_trajectories`` also reads back the
``--trajectories-out`` files that split-steps writes, so later commands accept
either raw solutions or trajectories.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from .actions import get_action_format
from .errors import ConfigError, SegmentationError
from .models import Reject, Solution, Trajectory
from .presets import FieldMap, get_preset
from .readers import Row, read_rows, to_solution
from .segmenters import get_segmenter


@dataclass(frozen=True)
class ReadOptions:
    """Where the input is and which fields hold what (preset, then overrides)."""

    preset: str | None = None
    problem_field: str | None = None
    solution_field: str | None = None
    answer_field: str | None = None
    id_field: str | None = None
    thinking_field: str | None = None
    messages_field: str | None = None
    split: str | None = None

    def field_map(self) -> tuple[FieldMap, set[str]]:
        """The FieldMap to use and the optional fields the user asked for."""
        base = get_preset(self.preset).fields
        fields = base.override(
            problem=self.problem_field,
            solution=self.solution_field,
            answer=self.answer_field,
            id=self.id_field,
            thinking=self.thinking_field,
            messages=self.messages_field,
        )
        asked = (("answer", self.answer_field), ("id", self.id_field), ("thinking", self.thinking_field),
                 ("problem", self.problem_field))
        required = {name for name, value in asked if value is not None}
        return fields, required


@dataclass(frozen=True)
class SegmentOptions:
    """Which segmenter to use (None: the preset's) and how many steps make a trajectory."""

    segmenter: str | None = None
    min_steps: int = 2
    gsm8k: bool | None = None  # None: on with the gsm8k preset
    # Agent trajectories (segmenter 'agent'): how tool calls become actions.
    action_format: str | None = None  # None: function-xml
    split_parallel_calls: bool = False

    def __post_init__(self) -> None:
        if self.min_steps < 1:
            raise ConfigError("--min-steps must be at least 1")
        if self.action_format is not None:
            get_action_format(self.action_format)  # validates the name

    def agent_options(self) -> dict[str, object]:
        """The agent options the user set (empty when none)."""
        chosen: dict[str, object] = {}
        if self.action_format is not None:
            chosen["action_format"] = self.action_format
        if self.split_parallel_calls:
            chosen["split_parallel_calls"] = True
        return chosen


def iter_solutions(source: str, options: ReadOptions, on_row: Callable[[Row], None] | None = None) -> Iterator[Solution]:
    fields, required = options.field_map()
    for row in read_rows(source, split=options.split):
        if on_row is not None:
            on_row(row)
        yield to_solution(row, fields, required=required)


class Segmentation:
    """The segment stage: solutions in, trajectories out, rejects counted."""

    def __init__(self, options: SegmentOptions, preset: str | None = None) -> None:
        chosen = get_preset(preset)
        name = options.segmenter or chosen.segmenter
        seg_options: dict[str, object] = dict(chosen.segmenter_options)
        if options.gsm8k is not None:
            seg_options["gsm8k"] = options.gsm8k
        seg_options["min_steps"] = options.min_steps
        seg_options.update(options.agent_options())
        self.name = name
        self.min_steps = options.min_steps
        self.segmenter = get_segmenter(name, **seg_options)
        if self.segmenter.kind != "agent" and options.agent_options():
            flags = " and ".join("--" + k.replace("_", "-") for k in options.agent_options())
            raise ConfigError(
                f"{flags} {'applies' if len(options.agent_options()) == 1 else 'apply'} only to agent trajectories, "
                f"not to segmenter '{name}'",
                hint="Use --segmenter agent (or --preset messages, swe-agent or react), or drop the option",
            )

    def check(self, trajectory: Trajectory) -> Trajectory | Reject:
        """A trajectory read back from ``--trajectories-out`` is already cut into
        steps; only ``--min-steps`` still applies to it."""
        if len(trajectory.steps) < self.min_steps:
            return Reject(
                id=trajectory.id,
                reason="too_few_steps",
                detail=f"the trajectory read back has {len(trajectory.steps)} step(s); --min-steps is {self.min_steps}",
                location=trajectory.source,
            )
        return trajectory

    def segment(self, solution: Solution) -> Trajectory | Reject:
        if not (solution.solution or "").strip() and not solution.messages:
            return Reject(
                id=solution.id,
                reason="empty_solution",
                detail="the solution is empty once thinking is removed",
                location=solution.location,
            )
        if solution.messages is not None and self.segmenter.kind != "agent":
            raise ConfigError(
                f"the input holds agent messages, which segmenter '{self.name}' cannot split",
                hint="Use --segmenter agent",
            )
        try:
            result = self.segmenter.segment(solution)
        except SegmentationError as err:
            return Reject(id=solution.id, reason=err.reason, detail=err.message, location=solution.location)
        if len(result.steps) < self.min_steps:
            tried = result.notes.get("tried")
            detail = (
                "steps found by each rule: " + ", ".join(f"{k} {v}" for k, v in tried.items())
                if tried
                else f"{result.rule} found {len(result.steps)} step(s)"
            )
            return Reject(
                id=solution.id,
                reason="too_few_steps",
                detail=f"{detail}; --min-steps is {self.min_steps}",
                location=solution.location,
            )
        return Trajectory(
            id=solution.id,
            kind=self.segmenter.kind,  # type: ignore[arg-type]
            problem=solution.problem,
            answer=solution.answer or result.answer,
            thinking=solution.thinking,
            preamble=result.preamble,
            system=solution.system,
            segmenter=result.rule,
            steps=result.steps,
            source=solution.source,
            metadata={"segmenter_requested": self.name} if self.name != result.rule else {},
        )

    def run(self, solutions: Iterable[Solution], on_reject: Callable[[Reject], None]) -> Iterator[Trajectory]:
        for solution in solutions:
            out = self.segment(solution)
            if isinstance(out, Reject):
                on_reject(out)
            else:
                yield out


def is_trajectory_row(row: Row) -> bool:
    """Rows written by ``--trajectories-out`` have a list of ``steps`` and a ``segmenter``."""
    return isinstance(row.data.get("steps"), list) and "segmenter" in row.data


def trajectory_from_row(row: Row) -> Trajectory:
    data = row.data
    if isinstance(data.get("metadata"), str):  # Parquet stores the free-form metadata as JSON text
        try:
            data = {**data, "metadata": json.loads(data["metadata"])}
        except json.JSONDecodeError:
            raise row.error("is not a JSON object", field="metadata",
                            hint="pass a file written by --trajectories-out") from None
    try:
        return Trajectory.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise row.error(
            f"not a valid trajectory ({first['msg']})",
            field=field,
            hint="pass a file written by --trajectories-out, or raw solutions with --preset/field options",
        ) from None


def iter_inputs(source: str, read: ReadOptions, on_row: Callable[[Row], None] | None = None
                ) -> Iterator[Solution | Trajectory]:
    """Each row of ``source`` as a Trajectory when it was written by
    ``--trajectories-out`` (already segmented), else as a Solution (``read``'s fields)."""
    fields, required = read.field_map()
    for row in read_rows(source, split=read.split):
        if on_row is not None:
            on_row(row)
        if is_trajectory_row(row):
            yield trajectory_from_row(row)
        else:
            yield to_solution(row, fields, required=required)


def iter_trajectories(
    source: str,
    read: ReadOptions,
    segmentation: Segmentation,
    on_reject: Callable[[Reject], None],
    on_row: Callable[[Row], None] | None = None,
) -> Iterator[Trajectory]:
    """Trajectories from ``source``, row by row: rows written by
    ``--trajectories-out`` are read back as they are, any other row is read as
    a solution (``read``'s fields) and segmented; solutions that give too few
    steps go to ``on_reject``."""
    for item in iter_inputs(source, read, on_row):
        out = segmentation.check(item) if isinstance(item, Trajectory) else segmentation.segment(item)
        if isinstance(out, Reject):
            on_reject(out)
        else:
            yield out
