"""srl-data stats through the CLI runner, on outputs made from the GSM8K sample."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from srl_data.cli import app

from ..outputs import GSM8K, count_rows, make_outputs

runner = CliRunner()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return make_outputs(tmp_path_factory.mktemp("cli-stats"), rows=300)


def test_json_for_scripts(outputs):
    result = runner.invoke(app, ["stats", str(outputs.steps), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "steps"
    assert data["rows"] == count_rows(outputs.steps)
    assert data["trajectories"] == 300
    assert set(data["prompt_tokens"]) == {"p50", "p95", "max"}
    assert data["dropped"] == {"skipped": {"too_few_steps": 2}}
    assert sum(data["steps_per_trajectory"]["histogram"].values()) == 300


def test_table_for_people(outputs):
    result = runner.invoke(app, ["stats", str(outputs.hindsight)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("(hindsight)", "rows", "trajectories", "steps per trajectory", "prompt tokens", "target tokens",
                 "horizons", "by strategy"):
        assert text in result.stdout, text


def test_plot_png(outputs, tmp_path):
    png = tmp_path / "steps.png"
    result = runner.invoke(app, ["stats", str(outputs.steps), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert f"plot written to {png}" in result.stderr


def test_rejects_by_reason(outputs):
    result = runner.invoke(app, ["stats", str(outputs.rejects), "--json"])
    assert json.loads(result.stdout)["reasons"] == {"too_few_steps": 2}


def test_input_that_is_not_an_output(tmp_path):
    result = runner.invoke(app, ["stats", str(GSM8K)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {GSM8K}:1: is not an srl-data output (columns: answer, question).")
    missing = runner.invoke(app, ["stats", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"Error: {tmp_path / 'none.jsonl'}: no such file or folder.")
