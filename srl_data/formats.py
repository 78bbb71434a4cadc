"""Output row layouts for trainers. Add a layout: one function in :data:`FORMATS`.

- ``trl``: every record field, with ``prompt`` as a conversational list of
  ``{role, content}`` messages. TRL passes the extra columns (``expert_action``
  among them) to reward functions as keyword arguments. The row is the
  validated record itself (writers serialise a model as its ``model_dump()``,
  JSONL without building the dict).
- ``verl``: verl's RL dataset columns: ``data_source``, ``prompt``, ``ability``,
  ``reward_model: {style, ground_truth}`` and ``extra_info``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ConfigError
from .models import HindsightRecord, StepRecord

DATA_SOURCE = "srl_data"


def _verl_row(record: StepRecord | HindsightRecord, agent: bool, extra_info: dict[str, Any]) -> dict[str, Any]:
    """verl's columns, shared by step records and hindsight pairs: the target is
    the expert action; ``extra_info`` carries the ids and provenance."""
    meta = record.metadata
    return {
        "data_source": DATA_SOURCE,
        "prompt": [m.model_dump() for m in record.prompt],
        "ability": "agent" if agent else "math",
        "reward_model": {"style": "rule", "ground_truth": record.expert_action},
        "extra_info": {
            "id": record.id,
            "trajectory_id": record.trajectory_id,
            **extra_info,
            "answer": record.answer,
            "prompt_tokens": record.prompt_tokens,
            "target_tokens": record.target_tokens,
            "segmenter": meta.segmenter,
            "template_id": meta.template_id,
            "template_hash": meta.template_hash,
            "schema_version": meta.schema_version,
        },
    }


def _pick(layouts: dict[str, Any], name: str) -> Any:
    try:
        return layouts[name]
    except KeyError:
        raise ConfigError(f"unknown --format '{name}'", hint=f"choose one of: {', '.join(layouts)}") from None


def to_trl(record: StepRecord) -> StepRecord:
    return record


def to_verl(record: StepRecord) -> dict[str, Any]:
    extra = {"step_index": record.step_index, "num_steps": record.num_steps, "step_title": record.step_title}
    row = _verl_row(record, record.metadata.segmenter == "agent", extra)
    row["extra_info"]["targets"] = record.metadata.targets
    return row


FORMATS: dict[str, Callable[[StepRecord], dict[str, Any] | StepRecord]] = {"trl": to_trl, "verl": to_verl}


def get_format(name: str) -> Callable[[StepRecord], dict[str, Any] | StepRecord]:
    return _pick(FORMATS, name)


# ---------------------------------------------------------------------------
# Hindsight pairs (srl-data hindsight): same layout names, fields of a pair.


def hindsight_to_trl(record: HindsightRecord) -> dict[str, Any]:
    return record.model_dump()


def hindsight_to_verl(record: HindsightRecord) -> dict[str, Any]:
    meta = record.metadata
    extra = {"start_index": record.start_index, "goal_index": record.goal_index, "horizon": record.horizon,
             "num_steps": record.num_steps, "goal": record.goal, "goal_kind": record.goal_kind}
    row = _verl_row(record, meta.trajectory_kind == "agent", extra)
    row["extra_info"].update(strategy=meta.strategy, seed=meta.seed)
    return row


HINDSIGHT_FORMATS: dict[str, Callable[[HindsightRecord], dict[str, Any]]] = {
    "trl": hindsight_to_trl,
    "verl": hindsight_to_verl,
}


def get_hindsight_format(name: str) -> Callable[[HindsightRecord], dict[str, Any]]:
    return _pick(HINDSIGHT_FORMATS, name)
