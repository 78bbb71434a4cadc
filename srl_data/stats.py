"""Statistics of any srl-data output: what ``srl-data stats`` prints and what
the dataset card shows.

The kind of a file is detected from its columns (:func:`detect_kind`): SRL
step records (``steps``, TRL or verl layout), hindsight pairs (``hindsight``),
segmented trajectories (``trajectories``), teacher solutions (``solutions``)
or rejects / failures (``rejects``). :class:`StatsCollector` takes rows one
at a time and keeps histograms, never the rows, so memory stays flat however
long the file is; ``publish`` feeds it the rows it is already streaming.

Trajectories are counted as runs of consecutive rows with the same trajectory
id, which is how srl-data writes them (all records of a trajectory together).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, MissingDependencyError
from .manifest import read_manifest
from .summary import percentile

KINDS = ("steps", "hindsight", "trajectories", "solutions", "rejects")

# Manifest count groups that say what was dropped and why (name -> {reason: n}).
REJECT_GROUPS = ("skipped", "dropped_records", "dropped", "failures", "rejected", "outcomes_failed")


def detect_kind(row: Mapping[str, Any]) -> str | None:
    """The kind of srl-data output a row belongs to, or None."""
    extra = row.get("extra_info")
    if "reward_model" in row and isinstance(extra, Mapping):
        return "hindsight" if "horizon" in extra else "steps"
    if "horizon" in row and "goal" in row:
        return "hindsight"
    if "expert_action" in row and "step_index" in row:
        return "steps"
    if isinstance(row.get("steps"), list) and "segmenter" in row:
        return "trajectories"
    if "problem" in row and "solution" in row:
        return "solutions"
    if "reason" in row:
        return "rejects"
    return None


def kind_of(row: Mapping[str, Any], where: str) -> str:
    kind = detect_kind(row)
    if kind is None:
        columns = ", ".join(sorted(map(str, row))[:12])
        raise InputError(
            f"is not an srl-data output (columns: {columns})",
            path=where,
            hint="pass a file written by split-steps, hindsight or generate, or name its kind as NAME=PATH",
        )
    return kind


def _get(row: Mapping[str, Any], name: str) -> Any:
    """A field from the row, or from verl's ``extra_info``."""
    if name in row:
        return row[name]
    extra = row.get("extra_info")
    if isinstance(extra, Mapping):
        return extra.get(name)
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _histogram_summary(histogram: Counter[int]) -> dict[str, int | None]:
    return {
        "p50": percentile(histogram, 50),
        "p95": percentile(histogram, 95),
        "max": max(histogram) if histogram else None,
    }


@dataclass
class Stats:
    """Counts and histograms of one output file."""

    kind: str
    path: str = ""
    rows: int = 0
    trajectories: int = 0
    steps_per_trajectory: Counter[int] = field(default_factory=Counter)
    prompt_tokens: Counter[int] = field(default_factory=Counter)
    target_tokens: Counter[int] = field(default_factory=Counter)
    horizons: Counter[int] = field(default_factory=Counter)
    # Categorical breakdowns: e.g. segmenter, strategy, goal_kind, verified.
    by: dict[str, Counter[str]] = field(default_factory=dict)
    # Rows of a rejects / failures file by reason, plus the run's own counts
    # (from its manifest) of what it dropped and why.
    reasons: Counter[str] = field(default_factory=Counter)
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        def hist(counter: Counter[int]) -> dict[str, int]:
            return {str(k): counter[k] for k in sorted(counter)}

        data: dict[str, Any] = {
            "kind": self.kind,
            "path": self.path,
            "rows": self.rows,
            "trajectories": self.trajectories,
        }
        if self.steps_per_trajectory:
            data["steps_per_trajectory"] = {
                **_histogram_summary(self.steps_per_trajectory),
                "min": min(self.steps_per_trajectory),
                "histogram": hist(self.steps_per_trajectory),
            }
        if self.prompt_tokens:
            data["prompt_tokens"] = _histogram_summary(self.prompt_tokens)
        if self.target_tokens:
            data["target_tokens"] = _histogram_summary(self.target_tokens)
        if self.horizons:
            data["horizons"] = {**_histogram_summary(self.horizons), "min": min(self.horizons),
                                "histogram": hist(self.horizons)}
        if self.by:
            data["by"] = {name: dict(counter.most_common()) for name, counter in sorted(self.by.items())}
        if self.reasons:
            data["reasons"] = dict(self.reasons.most_common())
        if self.dropped:
            data["dropped"] = self.dropped
        return data


# Which categorical fields to break each kind down by: (label, field path).
_BREAKDOWNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "steps": (("segmenter", ("metadata", "segmenter")), ("targets", ("metadata", "targets")),
              ("segmenter", ("extra_info", "segmenter")), ("template", ("metadata", "template_id"))),
    "hindsight": (("strategy", ("metadata", "strategy")), ("goal_kind", ("goal_kind",)),
                  ("strategy", ("extra_info", "strategy")), ("goal_kind", ("extra_info", "goal_kind"))),
    "trajectories": (("segmenter", ("segmenter",)), ("trajectory_kind", ("kind",))),
    "solutions": (("verified", ("verified",)), ("finish_reason", ("finish_reason",)),
                  ("teacher", ("teacher", "model"))),
    "rejects": (("stage", ("stage",)),),
}


