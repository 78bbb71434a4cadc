"""``srl-data hindsight`` through typer's runner: exit codes, exact messages, dry-run output."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from srl_data.cli import app
from srl_data.models import Step, Trajectory

runner = CliRunner()


def trajectory(tid: str, n: int) -> dict:
    steps = [Step(action=f"Step {k}: v{k} = {k * 3}") for k in range(1, n + 1)]
    return Trajectory(id=tid, problem="Compute.", segmenter="lines", steps=steps, answer=str(3 * n)).model_dump()


@pytest.fixture
def traj_file(tmp_path):
    path = tmp_path / "traj.jsonl"
    path.write_text("".join(json.dumps(trajectory(tid, n)) + "\n" for tid, n in (("t1", 2), ("t2", 4))))
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"SRL_DATA_DEBUG": "", "COLUMNS": "200", "NO_COLOR": "1"})


def test_dry_run_prints_counts_per_trajectory_and_total(traj_file, tmp_path):
    result = invoke("hindsight", str(traj_file), "--strategy", "all", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "t1\t2 steps\t3 pairs\n"
        "t2\t4 steps\t10 pairs\n"
        "total\t2 trajectories\t13 pairs (all)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["traj.jsonl"]  # nothing written


def test_dry_run_reports_what_the_guard_and_missing_goals_drop(traj_file):
    result = invoke("hindsight", str(traj_file), "--strategy", "next", "--goal", "answer", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == (
        "t1\t2 steps\t1 pairs\t(1 dropped)\n"
        "t2\t4 steps\t1 pairs\t(3 dropped)\n"
        "total\t2 trajectories\t2 pairs (next)\t(4 dropped: no_goal 4)\n"
    )
    leaky = invoke("hindsight", str(traj_file), "--strategy", "final", "--goal", "state", "--dry-run",
                   "--max-horizon", "1")
    assert leaky.stdout.splitlines()[-1] == "total\t2 trajectories\t0 pairs (final)\t(2 dropped: leak_contains_target 2)"


def test_writes_pairs_and_prints_a_summary(traj_file, tmp_path):
    out = tmp_path / "pairs.jsonl"
    result = invoke("hindsight", str(traj_file), "-o", str(out), "--strategy", "future", "--k", "2", "--seed", "9")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 + 2 + 2 + 2 + 1  # t1: min(2,2)+1, t2: 2+2+2+1
    assert {r["metadata"]["seed"] for r in rows} == {9} and {r["metadata"]["k"] for r in rows} == {2}
    assert "pairs from future" in result.stdout and "pairs written" in result.stdout
    again = tmp_path / "again.jsonl"
    invoke("hindsight", str(traj_file), "-o", str(again), "--strategy", "future", "--k", "2", "--seed", "9")
    assert again.read_text() == out.read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--strategy", "next", "--k", "3", "-o", "OUT"],
     "Error: --k applies only to --strategy future, not 'next'. Leave out --k.\n"),
    (["--strategy", "bogus", "-o", "OUT"],
     "Error: unknown --strategy 'bogus'. Choose one of: next, final, future, all.\n"),
    (["--goal", "vibes", "-o", "OUT"],
     "Error: unknown --goal 'vibes'. Choose one of: result, title, observation, answer, state.\n"),
    ([], "Error: no output file. Give one with -o, or count the pairs with --dry-run.\n"),
    (["--dry-run", "-o", "OUT"], "Error: --dry-run writes nothing. Leave out -o and --rejects, or drop --dry-run.\n"),
    (["--format", "csv", "-o", "OUT"], "Error: unknown --format 'csv'. Choose one of: trl, verl.\n"),
    (["--prompt-template", "nope", "-o", "OUT"], None),
])
def test_option_errors_exit_2_with_one_line(traj_file, tmp_path, args, message):
    out = str(tmp_path / "out.jsonl")
    result = invoke("hindsight", str(traj_file), *[out if a == "OUT" else a for a in args])
    assert result.exit_code == 2
    if message is None:
        assert result.stderr.startswith("Error: no prompt template 'nope'. Use a template file path or one of: ")
        assert "hindsight, hindsight_agent" in result.stderr
    else:
        assert result.stderr == message
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_input_and_bad_rows(tmp_path):
    result = invoke("hindsight", str(tmp_path / "nope.jsonl"), "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'nope.jsonl'}: no such file or folder. Check the input path.\n"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(trajectory("ok", 2)) + "\n" + json.dumps({"id": "x", "problem": "p", "segmenter": "s",
                                                                       "steps": [{"title": "no action"}]}) + "\n")
    out = tmp_path / "out.jsonl"
    result = invoke("hindsight", str(bad), "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {bad}:2: field 'steps.0.action': not a valid trajectory (Field required). "
                             "Pass a file written by --trajectories-out, or raw solutions with --preset/field options.\n")
    assert not out.exists()


def test_click_range_checks(traj_file):
    result = invoke("hindsight", str(traj_file), "--dry-run", "--k", "0")
    assert result.exit_code == 2 and "Invalid value for '--k'" in result.stderr


def test_help_has_examples():
    result = invoke("hindsight", "--help")
    assert result.exit_code == 0
    assert "srl-data hindsight traj.jsonl --strategy all --dry-run" in result.stdout
    for option in ("--strategy", "--k", "--max-horizon", "--seed", "--goal", "--keep-leaky", "--dry-run", "--preset"):
        assert option in result.stdout


def test_raw_agent_trajectories_take_the_agent_reading_options(tmp_path):
    """hindsight reads raw agent input with split-steps' agent options: targets are the file's own actions."""
    from pathlib import Path

    traj = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "swe-agent" / "networking_1.traj"
    document = json.loads(traj.read_text())
    actions = [m["action"].strip() for m in document["history"] if m.get("role") == "assistant" and m.get("action")]
    out = tmp_path / "pairs.jsonl"
    result = runner.invoke(app, ["hindsight", str(traj), "--preset", "swe-agent", "--action-format", "raw",
                                 "--strategy", "next", "--keep-leaky", "-o", str(out)],
                           env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(actions) >= 3 and [p["expert_action"] for p in pairs] == actions
    assert all(p["goal_index"] == p["start_index"] + 1 for p in pairs)
