"""Run manifests: written beside outputs, read back, never holding a secret."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from srl_data import __version__
from srl_data.manifest import (
    PARQUET_KEY,
    build_manifest,
    config_to_dict,
    manifest_path,
    read_manifest,
    scrub,
    update_manifest,
    write_manifest,
)
from srl_data.prompts import load_template
from srl_data.readers import read_rows
from srl_data.split_steps import SplitStepsConfig, split_steps
from srl_data.trajectories import ReadOptions

REPO = Path(__file__).resolve().parents[1]
GSM8K = REPO.parent / "shared" / "data" / "gsm8k" / "train_sample.jsonl"
EXAMPLES = REPO / "examples" / "gsm8k_style.jsonl"


@dataclass(frozen=True)
class _TeacherConfig:
    model: str
    api_key: str
    hf_token: str
    api_key_env: str
    max_tokens: int
    base_url: str


def test_config_to_dict_drops_secret_options_and_keeps_lookalikes():
    config = _TeacherConfig(
        model="m", api_key="sk-abcdefghijklmnopqrstuvwx", hf_token="hf_abcdefghijklmnopqrstuvwxyz",
        api_key_env="OPENAI_API_KEY", max_tokens=512, base_url="http://127.0.0.1:8000/v1",
    )
    data = config_to_dict(config)
    assert data == {"model": "m", "api_key_env": "OPENAI_API_KEY", "max_tokens": 512,
                    "base_url": "http://127.0.0.1:8000/v1"}


def test_scrub_redacts_secret_looking_values_and_environment_secrets(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "plain-secret-value-123")
    data = scrub({"note": "used hf_ABCDEFGHIJKLMNOPQRSTUV and plain-secret-value-123", "n": [1, {"token": "x"}]})
    assert data == {"note": "used <redacted> and <redacted>", "n": [1, {}]}


def test_build_manifest_has_the_provenance_fields():
    manifest = build_manifest(
        "hindsight", config={"strategy": "future", "k": 4}, inputs=["a.jsonl"], outputs={"pairs": "p.jsonl"},
        templates=[{"id": "t1", "hash": "abc"}, {"id": "t1", "hash": "abc"}], strategy="future",
        teacher={"model": "gpt-x", "temperature": 0.7}, counts={"records_written": 3},
    )
    assert manifest["srl_data_version"] == __version__
    assert manifest["command"] == "hindsight"
    assert manifest["config"] == {"strategy": "future", "k": 4}
    assert manifest["inputs"] == ["a.jsonl"]
    assert manifest["templates"] == [{"id": "t1", "hash": "abc"}]
    assert manifest["strategy"] == "future"
    assert manifest["teacher"] == {"model": "gpt-x", "temperature": 0.7}
    assert manifest["counts"] == {"records_written": 3}
    assert manifest["created_at"].endswith("+00:00")


def test_write_read_and_update_round_trip(tmp_path):
    out = tmp_path / "x.jsonl"
    out.write_text("{}\n")
    write_manifest(out, build_manifest("split-steps", counts={"records_written": 1}))
    assert manifest_path(out) == tmp_path / "x.jsonl.manifest.json"
    assert read_manifest(out)["counts"] == {"records_written": 1}
    update_manifest(out, run={"fingerprint": "f"})
    again = read_manifest(out)
    assert again["run"] == {"fingerprint": "f"} and again["counts"] == {"records_written": 1}
    assert read_manifest(tmp_path / "missing.jsonl") is None


def test_split_steps_writes_a_manifest_beside_every_output(tmp_path):
    config = SplitStepsConfig(
        input=str(GSM8K), output=str(tmp_path / "steps.parquet"), read=ReadOptions(preset="gsm8k"),
        trajectories_out=str(tmp_path / "traj.jsonl"), rejects=str(tmp_path / "rejects.jsonl"),
    )
    summary = split_steps(config)
    template = load_template("srl_step")
    for name in ("steps.parquet", "traj.jsonl", "rejects.jsonl"):
        manifest = json.loads((tmp_path / f"{name}.manifest.json").read_text())
        assert manifest["command"] == "split-steps"
        assert manifest["inputs"] == [str(GSM8K)]
        assert manifest["counts"]["records_written"] == summary.records_written
        assert manifest["templates"] == [{"id": template.id, "hash": template.hash}]
        assert manifest["segmenter"]["used"] == {"lines": summary.trajectories}
        assert manifest["config"]["read"]["preset"] == "gsm8k"
    # The Parquet file carries the manifest too (without the counts, known only at the end).
    meta = pq.read_schema(tmp_path / "steps.parquet").metadata
    embedded = json.loads(meta[PARQUET_KEY.encode()])
    assert embedded["command"] == "split-steps" and "counts" not in embedded
    (tmp_path / "steps.parquet.manifest.json").unlink()
    assert read_manifest(tmp_path / "steps.parquet")["command"] == "split-steps"


def test_reading_an_output_folder_skips_manifests(tmp_path):
    config = SplitStepsConfig(input=str(GSM8K), output=str(tmp_path / "steps.jsonl"), read=ReadOptions(preset="gsm8k"))
    summary = split_steps(config)
    assert (tmp_path / "steps.jsonl.manifest.json").exists()
    assert sum(1 for _ in read_rows(tmp_path)) == summary.records_written


def test_generate_writes_a_manifest_with_teacher_and_sampling_but_no_key(tmp_path, monkeypatch):
    from srl_data.generate import GenerateConfig, generate

    from .chat_server import ChatServer

    secret = "sk-test-key-that-must-not-appear-0123456789"
    monkeypatch.setenv("MY_KEY", secret)
    with ChatServer() as server:
        config = GenerateConfig(
            input=str(EXAMPLES), output=str(tmp_path / "solutions.jsonl"), teacher="tiny-teacher",
            base_url=server.url, api_key_env="MY_KEY", read=ReadOptions(preset="gsm8k"), temperature=0.6,
            max_tokens=256, seed=3, keep_unverified=True, fsync=False,
        )
        summary = generate(config)
    manifest = read_manifest(tmp_path / "solutions.jsonl")
    assert manifest["command"] == "generate"
    assert manifest["teacher"] == {"model": "tiny-teacher", "base_url": server.url, "n": 1, "temperature": 0.6,
                                   "max_tokens": 256, "seed": 3}
    template = load_template("teacher_numbered")
    assert manifest["templates"] == [{"id": template.id, "hash": template.hash}]
    assert manifest["counts"]["records_written"] == summary.rows_written
    assert manifest["config"]["api_key_env"] == "MY_KEY"
    assert read_manifest(config.failures_path)["command"] == "generate"
    for path in tmp_path.iterdir():
        assert secret not in path.read_text(encoding="utf-8"), path


def test_credentials_inside_urls_are_redacted():
    from srl_data.manifest import scrub

    cleaned = scrub({"base_url": "https://alice:s3cr3tpass@llm.example.com/v1?api_key=abc123&model=x",
                     "other": "http://10.0.0.1:8000/v1"})
    assert cleaned["base_url"] == "https://<redacted>@llm.example.com/v1?api_key=<redacted>&model=x"
    assert cleaned["other"] == "http://10.0.0.1:8000/v1"
