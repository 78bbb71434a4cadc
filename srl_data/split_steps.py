"""The split-steps job: expert solutions in, SRL step records out.

read -> segment -> build records -> write, streaming. All outputs are written
atomically: a failed run leaves none of them behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .formats import get_format
from .manifest import build_manifest, parquet_metadata, write_manifests
from .models import Reject
from .readers import Row
from .records import StepRecordBuilder, StepRecordOptions
from .summary import RunSummary
from .tokens import TokenCounter
from .trajectories import ReadOptions, Segmentation, SegmentOptions, iter_solutions
from .writers import open_writers, writer_for


@dataclass(frozen=True)
class SplitStepsConfig:
    input: str
    output: str
    read: ReadOptions = field(default_factory=ReadOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    records: StepRecordOptions = field(default_factory=StepRecordOptions)
    format: str = "trl"
    trajectories_out: str | None = None
    rejects: str | None = None

    def __post_init__(self) -> None:
        get_format(self.format)  # validates the name
        check_distinct_paths(
            {"input": self.input, "-o": self.output, "--trajectories-out": self.trajectories_out,
             "--rejects": self.rejects}
        )


def check_distinct_paths(paths: dict[str, str | None]) -> None:
    """Refuse two options that name the same file (one would overwrite the other)."""
    seen: dict[Path, str] = {}
    for flag, value in paths.items():
        if value is None:
            continue
        resolved = Path(value).resolve()
        if resolved in seen:
            raise ConfigError(
                f"{seen[resolved]} and {flag} name the same file '{value}'",
                hint="give each output its own path",
            )
        seen[resolved] = flag


def split_steps(config: SplitStepsConfig, on_row: Callable[[Row], None] | None = None) -> RunSummary:
    """Run split-steps; return what it read, skipped and wrote."""
    summary = RunSummary(input=config.input, output=config.output)
    to_row = get_format(config.format)
    segmentation = Segmentation(config.segment, preset=config.read.preset)
    if segmentation.segmenter.kind != "agent" and config.records.agent_options():
        raise ConfigError(
            f"{' and '.join(config.records.agent_options())} "
            f"{'applies' if len(config.records.agent_options()) == 1 else 'apply'} only to agent trajectories, "
            f"not to segmenter '{segmentation.name}'",
            hint="Use --segmenter agent (or --preset messages, swe-agent or react), or drop the option",
        )
    builder = StepRecordBuilder(config.records, TokenCounter())

    def count_row(row: Row) -> None:
        summary.rows_read += 1
        if on_row is not None:
            on_row(row)

    def manifest(**extra: object) -> dict:
        return build_manifest(
            "split-steps",
            config=config,
            inputs=[config.input],
            outputs={"records": config.output, "trajectories": config.trajectories_out, "rejects": config.rejects},
            templates=[{"id": i, "hash": h} for i, h in templates],
            segmenter={"requested": segmentation.name, "used": dict(summary.rules)},
            **extra,  # type: ignore[arg-type]
        )

    templates: set[tuple[str, str]] = set()
    meta = parquet_metadata(manifest()) if config.output.endswith(".parquet") else None
    with open_writers(
        writer_for(config.output, metadata=meta),
        writer_for(config.trajectories_out, json_columns={"metadata"}) if config.trajectories_out else None,
        writer_for(config.rejects) if config.rejects else None,
    ) as (out, traj_out, rejects_out):
        assert out is not None

        def reject(item: Reject) -> None:
            summary.skipped[item.reason] += 1
            if rejects_out is not None:
                rejects_out.write(item.model_dump())

        solutions = iter_solutions(config.input, config.read, on_row=count_row)
        for trajectory in segmentation.run(solutions, reject):
            summary.trajectories += 1
            summary.rules[trajectory.segmenter] += 1
            summary.steps_per_trajectory[len(trajectory.steps)] += 1
            if traj_out is not None:
                traj_out.write(trajectory.model_dump())
            for record in builder.build(trajectory):
                summary.prompt_tokens[record.prompt_tokens] += 1
                summary.target_tokens[record.target_tokens] += 1
                templates.add((record.metadata.template_id, record.metadata.template_hash))
                out.write(to_row(record))
        summary.records_written = out.count
    if builder.too_long:
        summary.dropped_records["prompt_too_long"] = builder.too_long
    if config.trajectories_out:
        summary.extra_outputs["trajectories"] = config.trajectories_out
    if config.rejects:
        summary.extra_outputs["rejects"] = config.rejects
    write_manifests([config.output, config.trajectories_out, config.rejects], manifest(counts=summary.to_dict()))
    return summary
