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


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bad_row_midway_leaves_no_output_at_all(tmp_path, workers):
    path = tmp_path / "in.jsonl"
    good = json.dumps({"problem": "p", "solution": "1. a\n2. b"})
    path.write_text((good + "\n") * 200 + "{broken\n")
    outputs = [tmp_path / "steps.jsonl", tmp_path / "traj.jsonl", tmp_path / "rejects.jsonl"]
    with pytest.raises(InputError, match=r"in\.jsonl:201: not valid JSON"):
        split_steps(SplitStepsConfig(input=str(path), output=str(outputs[0]), trajectories_out=str(outputs[1]),
                                     rejects=str(outputs[2]), workers=workers))
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


# ---------------------------------------------------------------------------
# --workers: the same output from worker processes, in order, in bounded memory.


def _corpus(path: Path, n: int) -> None:
    """s1K-style rows: numbered bold steps, nested lists, display math, thinking,
    and every seventh row too short to split (a reject)."""
    rows = []
    for i in range(n):
        if i % 7 == 3:
            rows.append({"question": f"Q{i}?", "deepseek_attempt": f"Just {i}.", "solution": str(i)})
            continue
        steps = [f"{k}. **Step {k} of {i}** We add {k} and {i}: ${k} + {i} = {k + i}$." for k in range(1, 2 + i % 6)]
        if i % 2:
            steps[0] += "\n   1. first case\n   2. second case\n$$\n3. x = 1\n$$"
        attempt = f"<think>thinking {i}</think>Intro.\n\n" + "\n\n".join(steps) + f"\n\nFinal answer: {i}"
        rows.append({"question": f"Problem {i}: find x.", "deepseek_attempt": attempt, "solution": str(i),
                     "deepseek_thinking_trajectory": f"hmm {i}"})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _outputs(folder: Path, ext: str) -> dict[str, str]:
    return {"output": str(folder / f"steps.{ext}"), "trajectories_out": str(folder / "traj.jsonl"),
            "rejects": str(folder / "rejects.jsonl.gz")}


@pytest.mark.parametrize("ext", ["jsonl", "parquet"])
def test_workers_write_exactly_what_one_process_writes(tmp_path, monkeypatch, ext):
    import gzip

    import pyarrow.parquet as pq

    from srl_data import split_steps as module

    monkeypatch.setattr(module, "BATCH_SIZE", 4)  # many batches, so several are in flight at once
    source = tmp_path / "in.jsonl"
    _corpus(source, 90)
    runs = {}
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        config = SplitStepsConfig(input=str(source), read=ReadOptions(preset="s1k"), workers=workers,
                                  **_outputs(folder, ext))
        runs[workers] = (split_steps(config).to_dict(), folder)
    (one, first), (two, second) = runs[1], runs[2]
    two["output"] = one["output"]
    two["extra_outputs"] = one["extra_outputs"]
    assert two == one
    assert one["records_written"] > 200 and one["skipped"] == {"too_few_steps": 13}
    if ext == "jsonl":
        assert (second / "steps.jsonl").read_bytes() == (first / "steps.jsonl").read_bytes()
    else:
        assert pq.read_table(second / "steps.parquet").to_pylist() == pq.read_table(first / "steps.parquet").to_pylist()
    assert (second / "traj.jsonl").read_bytes() == (first / "traj.jsonl").read_bytes()
    assert gzip.decompress((second / "rejects.jsonl.gz").read_bytes()) == gzip.decompress(
        (first / "rejects.jsonl.gz").read_bytes())
    # In input order: trajectory ids follow the rows.
    ids = [json.loads(line)["trajectory_id"] for line in (first / "steps.jsonl").read_text().splitlines()] \
        if ext == "jsonl" else pq.read_table(first / "steps.parquet").column("trajectory_id").to_pylist()
    traj_ids = [json.loads(line)["id"] for line in (first / "traj.jsonl").read_text().splitlines()]
    assert list(dict.fromkeys(ids)) == traj_ids


def test_workers_read_only_a_bounded_window_ahead(tmp_path, monkeypatch):
    from srl_data import split_steps as module
    from srl_data.trajectories import iter_solutions

    monkeypatch.setattr(module, "BATCH_SIZE", 3)
    source = tmp_path / "in.jsonl"
    _corpus(source, 60)
    config = SplitStepsConfig(input=str(source), output=str(tmp_path / "o.jsonl"), read=ReadOptions(preset="s1k"),
                              workers=2)
    pulled = 0

    def solutions():
        nonlocal pulled
        for solution in iter_solutions(str(source), config.read):
            pulled += 1
            yield solution

    ahead = []
    for done, _batch in enumerate(module._results(config, solutions()), start=1):
        ahead.append(pulled - done * 3)
    assert done == 20
    # Never more than the window (2 workers x 2 batches) of 3 solutions read beyond what was handed back.
    assert max(ahead) <= 2 * module.WINDOW_PER_WORKER * 3


def test_an_error_in_a_worker_is_the_same_one_line_error_and_leaves_no_output(tmp_path):
    from srl_data.errors import ConfigError

    template = tmp_path / "bad.toml"
    template.write_text('id = "bad"\nuser = "{problem} {nonsense}"\n')
    source = tmp_path / "in.jsonl"
    _corpus(source, 10)
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as info:
        split_steps(SplitStepsConfig(input=str(source), read=ReadOptions(preset="s1k"), workers=2,
                                     records=StepRecordOptions(template=str(template)), **_outputs(out, "jsonl")))
    assert str(info.value) == f"{template}: template uses an unknown placeholder {{nonsense}}. " \
        "Use only: {next_step_number}, {next_step_title}, {previous_steps}, {problem}."
    assert not out.exists() or list(out.iterdir()) == []


def test_workers_must_be_at_least_one(tmp_path):
    from srl_data.errors import ConfigError

    with pytest.raises(ConfigError, match="--workers must be at least 1"):
        SplitStepsConfig(input="in.jsonl", output=str(tmp_path / "o.jsonl"), workers=0)


@pytest.mark.parametrize("example, preset", [("s1k_style.jsonl", "s1k"), ("agent_messages.jsonl", "messages")])
def test_split_steps_reads_its_own_trajectories_back_and_gives_the_same_records(tmp_path, example, preset):
    first = tmp_path / "steps.jsonl"
    split_steps(SplitStepsConfig(input=str(EXAMPLES / example), output=str(first), read=ReadOptions(preset=preset),
                                 trajectories_out=str(tmp_path / "traj.jsonl")))
    again = tmp_path / "again.jsonl"
    summary = split_steps(SplitStepsConfig(input=str(tmp_path / "traj.jsonl"), output=str(again)))
    assert summary.skipped == {}
    assert again.read_text() == first.read_text()


def test_min_steps_applies_to_trajectories_read_back(tmp_path):
    split_steps(SplitStepsConfig(input=str(EXAMPLES / "s1k_style.jsonl"), output=str(tmp_path / "steps.jsonl"),
                                 read=ReadOptions(preset="s1k"), trajectories_out=str(tmp_path / "traj.jsonl")))
    summary = split_steps(SplitStepsConfig(input=str(tmp_path / "traj.jsonl"), output=str(tmp_path / "again.jsonl"),
                                           segment=SegmentOptions(min_steps=3), rejects=str(tmp_path / "rej.jsonl")))
    rejects = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert summary.skipped == {"too_few_steps": 1}
    assert rejects[0]["detail"] == "the trajectory read back has 2 step(s); --min-steps is 3"
    assert {json.loads(line)["num_steps"] for line in (tmp_path / "again.jsonl").read_text().splitlines()} == {3}
