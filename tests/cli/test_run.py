"""srl-data run through the CLI runner, on the GSM8K sample."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from srl_data.cli import app

from ..outputs import GSM8K, REPO, count_rows

runner = CliRunner()


def test_run_on_gsm8k_with_overrides_then_nothing_to_redo(tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({
        "input": str(GSM8K), "preset": "gsm8k", "output_dir": "never-used",
        "split_steps": {}, "hindsight": {"strategy": "future", "k": 2},
        "push": {"repo_id": "org/gsm8k-srl", "license": "mit"},
    }))
    out = tmp_path / "out"
    args = ["run", str(config), "--output-dir", str(out), "--dry-run-push", "--set", "hindsight.seed=7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "split_steps: running\nhindsight: running\npush: running\n" == result.stderr
    assert f"config saved to {out / 'srl-data-run.yaml'}" in result.stdout
    assert not (tmp_path / "never-used").exists()
    saved = yaml.safe_load((out / "srl-data-run.yaml").read_text())
    assert saved["hindsight"] == {"strategy": "future", "k": 2, "seed": 7}
    assert saved["push"]["dry_run"] is True
    receipt = json.loads((out / "push.json").read_text())
    assert receipt["dry_run"] and receipt["configs"]["steps"] == {"train": count_rows(out / "steps.parquet")}
    assert (out / "hub" / "README.md").is_file()

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert again.stderr == ("split_steps: unchanged since the last run, not redone\n"
                            "hindsight: unchanged since the last run, not redone\n"
                            "push: unchanged since the last run, not redone\n")

    stats = runner.invoke(app, ["stats", str(out / "hindsight.parquet"), "--json"])
    assert json.loads(stats.stdout)["by"]["strategy"] == {"future": count_rows(out / "hindsight.parquet")}


def test_the_example_config_is_valid():
    from srl_data.pipeline import load_config

    config = load_config(REPO / "examples" / "pipeline.yaml")
    assert config.data.push.dry_run is True
    assert config.input == str(REPO / "examples" / "gsm8k_style.jsonl")


def test_unknown_key_is_one_line_naming_key_line_and_file(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("input: a.jsonl\noutput_dir: o\nhindsight:\n  stratgy: all\n")
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {config}:4: unknown key 'hindsight.stratgy'. Known keys here: format, goal, "
                             "k, keep_leaky, max_horizon, output, prompt_template, rejects, seed, strategy.\n")


def test_bad_set_and_dry_run_push_without_push(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text(f"input: {GSM8K}\npreset: gsm8k\noutput_dir: o\n")
    bad = runner.invoke(app, ["run", str(config), "--set", "nonsense"])
    assert bad.exit_code == 2
    assert bad.stderr == "Error: --set 'nonsense' is not KEY=VALUE. Write e.g. --set hindsight.strategy=all\n"
    no_push = runner.invoke(app, ["run", str(config), "--dry-run-push"])
    assert no_push.exit_code == 2
    assert no_push.stderr == (f"Error: {config}: --dry-run-push needs a push section. "
                              "Add e.g. push: {repo_id: my-org/name}.\n")


def test_missing_input_names_the_stage_and_file(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("input: missing.jsonl\noutput_dir: o\n")
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert result.stderr == ("split_steps: running\nError: missing.jsonl: stage split_steps: no such file or "
                             "folder. Check the input path.\n")