def _path(row: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = row
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class StatsCollector:
    """Accumulates :class:`Stats` from rows of one kind, one row at a time."""

    def __init__(self, kind: str, path: str = "") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        self.stats = Stats(kind=kind, path=path)
        self._last_trajectory: Any = object()

    def _trajectory(self, trajectory_id: Any, num_steps: int | None) -> None:
        if trajectory_id != self._last_trajectory:
            self._last_trajectory = trajectory_id
            self.stats.trajectories += 1
            if num_steps is not None:
                self.stats.steps_per_trajectory[num_steps] += 1

    def add(self, row: Mapping[str, Any]) -> None:
        stats = self.stats
        stats.rows += 1
        kind = stats.kind
        if kind in ("steps", "hindsight"):
            self._trajectory(_get(row, "trajectory_id"), _int(_get(row, "num_steps")))
            for counter, name in ((stats.prompt_tokens, "prompt_tokens"), (stats.target_tokens, "target_tokens")):
                value = _int(_get(row, name))
                if value is not None:
                    counter[value] += 1
            if kind == "hindsight":
                horizon = _int(_get(row, "horizon"))
                if horizon is not None:
                    stats.horizons[horizon] += 1
        elif kind == "trajectories":
            steps = row.get("steps")
            self._trajectory(row.get("id"), len(steps) if isinstance(steps, list) else None)
        elif kind == "solutions":
            stats.trajectories += 1
            usage = row.get("usage")
            if isinstance(usage, Mapping):
                for counter, name in ((stats.prompt_tokens, "prompt_tokens"),
                                      (stats.target_tokens, "completion_tokens")):
                    value = _int(usage.get(name))
                    if value is not None:
                        counter[value] += 1
        elif kind == "rejects":
            stats.reasons[str(row.get("reason") or row.get("outcome") or "unknown")] += 1
        for label, keys in _BREAKDOWNS.get(kind, ()):
            value = _path(row, keys)
            if value is not None and not isinstance(value, (Mapping, list)):
                stats.by.setdefault(label, Counter())[str(value)] += 1

    def add_all(self, rows: Iterable[Mapping[str, Any]]) -> "StatsCollector":
        for row in rows:
            self.add(row)
        return self

    def add_manifest(self, manifest: Mapping[str, Any] | None) -> None:
        """Take what the run dropped and why from its manifest counts."""
        if not manifest:
            return
        self.stats.manifest = dict(manifest)
        counts = manifest.get("counts")
        if not isinstance(counts, Mapping):
            return
        for group in REJECT_GROUPS:
            value = counts.get(group)
            if isinstance(value, Mapping):
                reasons = {str(k): v for k, v in value.items() if _int(v)}
                if reasons:
                    self.stats.dropped[group] = reasons

    def result(self) -> Stats:
        return self.stats


def collect_stats(path: str | Path, kind: str | None = None) -> Stats:
    """Read ``path`` once (streaming) and return its statistics."""
    from .readers import read_rows

    collector: StatsCollector | None = None
    for row in read_rows(path):
        if collector is None:
            collector = StatsCollector(kind or kind_of(row.data, row.location), str(path))
        collector.add(row.data)
    assert collector is not None  # read_rows raises on an empty input
    collector.add_manifest(read_manifest(path))
    return collector.result()


def plot_stats(stats: Stats, output: str | Path) -> Path:
    """Write the histograms of ``stats`` as a PNG; needs matplotlib (the ``plot`` extra)."""
    if Path(output).suffix.lower() != ".png":
        from .errors import ConfigError

        raise ConfigError("--plot writes a PNG", path=str(output), hint="end the file name in .png")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            "--plot needs matplotlib, which is not installed", hint='install it with: pip install "srl-data[plot]"'
        ) from None
    from .errors import OutputError

    panels = [
        (stats.steps_per_trajectory, "steps per trajectory", "steps", "trajectories", True),
        (stats.horizons, "hindsight horizons (j - i)", "horizon", "pairs", True),
        (stats.prompt_tokens, "prompt tokens", "tokens (cl100k_base)", "rows", False),
        (stats.target_tokens, "target tokens" if stats.kind != "solutions" else "completion tokens",
         "tokens (cl100k_base)", "rows", False),
    ]
    panels = [p for p in panels if p[0]]
    if stats.reasons:
        panels.append((stats.reasons, "rows by reason", "", "rows", True))
    if not panels:
        raise InputError("has nothing to plot", path=stats.path, hint="run srl-data stats without --plot")
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (counter, title, xlabel, ylabel, discrete) in zip(axes.flat, panels):
        keys = list(counter)
        if discrete and all(isinstance(k, str) for k in keys):
            ordered = counter.most_common()
            ax.bar([k for k, _ in ordered], [v for _, v in ordered], color="#4c72b0")
            ax.tick_params(axis="x", labelrotation=30)
        elif discrete:
            ax.bar(keys, [counter[k] for k in keys], width=0.8, color="#4c72b0")
            ax.set_xticks(range(min(keys), max(keys) + 1, max(1, (max(keys) - min(keys)) // 12 + 1)))
        else:
            ax.hist(keys, weights=[counter[k] for k in keys], bins=min(40, max(5, len(keys))), color="#4c72b0")
            for q, style in ((50, "--"), (95, ":")):
                value = percentile(counter, q)
                ax.axvline(value, color="#c44e52", linestyle=style, label=f"p{q} = {value}")
            ax.legend()
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    fig.suptitle(f"{Path(stats.path).name}: {stats.rows:,} rows ({stats.kind})")
    fig.tight_layout()
    out = Path(output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
    except OSError as exc:
        raise OutputError(f"cannot write the plot ({exc.strerror})", path=str(out)) from None
    finally:
        plt.close(fig)
    return out
