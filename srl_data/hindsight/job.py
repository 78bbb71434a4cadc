"""The hindsight job: trajectories (or raw solutions) in, goal-directed pairs out.

read -> (segment) -> plan pairs -> goals -> leak guard -> render -> write,
streaming one trajectory at a time. The output is written atomically with a
run manifest beside it; ``dry_run`` counts the pairs each trajectory would
give and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..formats import get_hindsight_format
from ..manifest import build_manifest, parquet_metadata, write_manifests
from ..models import Reject
from ..readers import Row
from ..split_steps import check_distinct_paths
from ..summary import RunSummary, percentile
from ..trajectories import ReadOptions, Segmentation, SegmentOptions, iter_trajectories
from ..writers import Writer, writer_for
from .builder import HindsightBuilder, HindsightOptions


@dataclass(frozen=True)
class HindsightConfig:
    input: str
    output: str | None = None  # required unless dry_run
    read: ReadOptions = field(default_factory=ReadOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    options: HindsightOptions = field(default_factory=HindsightOptions)
    format: str = "trl"
    rejects: str | None = None
    dry_run: bool = False

    def __post_init__(self) -> None:
        get_hindsight_format(self.format)
        if self.output is None and not self.dry_run:
            raise ConfigError("no output file", hint="give one with -o, or count the pairs with --dry-run")
        if self.dry_run and (self.output is not None or self.rejects is not None):
            raise ConfigError("--dry-run writes nothing", hint="leave out -o and --rejects, or drop --dry-run")
        check_distinct_paths({"input": self.input, "-o": self.output, "--rejects": self.rejects})


@dataclass
class HindsightSummary(RunSummary):
    """A run summary plus what each strategy produced and what the guard dropped."""

    strategy: str = ""
    goal: str = ""
    dry_run: bool = False
    pairs_by_strategy: Counter[str] = field(default_factory=Counter)  # candidate pairs
    pairs_kept: int = 0
    leaky_kept: int = 0
    horizons: Counter[int] = field(default_factory=Counter)
    pairs_per_trajectory: Counter[int] = field(default_factory=Counter)

    @property
    def leak_dropped(self) -> int:
        return sum(n for reason, n in self.dropped_records.items() if reason.startswith("leak_"))

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        per = self.pairs_per_trajectory
        data.update(
            strategy=self.strategy,
            goal=self.goal,
            dry_run=self.dry_run,
            pairs_by_strategy=dict(self.pairs_by_strategy),
            pairs_kept=self.pairs_kept,
            leak_dropped=self.leak_dropped,
            leaky_kept=self.leaky_kept,
            horizon={"min": min(self.horizons) if self.horizons else None,
                     "median": percentile(self.horizons, 50),
                     "max": max(self.horizons) if self.horizons else None},
            pairs_per_trajectory={"min": min(per) if per else None, "median": percentile(per, 50),
                                  "max": max(per) if per else None},
        )
        return data


# (trajectory id, number of steps, candidate pairs, kept pairs)
PlanCallback = Callable[[str, int, int, int], None]


def hindsight(
    config: HindsightConfig,
    on_row: Callable[[Row], None] | None = None,
    on_trajectory: PlanCallback | None = None,
) -> HindsightSummary:
    """Run hindsight; return what it read, made, dropped and wrote."""
    opts = config.options
    summary = HindsightSummary(input=config.input, output=config.output or "", strategy=opts.strategy,
                               goal=opts.goal, dry_run=config.dry_run)
    to_row = get_hindsight_format(config.format)
    segmentation = Segmentation(config.segment, preset=config.read.preset)
    builder = HindsightBuilder(opts, tokens=not config.dry_run)
    templates: set[tuple[str, str]] = set()

    def count_row(row: Row) -> None:
        summary.rows_read += 1
        if on_row is not None:
            on_row(row)

    def manifest(**extra: Any) -> dict[str, Any]:
        return build_manifest(
            "hindsight",
            config=config,
            inputs=[config.input],
            outputs={"records": config.output, "rejects": config.rejects},
            templates=[{"id": i, "hash": h} for i, h in sorted(templates)],
            segmenter={"requested": segmentation.name, "used": dict(summary.rules)},
            strategy={"name": opts.strategy, "k": builder.strategy.k if builder.strategy.sampled else None,
                      "max_horizon": opts.max_horizon, "seed": opts.seed, "goal": opts.goal,
                      "leak_guard": not opts.keep_leaky},
            **extra,
        )

    with ExitStack() as stack:
        out: Writer | None = None
        if config.output is not None:
            meta = parquet_metadata(manifest()) if config.output.endswith(".parquet") else None
            out = stack.enter_context(writer_for(config.output, metadata=meta))
        rejects_out = stack.enter_context(writer_for(config.rejects)) if config.rejects else None

        def reject(item: Reject) -> None:
            summary.skipped[item.reason] += 1
            if rejects_out is not None:
                rejects_out.write(item.model_dump())

        for trajectory in iter_trajectories(config.input, config.read, segmentation, reject, on_row=count_row):
            summary.trajectories += 1
            summary.rules[trajectory.segmenter] += 1
            summary.steps_per_trajectory[len(trajectory.steps)] += 1
            before_candidates, before_kept = builder.candidates, builder.kept
            if out is None:
                for pair in builder.plan(trajectory):
                    if pair.drop is None:
                        summary.horizons[pair.j - pair.i] += 1
            else:
                for record in builder.build(trajectory):
                    summary.horizons[record.horizon] += 1
                    summary.prompt_tokens[record.prompt_tokens] += 1
                    summary.target_tokens[record.target_tokens] += 1
                    templates.add((record.metadata.template_id, record.metadata.template_hash))
                    out.write(to_row(record))
            kept = builder.kept - before_kept
            summary.pairs_per_trajectory[kept] += 1
            if on_trajectory is not None:
                on_trajectory(trajectory.id, len(trajectory.steps), builder.candidates - before_candidates, kept)
        summary.records_written = out.count if out is not None else 0
    summary.pairs_by_strategy[opts.strategy] = builder.candidates
    summary.pairs_kept = builder.kept
    summary.leaky_kept = builder.leaky_kept
    summary.dropped_records.update(builder.dropped)
    if config.rejects:
        summary.extra_outputs["rejects"] = config.rejects
    if config.output is not None:
        write_manifests([config.output, config.rejects], manifest(counts=summary.to_dict()))
    return summary
