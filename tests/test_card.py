"""srl_data.card: the dataset card's YAML header and what its body names."""

from __future__ import annotations

import pytest
import yaml

from srl_data.card import ConfigInfo, render_card, size_category
from srl_data.prompts import load_template
from srl_data.publish import PushConfig, build_folder

from .outputs import make_outputs


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    outputs = make_outputs(tmp_path_factory.mktemp("card"))
    folder = tmp_path_factory.mktemp("card-folder")
    config = PushConfig(sources=(str(outputs.steps), str(outputs.hindsight)), repo_id="org/gsm8k-srl",
                        license="cc-by-4.0", val_fraction=0.25)
    infos = build_folder(config, folder)
    return (folder / "README.md").read_text(encoding="utf-8"), infos, outputs


def header_and_body(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_header_lists_configs_splits_and_data_files(card):
    text, infos, _ = card
    header, _ = header_and_body(text)
    assert header["license"] == "cc-by-4.0"
    assert header["task_categories"] == ["text-generation", "reinforcement-learning"]
    assert {"srl", "supervised-reinforcement-learning", "hindsight"} <= set(header["tags"])
    assert header["size_categories"] == [size_category(sum(i.rows for i in infos))]
    assert header["configs"] == [
        {"config_name": "steps", "default": True, "data_files": [
            {"split": "train", "path": "data/steps/train-*"},
            {"split": "validation", "path": "data/steps/validation-*"}]},
        {"config_name": "hindsight", "data_files": [
            {"split": "train", "path": "data/hindsight/train-*"},
            {"split": "validation", "path": "data/hindsight/validation-*"}]},
    ]


def test_body_names_what_how_counts_schema_sample_and_usage(card):
    text, infos, outputs = card
    _, body = header_and_body(text)
    steps = next(i for i in infos if i.name == "steps")
    template = load_template("srl_step")
    hindsight_template = next(t for t in infos[1].manifest["templates"])
    for expected in [
        "arXiv:2510.25992",
        "journal = {arXiv preprint arXiv:2510.25992}",
        "**License:** `cc-by-4.0`",
        "### `steps`: SRL step records",
        "### `hindsight`: Goal-directed (hindsight) pairs",
        f"- problems (input rows) read: {outputs.input_rows}",
        f"- trajectories: {steps.stats['trajectories']}",
        f"- step records: {steps.rows:,} (train {steps.splits['train']:,}, validation {steps.splits['validation']:,})",
        f"- skipped by reason: too_few_steps: {outputs.rejected}",
        "- by targets: all:",
        "made by `srl-data split-steps` (srl-data 0.1.0,",
        "made by `srl-data hindsight`",
        f"`{template.id}` (hash `{template.hash}`)",
        f"`{hindsight_template['id']}` (hash `{hindsight_template['hash']}`)",
        "- segmenter: `lines` requested; rules used: lines:",
        "- pair strategy: `all` (goal = result, leak_guard = False, seed = 0)",
        "| prompt tokens | p50 ",
        "| horizon (j - i) | min 1 / p50 ",
        "| `expert_action` | `string` | the target: the expert's action (the reward's reference) |",
        "<details><summary>One sample record</summary>",
        'load_dataset("org/gsm8k-srl", "steps")',
        "def srl_reward(completions, expert_action, **kwargs):",
        "reward_funcs=srl_reward",
        "python -m verl.trainer.main_ppo",
        '"ground_truth": row["expert_action"]',
    ]:
        assert expected in body, expected
    assert "$" + "repo_id" not in body  # every placeholder filled


def test_no_license_is_never_assumed():
    info = ConfigInfo(name="steps", kind="steps", splits={"train": 3})
    header, body = header_and_body(render_card("org/x", [info]))
    assert "license" not in header
    assert "**License: not stated.**" in body
    assert "no run manifest was found beside the pushed file" in body


def test_round_trip_of_config_info(card):
    _, infos, _ = card
    for info in infos:
        again = ConfigInfo.from_json(info.to_json())
        assert again.to_json() == info.to_json()
        assert again.data_files() == info.data_files()


@pytest.mark.parametrize(("rows", "category"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                                (250_000, "100K<n<1M"), (5_000_000_000, "n>1B")])
def test_size_categories(rows, category):
    assert size_category(rows) == category
