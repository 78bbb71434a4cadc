"""Counts a run collects as it streams: bounded memory (histograms, not lists)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def percentile(histogram: Counter[int], q: float) -> int | None:
    """The q-th percentile (0-100, nearest rank) of values counted in ``histogram``."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, -(-int(q * total) // 100)) if q > 0 else 1
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


@dataclass
class RunSummary:
    """What a split-steps (or similar) run read, made, skipped and wrote."""

    input: str = ""
    output: str = ""
    rows_read: int = 0
    trajectories: int = 0
    records_written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dropped_records: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    steps_per_trajectory: Counter[int] = field(default_factory=Counter)
    prompt_tokens: Counter[int] = field(default_factory=Counter)
    target_tokens: Counter[int] = field(default_factory=Counter)
    extra_outputs: dict[str, str] = field(default_factory=dict)

    def add(self, other: "RunSummary") -> None:
        """Add the counts of ``other`` (e.g. one batch's) to these."""
        self.rows_read += other.rows_read
        self.trajectories += other.trajectories
        self.records_written += other.records_written
        for mine, theirs in ((self.skipped, other.skipped), (self.dropped_records, other.dropped_records),
                             (self.rules, other.rules), (self.steps_per_trajectory, other.steps_per_trajectory),
                             (self.prompt_tokens, other.prompt_tokens), (self.target_tokens, other.target_tokens)):
            mine.update(theirs)

    def to_dict(self) -> dict[str, Any]:
        steps = self.steps_per_trajectory
        return {
            "input": self.input,
            "output": self.output,
            "rows_read": self.rows_read,
            "trajectories": self.trajectories,
            "records_written": self.records_written,
            "skipped": dict(self.skipped),
            "dropped_records": dict(self.dropped_records),
            "rules": dict(self.rules),
            "steps_per_trajectory": {
                "min": min(steps) if steps else None,
                "median": percentile(steps, 50),
                "max": max(steps) if steps else None,
            },
            "prompt_tokens": {"p50": percentile(self.prompt_tokens, 50), "p95": percentile(self.prompt_tokens, 95),
                              "max": max(self.prompt_tokens) if self.prompt_tokens else None},
            "target_tokens": {"p50": percentile(self.target_tokens, 50), "p95": percentile(self.target_tokens, 95),
                              "max": max(self.target_tokens) if self.target_tokens else None},
            "extra_outputs": dict(self.extra_outputs),
        }
