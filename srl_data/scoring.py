"""Score model predictions on held-out step records with the SRL reward.

``score(config)`` reads the step records (trl or verl layout) once, keeping
only each record's expert action and step index, then streams the
predictions (``id`` plus a ``completion``: text or a list of chat messages),
scores each with :func:`srl_data.reward.score_responses` and writes one row
per prediction. Several predictions may share an id (several samples of one
record); each is scored. The summary holds the mean reward, the
format-failure rate and a breakdown by step index.

Memory grows with the number of records (their expert actions), never with
the predictions or the prompts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .readers import Row, read_rows
from .reward import RewardOptions, completion_text, score_responses
from .writers import writer_for

BATCH = 256  # predictions scored together (one embedding call with --semantic-weight)


@dataclass(frozen=True)
class ScoreConfig:
    predictions: str
    records: str
    output: str | None = None
    reward: RewardOptions = field(default_factory=RewardOptions)
    # Score only the records that have a prediction instead of failing on the others.
    partial: bool = False

    def __post_init__(self) -> None:
        from .split_steps import check_distinct_paths

        check_distinct_paths({"PREDICTIONS": self.predictions, "--records": self.records, "-o": self.output})


@dataclass(frozen=True)
class Target:
    expert_action: str
    step_index: int | None


@dataclass
class StepStats:
    count: int = 0
    reward_sum: float = 0.0
    format_failures: int = 0

    @property
    def mean_reward(self) -> float | None:
        return self.reward_sum / self.count if self.count else None


@dataclass
class ScoreSummary:
    predictions: str = ""
    records: str = ""
    output: str | None = None
    records_read: int = 0
    scored: int = 0
    reward_sum: float = 0.0
    well_formed_reward_sum: float = 0.0
    format_failures: int = 0
    unscored_records: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    by_step: dict[int | None, StepStats] = field(default_factory=dict)

    @property
    def mean_reward(self) -> float | None:
        return self.reward_sum / self.scored if self.scored else None

    @property
    def format_failure_rate(self) -> float | None:
        return self.format_failures / self.scored if self.scored else None

    @property
    def mean_reward_well_formed(self) -> float | None:
        ok = self.scored - self.format_failures
        return self.well_formed_reward_sum / ok if ok else None

    def to_dict(self) -> dict[str, Any]:
        steps = sorted(self.by_step.items(), key=lambda item: (item[0] is None, item[0] or 0))
        return {
            "predictions": self.predictions,
            "records": self.records,
            "output": self.output,
            "records_read": self.records_read,
            "scored": self.scored,
            "unscored_records": self.unscored_records,
            "mean_reward": self.mean_reward,
            "format_failures": self.format_failures,
            "format_failure_rate": self.format_failure_rate,
            "mean_reward_well_formed": self.mean_reward_well_formed,
            "format_problems": dict(self.problems),
            "by_step": [
                {"step_index": index, "count": stats.count, "mean_reward": stats.mean_reward,
                 "format_failures": stats.format_failures}
                for index, stats in steps
            ],
        }


# ---------------------------------------------------------------------------
# Records


def _record_target(row: Row) -> tuple[str, Target]:
    """(id, target) of one step record in trl or verl layout."""
    data = row.data
    if "expert_action" in data:  # trl layout: every record field at the top
        record_id, action, step_index = data.get("id"), data["expert_action"], data.get("step_index")
        id_field, action_field = "id", "expert_action"
    elif isinstance(data.get("reward_model"), dict):  # verl layout
        extra = data.get("extra_info") if isinstance(data.get("extra_info"), dict) else {}
        record_id = extra.get("id", data.get("id"))
        action = data["reward_model"].get("ground_truth")
        step_index = extra.get("step_index")
        id_field, action_field = "extra_info.id", "reward_model.ground_truth"
    else:
        raise row.error(
            "not a step record: it has neither 'expert_action' (trl layout) nor 'reward_model' (verl layout)",
            hint="pass the output of srl-data split-steps to --records",
        )
    if record_id is None or isinstance(record_id, bool) or not isinstance(record_id, (str, int)):
        raise row.error("missing" if record_id is None else f"expected text, got {type(record_id).__name__}",
                        field=id_field, hint="every step record needs an id")
    if not isinstance(action, str):
        raise row.error("missing" if action is None else f"expected text, got {type(action).__name__}",
                        field=action_field, hint="pass the output of srl-data split-steps to --records")
    if step_index is not None and (isinstance(step_index, bool) or not isinstance(step_index, int)):
        step_index = None
    return str(record_id), Target(action, step_index)


def read_targets(path: str) -> dict[str, Target]:
    """Expert action and step index of every record in ``path``, by id."""
    targets: dict[str, Target] = {}
    for row in read_rows(path):
        record_id, target = _record_target(row)
        if record_id in targets:
            raise row.error(f"duplicate record id '{record_id}'", field="id",
                            hint="each step record needs its own id")
        targets[record_id] = target
    return targets


# ---------------------------------------------------------------------------
# Predictions


def _prediction(row: Row, targets: dict[str, Target]) -> tuple[str, Any, Target]:
    data = row.data
    pred_id = data.get("id")
    if pred_id is None or isinstance(pred_id, bool) or not isinstance(pred_id, (str, int)):
        raise row.error("missing" if pred_id is None else f"expected text, got {type(pred_id).__name__}",
                        field="id", hint="each prediction needs the id of the step record it answers")
    if "completion" not in data:
        present = ", ".join(sorted(data)) or "none"
        raise row.error("missing", field="completion",
                        hint=f"each prediction needs the model's completion (this row has: {present})")
    completion = data["completion"]
    if not isinstance(completion, (str, list)):
        raise row.error(f"expected text or a list of messages, got {type(completion).__name__}",
                        field="completion", hint="store the model's reply as text or as chat messages")
    target = targets.get(str(pred_id))
    if target is None:
        raise row.error(f"no step record has id '{pred_id}'", field="id",
                        hint="check that --records is the file the predictions were made from")
    return str(pred_id), completion, target


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def score(config: ScoreConfig, on_row: Callable[[Row], None] | None = None) -> ScoreSummary:
    """Score every prediction against its step record; write per-prediction rows to ``config.output``."""
    if config.reward.semantic_weight > 0:
        from .reward import _load_semantic_model

        _load_semantic_model()  # a missing extra fails before any reading
    summary = ScoreSummary(predictions=config.predictions, records=config.records, output=config.output)
    targets = read_targets(config.records)
    summary.records_read = len(targets)
    predicted: set[str] = set()
    semantic = config.reward.semantic_weight > 0

    def run(write: Callable[[dict[str, Any]], None] | None) -> None:
        for batch in _batches(read_rows(config.predictions), BATCH):
            items = [_prediction(row, targets) for row in batch]
            if on_row is not None:
                for row in batch:
                    on_row(row)
            scores = score_responses([completion_text(c) for _, c, _ in items],
                                     [t.expert_action for _, _, t in items], config.reward)
            for (pred_id, _, target), result in zip(items, scores):
                predicted.add(pred_id)
                summary.scored += 1
                summary.reward_sum += result.reward
                stats = summary.by_step.setdefault(target.step_index, StepStats())
                stats.count += 1
                stats.reward_sum += result.reward
                if result.format_ok:
                    summary.well_formed_reward_sum += result.reward
                else:
                    summary.format_failures += 1
                    stats.format_failures += 1
                    summary.problems[result.problem or "malformed"] += 1
                if write is not None:
                    out = {
                        "id": pred_id,
                        "step_index": target.step_index,
                        "reward": result.reward,
                        "format_ok": result.format_ok,
                        "format_problem": result.problem,
                        "sequence_similarity": result.sequence,
                    }
                    if semantic:
                        out["semantic_similarity"] = result.semantic
                    write(out)
        missing = len(targets) - len(predicted)
        summary.unscored_records = missing
        if missing and not config.partial:
            first = next(record_id for record_id in targets if record_id not in predicted)
            raise InputError(
                f"{missing:,} of {len(targets):,} step records have no prediction (the first: id '{first}')",
                path=config.records,
                hint="add predictions for them, or pass --partial to score only the records that have one",
            )

    if config.output is None:
        run(None)
    else:
        with writer_for(config.output) as writer:
            run(writer.write)
    return summary

