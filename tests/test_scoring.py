"""srl_data.scoring: join predictions to step records by id and score them."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from srl_data.errors import ConfigError, InputError
from srl_data.readers import read_rows
from srl_data.records import StepRecordOptions
from srl_data.reward import RewardOptions
from srl_data.scoring import ScoreConfig, read_targets, score
from srl_data.split_steps import SplitStepsConfig, split_steps
from srl_data.trajectories import ReadOptions

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def records(tmp_path: Path, fmt: str = "trl", suffix: str = ".jsonl") -> Path:
    out = tmp_path / f"steps_{fmt}{suffix}"
    split_steps(SplitStepsConfig(input=str(EXAMPLES / "s1k_style.jsonl"), output=str(out),
                                 read=ReadOptions(preset="s1k"), records=StepRecordOptions(), format=fmt))
    return out


def trl_rows(path: Path) -> list[dict]:
    return [row.data for row in read_rows(path)]


def test_read_targets_is_the_same_for_trl_and_verl_layouts(tmp_path):
    trl = read_targets(str(records(tmp_path, "trl")))
    verl = read_targets(str(records(tmp_path, "verl", ".parquet")))
    assert trl == verl
    assert len(trl) == len(trl_rows(tmp_path / "steps_trl.jsonl"))
    assert {t.step_index for t in trl.values()} == {1, 2, 3}


def test_score_writes_one_row_per_prediction_and_sums_up(tmp_path):
    steps = records(tmp_path)
    rows = trl_rows(steps)
    predictions = []
    expected = []
    for i, row in enumerate(rows):
        expert = row["expert_action"]
        if i % 3 == 0:
            predictions.append({"id": row["id"], "completion": expert})  # no think block
            expected.append(-1.0)
        elif i % 3 == 1:
            predictions.append({"id": row["id"], "completion": [{"role": "assistant",
                                                                  "content": f"<think>{expert}</think>ok"}]})
            expected.append(ratio("ok", expert))
        else:
            predictions.append({"id": row["id"], "completion": f"<think>t</think>{expert}"})
            expected.append(1.0)
    preds = jsonl(tmp_path / "preds.jsonl", predictions)
    out = tmp_path / "scores.jsonl"
    summary = score(ScoreConfig(predictions=str(preds), records=str(steps), output=str(out)))

    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [w["id"] for w in written] == [r["id"] for r in rows]
    assert [w["reward"] for w in written] == expected
    assert [w["step_index"] for w in written] == [r["step_index"] for r in rows]
    assert written[0]["format_ok"] is False and written[0]["format_problem"] == "does not start with <think>"
    assert written[0]["sequence_similarity"] is None

    data = summary.to_dict()
    failures = expected.count(-1.0)
    assert data["scored"] == len(rows) and data["records_read"] == len(rows)
    assert data["mean_reward"] == pytest.approx(sum(expected) / len(expected))
    assert data["format_failures"] == failures
    assert data["format_failure_rate"] == pytest.approx(failures / len(rows))
    assert data["format_problems"] == {"does not start with <think>": failures}
    by_step = {s["step_index"]: s for s in data["by_step"]}
    for index in by_step:
        mine = [e for e, r in zip(expected, rows) if r["step_index"] == index]
        assert by_step[index]["count"] == len(mine)
        assert by_step[index]["mean_reward"] == pytest.approx(sum(mine) / len(mine))
        assert by_step[index]["format_failures"] == mine.count(-1.0)


def test_verl_records_and_parquet_output(tmp_path):
    steps = records(tmp_path, "verl", ".parquet")
    targets = read_targets(str(steps))
    preds = jsonl(tmp_path / "p.jsonl", [{"id": i, "completion": f"<think>t</think>{t.expert_action}"}
                                         for i, t in targets.items()])
    out = tmp_path / "scores.parquet"
    summary = score(ScoreConfig(predictions=str(preds), records=str(steps), output=str(out)))
    assert summary.mean_reward == 1.0 and summary.format_failures == 0
    assert [r.data["reward"] for r in read_rows(out)] == [1.0] * len(targets)


def test_several_predictions_per_record_are_each_scored(tmp_path):
    steps = jsonl(tmp_path / "steps.jsonl", [{"id": "a", "step_index": 1, "expert_action": "abc"}])
    preds = jsonl(tmp_path / "p.jsonl", [{"id": "a", "completion": "<think>t</think>abc"},
                                         {"id": "a", "completion": "<think>t</think>abd"}])
    summary = score(ScoreConfig(predictions=str(preds), records=str(steps)))
    assert summary.scored == 2
    assert summary.mean_reward == pytest.approx((1.0 + ratio("abd", "abc")) / 2)


def test_options_reach_the_reward(tmp_path):
    steps = jsonl(tmp_path / "steps.jsonl", [{"id": "a", "step_index": 1, "expert_action": "x  =\n 1"}])
    preds = jsonl(tmp_path / "p.jsonl", [{"id": "a", "completion": "plan</think>x = 1"}])
    options = RewardOptions(normalize_whitespace=True, prompt_opens_think=True)
    summary = score(ScoreConfig(predictions=str(preds), records=str(steps), reward=options))
    assert summary.mean_reward == 1.0


def test_prediction_for_an_unknown_id(tmp_path):
    steps = jsonl(tmp_path / "steps.jsonl", [{"id": "a", "step_index": 1, "expert_action": "abc"}])
    preds = jsonl(tmp_path / "p.jsonl", [{"id": "a", "completion": "x"}, {"id": "zz", "completion": "x"}])
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError) as info:
        score(ScoreConfig(predictions=str(preds), records=str(steps), output=str(out)))
    assert str(info.value) == (f"{preds}:2: field 'id': no step record has id 'zz'. "
                               "Check that --records is the file the predictions were made from.")
    assert not out.exists()


def test_records_without_predictions_fail_unless_partial(tmp_path):
    steps = jsonl(tmp_path / "steps.jsonl", [{"id": "a", "step_index": 1, "expert_action": "abc"},
                                             {"id": "b", "step_index": 2, "expert_action": "abd"}])
    preds = jsonl(tmp_path / "p.jsonl", [{"id": "a", "completion": "<think>t</think>abc"}])
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError) as info:
        score(ScoreConfig(predictions=str(preds), records=str(steps), output=str(out)))
    assert str(info.value) == (f"{steps}: 1 of 2 step records have no prediction (the first: id 'b'). "
                               "Add predictions for them, or pass --partial to score only the records that have one.")
    assert not out.exists()
    summary = score(ScoreConfig(predictions=str(preds), records=str(steps), output=str(out), partial=True))
    assert summary.scored == 1 and summary.unscored_records == 1 and out.exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"completion": "x"}, "field 'id': missing. Each prediction needs the id of the step record it answers."),
        ({"id": "a"}, "field 'completion': missing. Each prediction needs the model's completion (this row has: id)."),
        ({"id": "a", "completion": 3},
         "field 'completion': expected text or a list of messages, got int. "
         "Store the model's reply as text or as chat messages."),
    ],
)
def test_bad_prediction_rows(tmp_path, row, message):
    steps = jsonl(tmp_path / "steps.jsonl", [{"id": "a", "step_index": 1, "expert_action": "abc"}])
    preds = jsonl(tmp_path / "p.jsonl", [row])
    with pytest.raises(InputError) as info:
        score(ScoreConfig(predictions=str(preds), records=str(steps)))
    assert str(info.value) == f"{preds}:1: {message}"


def test_bad_records(tmp_path):
    preds = jsonl(tmp_path / "p.jsonl", [{"id": "a", "completion": "x"}])
    not_records = jsonl(tmp_path / "r1.jsonl", [{"id": "a", "problem": "p"}])
    with pytest.raises(InputError) as info:
        score(ScoreConfig(predictions=str(preds), records=str(not_records)))
    assert str(info.value) == (
        f"{not_records}:1: not a step record: it has neither 'expert_action' (trl layout) nor 'reward_model' "
        "(verl layout). Pass the output of srl-data split-steps to --records."
    )
    duplicate = jsonl(tmp_path / "r2.jsonl", [{"id": "a", "expert_action": "x"}, {"id": "a", "expert_action": "y"}])
    with pytest.raises(InputError, match=r"r2.jsonl:2: field 'id': duplicate record id 'a'"):
        score(ScoreConfig(predictions=str(preds), records=str(duplicate)))
    no_id = jsonl(tmp_path / "r3.jsonl", [{"reward_model": {"ground_truth": "x"}, "extra_info": {}}])
    with pytest.raises(InputError, match=r"r3.jsonl:1: field 'extra_info.id': missing"):
        score(ScoreConfig(predictions=str(preds), records=str(no_id)))


def test_output_must_not_overwrite_an_input(tmp_path):
    steps = jsonl(tmp_path / "steps.jsonl", [{"id": "a", "expert_action": "x"}])
    with pytest.raises(ConfigError, match="--records and -o name the same file"):
        ScoreConfig(predictions=str(tmp_path / "p.jsonl"), records=str(steps), output=str(steps))
