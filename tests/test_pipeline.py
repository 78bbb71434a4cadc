"""srl_data.pipeline: config validation, the stages on the GSM8K sample, skipping
unchanged stages, the generate stage against a local chat server, and the
config reaching the card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from srl_data.errors import ConfigError
from srl_data.manifest import read_manifest
from srl_data.pipeline import SAVED_CONFIG, STAGES, fingerprint, load_config, run_pipeline

from .outputs import GSM8K, REPO, count_rows


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def gsm8k_config(tmp_path: Path, **sections) -> Path:
    data = {"input": str(GSM8K), "preset": "gsm8k", "output_dir": "out", "split_steps": {}, **sections}
    return write(tmp_path / "pipeline.yaml", data)


def test_stage_registry_is_in_chain_order():
    assert [s.name for s in STAGES] == ["generate", "split_steps", "hindsight", "push"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input: a\noutput_dir: o\nsplit_steps:\n  targets: all\n  tragets: all\n",
         "{path}:5: unknown key 'split_steps.tragets'. Known keys here: action_format,"),
        ("input: a\noutput_dir: o\nhindsight:\n  strategy: next\n  colour: red\n",
         "{path}:5: unknown key 'hindsight.colour'. Known keys here: format, goal, k,"),
        ("input: a\noutput_dir: o\nextra: 1\n", "{path}:3: unknown key 'extra'. Known keys here: answer_field,"),
        ("output_dir: o\n", "{path}: missing key 'input'. See examples/pipeline.yaml."),
        ("input: a\noutput_dir: o\nsplit_steps:\n  min_steps: many\n",
         "{path}:4: 'split_steps.min_steps': Input should be a valid integer"),
        ("input: [a\n", "{path}:2: is not valid YAML"),
        ("- a\n- b\n", "{path}: must hold a mapping of keys"),
    ],
)
def test_bad_config_files_name_the_key_line_and_file(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(message.format(path=path))


def test_a_config_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xff\xfe input: a\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: is not UTF-8 text. Save the config as UTF-8."


@pytest.mark.parametrize(("sections", "message"), [
    ({"split_steps": {"output": "a.jsonl"}, "hindsight": {"output": "a.jsonl"}},
     "split_steps.output and hindsight.output are the same file (a.jsonl): one stage would overwrite the "
     "other's output. Give each output its own name."),
    ({"split_steps": {"output": "trajectories.jsonl"}},
     "split_steps.output and split_steps.trajectories_out are the same file (trajectories.jsonl): one stage "
     "would overwrite the other's output. Give each output its own name."),
])
def test_two_outputs_of_one_name_fail_before_any_stage_runs(tmp_path, sections, message):
    path = gsm8k_config(tmp_path, **sections)
    with pytest.raises(ConfigError) as err:
        run_pipeline(load_config(path))
    assert str(err.value) == f"{path}: {message}"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [SAVED_CONFIG]


def test_bad_values_fail_before_any_stage_runs(tmp_path):
    path = gsm8k_config(tmp_path, hindsight={"strategy": "sideways"})
    with pytest.raises(ConfigError) as err:
        run_pipeline(load_config(path))
    assert str(err.value) == (f"{path}: section 'hindsight': unknown --strategy 'sideways'. "
                              "Choose one of: next, final, future, all.")
    assert not (tmp_path / "out" / "steps.parquet").exists()


def test_gsm8k_chain_runs_skips_unchanged_stages_and_redoes_changed_ones(tmp_path):
    path = gsm8k_config(tmp_path, hindsight={"strategy": "next", "keep_leaky": True},
                        push={"repo_id": "org/gsm8k-srl", "license": "mit", "dry_run": True, "val_fraction": 0.1})
    seen: list[tuple[str, str]] = []
    result = run_pipeline(load_config(path), on_stage=lambda name, status: seen.append((name, status)))
    out = tmp_path / "out"
    assert [(s.name, s.status) for s in result.stages] == [("split_steps", "ran"), ("hindsight", "ran"),
                                                            ("push", "ran")]
    steps_rows = count_rows(out / "steps.parquet")
    # strategy next: one pair per step, as many as the step records with --targets all
    assert count_rows(out / "hindsight.parquet") == steps_rows
    saved = yaml.safe_load((out / SAVED_CONFIG).read_text())
    assert saved["hindsight"] == {"strategy": "next", "keep_leaky": True} and saved["push"]["repo_id"] == "org/gsm8k-srl"
    manifest = read_manifest(out / "steps.parquet")
    assert manifest["run"]["stage"] == "split_steps" and manifest["run"]["config"] == saved

    from datasets import load_dataset

    for config, source in (("steps", "steps.parquet"), ("hindsight", "hindsight.parquet")):
        data = load_dataset(str(out / "hub"), config, cache_dir=str(tmp_path / f"cache-{config}"))
        assert sum(split.num_rows for split in data.values()) == count_rows(out / source)
    card = (out / "hub" / "README.md").read_text()
    assert "The <code>srl-data run</code> config that made it" in card
    assert (out / "hub" / "srl_data" / "steps" / "run_config.yaml").is_file()

    mtime = (out / "steps.parquet").stat().st_mtime_ns
    again = run_pipeline(load_config(path))
    assert [s.status for s in again.stages] == ["unchanged", "unchanged", "unchanged"]
    assert (out / "steps.parquet").stat().st_mtime_ns == mtime

    # a changed hindsight option redoes hindsight and push, not split_steps
    changed = run_pipeline(load_config(path, {"hindsight.strategy": "all"}))
    assert [s.status for s in changed.stages] == ["unchanged", "ran", "ran"]
    assert read_manifest(out / "hindsight.parquet")["strategy"]["name"] == "all"
    assert count_rows(out / "hindsight.parquet") > steps_rows
    # a changed input redoes everything after it
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(GSM8K.read_text().splitlines()[:20]) + "\n")
    rerun = run_pipeline(load_config(path, {"input": str(small)}))
    assert [s.status for s in rerun.stages] == ["ran", "ran", "ran"]
    assert read_manifest(out / "steps.parquet")["counts"]["rows_read"] == 20
    assert run_pipeline(load_config(path, {"input": str(small)}), force=True).stages[0].status == "ran"


def test_paths_in_the_file_are_relative_to_it(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "data.jsonl").write_text(GSM8K.read_text().splitlines()[0] + "\n")
    config = load_config(write(folder / "p.yaml", {"input": "data.jsonl", "preset": "gsm8k", "output_dir": "../o"}))
    assert config.input == str(folder / "data.jsonl")
    assert config.output_dir == tmp_path / "o"
    assert load_config(write(folder / "q.yaml", {"input": "org/dataset", "output_dir": "o"})).input == "org/dataset"


def test_fingerprint_follows_options_and_input_contents(tmp_path):
    data = tmp_path / "a.jsonl"
    data.write_text("{}\n")
    first = fingerprint("split_steps", {"targets": "all"}, [str(data)])
    assert first == fingerprint("split_steps", {"targets": "all"}, [str(data)])
    assert first != fingerprint("split_steps", {"targets": "skip-last"}, [str(data)])
    data.write_text('{"x": 1}\n')
    assert first != fingerprint("split_steps", {"targets": "all"}, [str(data)])


def test_generate_stage_against_a_local_chat_server(tmp_path, monkeypatch):
    from .chat_server import ChatServer

    monkeypatch.setenv("TEACHER_KEY", "sk-local-test-key-0123456789abcdef")
    with ChatServer() as server:
        path = write(tmp_path / "p.yaml", {
            "input": str(REPO / "examples" / "gsm8k_style.jsonl"), "preset": "gsm8k", "output_dir": "out",
            "generate": {"teacher": "tiny", "base_url": server.url, "api_key_env": "TEACHER_KEY",
                         "keep_unverified": True, "temperature": 0.0},
            "split_steps": {"segmenter": "numbered"},
            "hindsight": {"strategy": "all", "keep_leaky": True},
        })
        result = run_pipeline(load_config(path))
        assert [(s.name, s.status) for s in result.stages] == [("generate", "ran"), ("split_steps", "ran"),
                                                                ("hindsight", "ran")]
        requests = sum(server.counts.values())
        assert run_pipeline(load_config(path)).stages[0].status == "unchanged"
        assert sum(server.counts.values()) == requests  # nothing sent again
    out = tmp_path / "out"
    solutions = count_rows(out / "solutions.jsonl")
    assert solutions == count_rows(REPO / "examples" / "gsm8k_style.jsonl")
    steps = read_manifest(out / "steps.parquet")
    assert steps["inputs"] == [str(out / "solutions.jsonl")]
    assert steps["counts"]["trajectories"] == solutions
    assert read_manifest(out / "solutions.jsonl")["teacher"]["model"] == "tiny"
    for file in out.iterdir():
        if file.is_file() and file.suffix in (".json", ".jsonl", ".yaml"):
            assert "sk-local-test-key" not in file.read_text(), file
    assert json.loads((out / "solutions.jsonl.manifest.json").read_text())["config"]["api_key_env"] == "TEACHER_KEY"
