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


def to_trl(record: StepRecord) -> StepRecord:
    return record


def to_verl(record: StepRecord) -> dict[str, Any]:
    meta = record.metadata
    return {
        "data_source": DATA_SOURCE,
        "prompt": [m.model_dump() for m in record.prompt],
        "ability": "agent" if meta.segmenter == "agent" else "math",
        "reward_model": {"style": "rule", "ground_truth": record.expert_action},
        "extra_info": {
            "id": record.id,
            "trajectory_id": record.trajectory_id,
            "step_index": record.step_index,
            "num_steps": record.num_steps,
            "step_title": record.step_title,
            "answer": record.answer,
            "prompt_tokens": record.prompt_tokens,
            "target_tokens": record.target_tokens,
            "segmenter": meta.segmenter,
            "template_id": meta.template_id,
            "template_hash": meta.template_hash,
            "schema_version": meta.schema_version,
            "targets": meta.targets,
        },
    }


FORMATS: dict[str, Callable[[StepRecord], dict[str, Any] | StepRecord]] = {"trl": to_trl, "verl": to_verl}


def get_format(name: str) -> Callable[[StepRecord], dict[str, Any] | StepRecord]:
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(f"unknown --format '{name}'", hint=f"choose one of: {', '.join(FORMATS)}") from None


# ---------------------------------------------------------------------------
# Hindsight pairs (srl-data hindsight): same layout names, fields of a pair.


def hindsight_to_trl(record: HindsightRecord) -> dict[str, Any]:
    return record.model_dump()


def hindsight_to_verl(record: HindsightRecord) -> dict[str, Any]:
    meta = record.metadata
    return {
        "data_source": DATA_SOURCE,
        "prompt": [m.model_dump() for m in record.prompt],
        "ability": "agent" if meta.trajectory_kind == "agent" else "math",
        "reward_model": {"style": "rule", "ground_truth": record.expert_action},
        "extra_info": {
            "id": record.id,
            "trajectory_id": record.trajectory_id,
            "start_index": record.start_index,
            "goal_index": record.goal_index,
            "horizon": record.horizon,
            "num_steps": record.num_steps,
            "goal": record.goal,
            "goal_kind": record.goal_kind,
            "answer": record.answer,
            "prompt_tokens": record.prompt_tokens,
            "target_tokens": record.target_tokens,
            "strategy": meta.strategy,
            "seed": meta.seed,
            "segmenter": meta.segmenter,
            "template_id": meta.template_id,
            "template_hash": meta.template_hash,
            "schema_version": meta.schema_version,
        },
    }


HINDSIGHT_FORMATS: dict[str, Callable[[HindsightRecord], dict[str, Any]]] = {
    "trl": hindsight_to_trl,
    "verl": hindsight_to_verl,
}


def get_hindsight_format(name: str) -> Callable[[HindsightRecord], dict[str, Any]]:
    try:
        return HINDSIGHT_FORMATS[name]
    except KeyError:
        raise ConfigError(f"unknown --format '{name}'", hint=f"choose one of: {', '.join(HINDSIGHT_FORMATS)}") from None
