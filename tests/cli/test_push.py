"""srl-data push through the CLI runner: dry run, errors, and an upload with
huggingface_hub's HfApi replaced by a fake (no network)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from srl_data.cli import app

from ..outputs import FAKE_TOKEN, count_rows, every_file_text, make_outputs
from ..test_publish import FakeHfApi

runner = CliRunner()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return make_outputs(tmp_path_factory.mktemp("cli-push"))


def test_dry_run_writes_the_folder_and_says_so(outputs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    out = tmp_path / "hub"
    result = runner.invoke(app, ["push", str(outputs.steps), f"pairs={outputs.hindsight}", "--repo-id", "org/x",
                                 "--val-fraction", "0.1", "--dry-run", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "steps" in result.stdout and "pairs" in result.stdout
    assert f"to {out} (nothing uploaded)" in result.stdout
    assert "note: no --license given; the card says the license is not stated." in result.stderr
    assert (out / "data" / "pairs").is_dir() and (out / "README.md").is_file()
    assert FAKE_TOKEN not in result.output and FAKE_TOKEN not in every_file_text(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo-id", "org/x", "--dry-run"], "Error: --dry-run needs --out DIR. Add --out DIR to see what would "
                                              "be uploaded.\n"),
        (["--repo-id", "nope", "--dry-run", "--out", "o"], "Error: --repo-id 'nope' is not of the form ORG/NAME. "
                                                           "For example --repo-id my-org/gsm8k-srl.\n"),
    ],
)
def test_bad_options_give_one_line(outputs, args, message):
    result = runner.invoke(app, ["push", str(outputs.steps), *args])
    assert result.exit_code == 2
    assert result.stderr == message


def test_a_rejects_file_is_refused(outputs, tmp_path):
    result = runner.invoke(app, ["push", str(outputs.rejects), "--repo-id", "org/x", "--dry-run",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {outputs.rejects}: holds rejects, which is not pushed as a dataset.")
    assert not (tmp_path / "o").exists()


def test_without_a_token_push_stops_before_any_network(outputs, tmp_path, monkeypatch):
    import huggingface_hub
    import huggingface_hub.constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))

    def no_network(*args, **kwargs):
        raise AssertionError("HfApi must not be created without a token")

    monkeypatch.setattr(huggingface_hub, "HfApi", no_network)
    result = runner.invoke(app, ["push", str(outputs.steps), "--repo-id", "org/x"])
    assert result.exit_code == 1
    assert result.stderr == ("Error: no Hugging Face token found. Set HF_TOKEN, or log in once with "
                             "`hf auth login`; or use --dry-run --out DIR.\n")


def test_upload_through_the_cli_uses_the_token_and_never_prints_it(outputs, tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    made: list[FakeHfApi] = []

    def fake_api(token=None, **kwargs):
        assert token == FAKE_TOKEN
        api = FakeHfApi(download_dir=tmp_path)
        made.append(api)
        return api

    monkeypatch.setattr(huggingface_hub, "HfApi", fake_api)
    result = runner.invoke(app, ["push", str(outputs.steps), "--repo-id", "org/x", "--license", "mit",
                                 "--private"])
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.stdout and "https://huggingface.co/datasets/org/x" in result.stdout
    assert FAKE_TOKEN not in result.output
    api = made[0]
    assert api.calls[0][1]["private"] is True
    assert sum(1 for f in api.files if f.startswith("data/steps/")) == 1
    assert all(FAKE_TOKEN.encode() not in data for data in api.files.values())
    assert count_rows(outputs.steps) > 0
