"""The split-steps job: expert solutions in, SRL step records out.

read -> segment -> build records -> write, streaming. All outputs are written
atomically: a failed run leaves none of them behind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .formats import get_format
from .manifest import build_manifest, parquet_metadata, write_manifests
from .models import Reject, Solution, Trajectory

# What split-steps reads: raw solutions, or trajectories written by --trajectories-out.
Item = Solution | Trajectory
from .readers import Row
from .records import StepRecordBuilder, StepRecordOptions
from .summary import RunSummary
from .tokens import TokenCounter
from .trajectories import ReadOptions, Segmentation, SegmentOptions, iter_inputs
from .writers import open_writers, writer_class, writer_for


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
    # Processes that segment and build (1: this one). Output is the same either way.
    workers: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError("--workers must be at least 1")
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


@dataclass
class _Batch:
    """What one batch of solutions gave, in input order: rows ready for each
    writer (:meth:`Writer.encode`) and the counts to add to the run's summary."""

    records: list[Any] = field(default_factory=list)
    trajectories: list[Any] = field(default_factory=list)
    rejects: list[Any] = field(default_factory=list)
    counts: RunSummary = field(default_factory=RunSummary)
    templates: set[tuple[str, str]] = field(default_factory=set)


class _Steps:
    """The segment and build stages for one process: a batch of solutions in,
    a :class:`_Batch` out. Rows leave encoded for their writers, so a worker
    process hands back bytes (JSONL) rather than models."""

    def __init__(self, config: SplitStepsConfig) -> None:
        self.segmentation = Segmentation(config.segment, preset=config.read.preset)
        self.builder = StepRecordBuilder(config.records, TokenCounter())
        self.to_row = get_format(config.format)
        self.encode = writer_class(config.output).encode
        self.encode_trajectory = writer_class(config.trajectories_out).encode if config.trajectories_out else None
        self.encode_reject = writer_class(config.rejects).encode if config.rejects else None
        # Agent-only record options: checked per item, since a --trajectories-out file
        # read back may hold agent trajectories whatever --segmenter says.
        self.agent_options = config.records.agent_options()
        self.config = config

    def run(self, solutions: list[Item]) -> _Batch:
        batch = _Batch()
        counts = batch.counts
        builder, to_row, encode = self.builder, self.to_row, self.encode
        records, prompt_tokens, target_tokens = batch.records, counts.prompt_tokens, counts.target_tokens
        too_long = builder.too_long
        for solution in solutions:
            # Rows written by --trajectories-out are already segmented.
            if isinstance(solution, Trajectory):
                trajectory = solution
                if self.agent_options and trajectory.kind != "agent":
                    raise self._agent_only(f"text trajectories (segmenter '{trajectory.segmenter}', "
                                           f"trajectory '{trajectory.id}')", "drop the option for this input")
                trajectory = self.segmentation.check(trajectory)
            else:
                if self.agent_options:
                    self.check_agent_options(self.config, self.segmentation)
                trajectory = self.segmentation.segment(solution)
            if isinstance(trajectory, Reject):
                counts.skipped[trajectory.reason] += 1
                if self.encode_reject is not None:
                    batch.rejects.append(self.encode_reject(trajectory.model_dump()))
                continue
            counts.trajectories += 1
            counts.rules[trajectory.segmenter] += 1
            counts.steps_per_trajectory[len(trajectory.steps)] += 1
            if self.encode_trajectory is not None:
                batch.trajectories.append(self.encode_trajectory(trajectory.model_dump()))
            for record in builder.build(trajectory):
                prompt_tokens[record.prompt_tokens] += 1
                target_tokens[record.target_tokens] += 1
                batch.templates.add((record.metadata.template_id, record.metadata.template_hash))
                records.append(encode(to_row(record)))
        if builder.too_long > too_long:
            counts.dropped_records["prompt_too_long"] = builder.too_long - too_long
        return batch

    def _agent_only(self, what: str, hint: str) -> ConfigError:
        return _agent_only(self.agent_options, what, hint)

    @staticmethod
    def check_agent_options(config: SplitStepsConfig, segmentation: Segmentation) -> None:
        """Agent-only options with a segmenter that makes text trajectories: a ConfigError."""
        flags = config.records.agent_options()
        if flags and segmentation.segmenter.kind != "agent":
            raise _agent_only(flags, f"segmenter '{segmentation.name}'",
                              "use --segmenter agent (or --preset messages, swe-agent or react), or drop the option")


def _agent_only(flags: list[str], what: str, hint: str) -> ConfigError:
    verb = "applies" if len(flags) == 1 else "apply"
    return ConfigError(f"{' and '.join(flags)} {verb} only to agent trajectories, not to {what}", hint=hint)


# Solutions per batch, and batches in flight per worker process: memory stays
# flat whatever the input size (a batch of s1K solutions is a few MiB of rows).
BATCH_SIZE = 64
WINDOW_PER_WORKER = 2

_worker_steps: _Steps | None = None


def _start_worker(config: SplitStepsConfig) -> None:
    global _worker_steps
    _worker_steps = _Steps(config)


def _run_in_worker(solutions: list[Item]) -> _Batch:
    assert _worker_steps is not None
    return _worker_steps.run(solutions)


def _batches(solutions: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while batch := list(islice(solutions, size)):
        yield batch


def _results(config: SplitStepsConfig, solutions: Iterator[Item]) -> Iterator[_Batch]:
    """Each batch's result, in input order: in this process, or with
    ``config.workers`` processes at most ``WINDOW_PER_WORKER`` batches each ahead."""
    if config.workers == 1:
        steps = _Steps(config)
        for batch in _batches(solutions, BATCH_SIZE):
            yield steps.run(batch)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    # spawn: a fresh interpreter per worker (no fork of a process with threads,
    # such as the progress bar's); each loads the tokenizer once.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(config.workers, mp_context=context, initializer=_start_worker,
                             initargs=(config,)) as pool:
        pending: deque[Future[_Batch]] = deque()
        try:
            for batch in _batches(solutions, BATCH_SIZE):
                pending.append(pool.submit(_run_in_worker, batch))
                if len(pending) >= config.workers * WINDOW_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def split_steps(config: SplitStepsConfig, on_row: Callable[[Row], None] | None = None) -> RunSummary:
    """Run split-steps; return what it read, skipped and wrote."""
    summary = RunSummary(input=config.input, output=config.output)
    segmentation = Segmentation(config.segment, preset=config.read.preset)
    if config.read.preset is not None or config.segment.segmenter is not None:
        # Raw solutions were asked for: a text segmenter refuses agent options before
        # anything is read (without either, the input may be agent trajectories read back).
        _Steps.check_agent_options(config, segmentation)

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
        solutions = iter_inputs(config.input, config.read, on_row=count_row)
        for batch in _results(config, solutions):
            summary.add(batch.counts)
            templates.update(batch.templates)
            for writer, rows in ((rejects_out, batch.rejects), (traj_out, batch.trajectories), (out, batch.records)):
                if writer is not None:
                    for row in rows:
                        writer.write_encoded(row)
        summary.records_written = out.count
    if config.trajectories_out:
        summary.extra_outputs["trajectories"] = config.trajectories_out
    if config.rejects:
        summary.extra_outputs["rejects"] = config.rejects
    write_manifests([config.output, config.trajectories_out, config.rejects], manifest(counts=summary.to_dict()))
    return summary
