"""The split-steps job end to end (library level) on real and bundled data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from srl_data.errors import InputError
from srl_data.records import StepRecordOptions
from srl_data.split_steps import SplitStepsConfig, split_steps
from srl_data.trajectories import ReadOptions, SegmentOptions

REPO = Path(__file__).resolve().parents[1]
GSM8K = REPO.parent / "shared" / "data" / "gsm8k" / "train_sample.jsonl"
EXAMPLES = REPO / "examples"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(not GSM8K.exists(), reason="GSM8K sample not present")
def test_gsm8k_sample_splits_into_exactly_its_answer_lines(tmp_path):
    rows = read_jsonl(GSM8K)
    config = SplitStepsConfig(
        input=str(GSM8K), output=str(tmp_path / "steps.jsonl"), read=ReadOptions(preset="gsm8k"),
        trajectories_out=str(tmp_path / "traj.jsonl"),
    )
    summary = split_steps(config)
    trajectories = read_jsonl(tmp_path / "traj.jsonl")
    assert summary.rows_read == len(rows) == len(trajectories) == summary.trajectories
    assert summary.skipped == {}
    total_steps = 0
    for row, traj in zip(rows, trajectories):
        lines = row["answer"].split("\n")
        final = lines[-1]
        assert final.startswith("#### ")
        # Expected independently of the segmenter: every line but the last, notes removed.
        expected = [re.sub(r"<<[^>]*>>", "", line).strip() for line in lines[:-1]]
        expected = [line for line in expected if line]
        assert [s["action"] for s in traj["steps"]] == expected
        assert all("<<" not in s["action"] and "####" not in s["action"] for s in traj["steps"])
        assert traj["answer"] == final.removeprefix("#### ").strip()
        assert traj["problem"] == row["question"]
        assert traj["segmenter"] == "lines"
        total_steps += len(expected)
    records = read_jsonl(tmp_path / "steps.jsonl")
    assert len(records) == total_steps == summary.records_written
    by_traj = {t["id"]: t for t in trajectories}
    for record in records:
        traj = by_traj[record["trajectory_id"]]
        assert record["expert_action"] == traj["steps"][record["step_index"] - 1]["action"]
        assert record["answer"] == traj["answer"]


def test_s1k_examples_with_rejects_and_trajectories(tmp_path):
    config = SplitStepsConfig(
        input=str(EXAMPLES / "s1k_style.jsonl"), output=str(tmp_path / "steps.parquet"),
        read=ReadOptions(preset="s1k"), trajectories_out=str(tmp_path / "traj.jsonl"),
        rejects=str(tmp_path / "rejects.jsonl"), format="verl",
    )
    summary = split_steps(config)
    rows = read_jsonl(EXAMPLES / "s1k_style.jsonl")
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    trajectories = read_jsonl(tmp_path / "traj.jsonl")
    assert summary.rows_read == len(rows) == len(rejects) + len(trajectories)
    assert sum(summary.skipped.values()) == len(rejects) >= 1
    assert all(r["reason"] and r["location"].startswith(str(EXAMPLES / "s1k_style.jsonl") + ":") for r in rejects)
    for traj in trajectories:
        assert traj["thinking"]  # the thinking field (and <think> blocks) are kept apart
        assert all("<think>" not in s["action"] for s in traj["steps"])
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "steps.parquet")
    assert table.num_rows == summary.records_written == sum(len(t["steps"]) for t in trajectories)
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]


def test_targets_and_title_hint_flow_through(tmp_path):
    base = dict(input=str(EXAMPLES / "s1k_style.jsonl"), read=ReadOptions(preset="s1k"))
    all_ = split_steps(SplitStepsConfig(output=str(tmp_path / "a.jsonl"), **base))
    skip = split_steps(SplitStepsConfig(output=str(tmp_path / "b.jsonl"), records=StepRecordOptions(
        targets="skip-last", title_hint=True), **base))
    assert skip.records_written == all_.records_written - all_.trajectories
    for record in read_jsonl(tmp_path / "b.jsonl"):
        assert record["step_index"] < record["num_steps"]
        assert not record["expert_action"].startswith(f"{record['step_index']}.")


def test_min_steps_one_keeps_single_step_solutions(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"problem": "p", "solution": "just one line"}) + "\n")
    two = split_steps(SplitStepsConfig(input=str(path), output=str(tmp_path / "a.jsonl")))
    assert two.skipped == {"too_few_steps": 1} and two.records_written == 0
    one = split_steps(SplitStepsConfig(input=str(path), output=str(tmp_path / "b.jsonl"),
                                       segment=SegmentOptions(min_steps=1)))
    assert one.records_written == 1


def test_a_bad_row_midway_leaves_no_output_at_all(tmp_path):
    path = tmp_path / "in.jsonl"
    good = json.dumps({"problem": "p", "solution": "1. a\n2. b"})
    path.write_text(good + "\n" + good + "\n{broken\n")
    outputs = [tmp_path / "steps.jsonl", tmp_path / "traj.jsonl", tmp_path / "rejects.jsonl"]
    with pytest.raises(InputError, match=r"in\.jsonl:3: not valid JSON"):
        split_steps(SplitStepsConfig(input=str(path), output=str(outputs[0]), trajectories_out=str(outputs[1]),
                                     rejects=str(outputs[2])))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_summary_counts(tmp_path):
    path = tmp_path / "in.jsonl"
    rows = [
        {"problem": "p1", "solution": "1. a\n2. b\n3. c"},
        {"problem": "p2", "solution": "Step 1: a\nStep 2: b"},
        {"problem": "p3", "solution": "<think>only thinking</think>"},
        {"problem": "p4", "solution": "one"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = split_steps(SplitStepsConfig(input=str(path), output=str(tmp_path / "o.jsonl")))
    data = summary.to_dict()
    assert data["rows_read"] == 4 and data["trajectories"] == 2 and data["records_written"] == 5
    assert data["skipped"] == {"empty_solution": 1, "too_few_steps": 1}
    assert data["rules"] == {"numbered": 1, "headers": 1}
    assert data["steps_per_trajectory"] == {"min": 2, "median": 2, "max": 3}
    assert data["prompt_tokens"]["p50"] <= data["prompt_tokens"]["p95"] <= data["prompt_tokens"]["max"]


@pytest.mark.parametrize("example, preset", [("s1k_style.jsonl", "s1k"), ("agent_messages.jsonl", "messages")])
def test_trajectories_written_as_parquet_read_back_like_jsonl(tmp_path, example, preset):
    """Free-form metadata (empty or varying) survives Parquet, and both files give the same trajectories."""
    from srl_data.readers import read_rows
    from srl_data.trajectories import trajectory_from_row

    read = ReadOptions(preset=preset)
    segment = SegmentOptions(segmenter="numbered" if preset == "s1k" else None)
    outs = {}
    for ext in ("jsonl", "parquet"):
        split_steps(SplitStepsConfig(input=str(EXAMPLES / example), output=str(tmp_path / f"steps.{ext}"),
                                     read=read, segment=segment, trajectories_out=str(tmp_path / f"traj.{ext}")))
        outs[ext] = [trajectory_from_row(row) for row in read_rows(tmp_path / f"traj.{ext}")]
    assert outs["parquet"] == outs["jsonl"]
    assert len(outs["jsonl"]) >= 2
