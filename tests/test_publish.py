"""srl_data.publish: configs by kind, shards, splits by trajectory, the dry-run
folder loading with datasets, and the upload at the huggingface_hub boundary
(a fake HfApi: no network)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
import yaml

from srl_data.errors import ConfigError, HubError, InputError, OutputError
from srl_data.publish import (PushConfig, push, resolve_sources, resolve_token, split_of, trajectory_key,
                              upload)

from .outputs import FAKE_TOKEN, count_rows, every_file_text, make_outputs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return make_outputs(tmp_path_factory.mktemp("publish"))


@pytest.fixture()
def offline_datasets(tmp_path, monkeypatch):
    """datasets caches under tmp_path and never reaches the network."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def load(folder: Path, config: str):
    from datasets import load_dataset

    return load_dataset(str(folder), config, cache_dir=str(folder.parent / f"cache-{config}"))


def test_sources_are_named_by_kind_and_can_be_renamed(outputs):
    sources = resolve_sources([str(outputs.steps), str(outputs.hindsight), f"traj={outputs.trajectories}"])
    assert [(s.config, s.kind) for s in sources] == [("steps", "steps"), ("hindsight", "hindsight"),
                                                      ("traj", "trajectories")]


def test_two_files_of_one_kind_need_names(outputs, tmp_path):
    with pytest.raises(ConfigError) as err:
        resolve_sources([str(outputs.steps), str(outputs.steps)])
    assert str(err.value) == (f"'{outputs.steps}' and '{outputs.steps}' would both become config 'steps'. "
                              "Name them apart with NAME=PATH, e.g. steps_a=a.parquet steps_b=b.parquet.")


def test_rejects_and_foreign_files_are_refused(outputs):
    with pytest.raises(InputError) as err:
        resolve_sources([str(outputs.rejects)])
    assert "holds rejects, which is not pushed as a dataset" in str(err.value)
    with pytest.raises(InputError) as err:
        resolve_sources([str(outputs.folder / "gsm8k_small.jsonl")])
    assert "is not an srl-data output" in str(err.value)
    with pytest.raises(InputError) as err:
        resolve_sources(["steps=missing.jsonl"])
    assert str(err.value) == "missing.jsonl: no such file. Push files written by srl-data (JSONL or Parquet)."
    with pytest.raises(ConfigError) as err:
        resolve_sources([f"bad name={outputs.steps}"])
    assert str(err.value) == (f"config name 'bad name' in 'bad name={outputs.steps}' may hold only letters, "
                              "digits, '-' and '_'. Write NAME=PATH, e.g. steps_math=out/steps.parquet.")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repo_id": "no-slash"}, "--repo-id 'no-slash' is not of the form ORG/NAME. For example --repo-id "
                                  "my-org/gsm8k-srl."),
        ({"val_fraction": 1.0}, "--val-fraction must be at least 0 and below 1, got 1.0."),
        ({"dry_run": True}, "--dry-run needs --out DIR. Add --out DIR to see what would be uploaded."),
        ({"out": "x"}, "--out is only used with --dry-run. Add --dry-run, or drop --out."),
        ({"license": "Apache 2"}, "--license 'Apache 2' is not a license id. Use a Hub license id such as "
                                  "apache-2.0, mit, cc-by-4.0 or other."),
    ],
)
def test_push_config_refuses_bad_options(kwargs, message):
    options = {"sources": ("a.jsonl",), "repo_id": "org/name", **kwargs}
    with pytest.raises(ConfigError) as err:
        PushConfig(**options)
    assert str(err.value) == message


def test_split_is_a_stable_hash_of_the_trajectory():
    keys = [f"traj-{i}" for i in range(2000)]
    first = [split_of(k, 0.1) for k in keys]
    assert first == [split_of(k, 0.1) for k in keys]
    share = first.count("validation") / len(first)
    assert 0.07 < share < 0.13
    assert {split_of(k, 0.0) for k in keys} == {"train"}


def test_samples_of_one_problem_share_a_split():
    # generate --n 2 names its rows "<problem id>#<sample>": every trajectory,
    # step record and hindsight pair of one problem must land in one split.
    for i in range(300):
        keys = {trajectory_key({"trajectory_id": f"p{i}#{s}"}, "steps") for s in range(4)}
        keys |= {trajectory_key({"extra_info": {"trajectory_id": f"p{i}#{s}"}}, "hindsight") for s in range(4)}
        keys |= {trajectory_key({"id": f"p{i}#{s}"}, kind) for s in range(4) for kind in ("trajectories", "solutions")}
        assert len({split_of(key, 0.5) for key in keys}) == 1, keys
    assert trajectory_key({"trajectory_id": "p1"}, "steps") == trajectory_key({"id": "p1#0"}, "solutions")


def test_dry_run_loads_with_datasets(outputs, tmp_path, offline_datasets):
    out = tmp_path / "hub"
    result = push(PushConfig(sources=(str(outputs.steps), str(outputs.hindsight)), repo_id="org/gsm8k-srl",
                             license="mit", val_fraction=0.2, dry_run=True, out=str(out)))
    assert result.dry_run and result.folder == str(out)
    for source, config in ((outputs.steps, "steps"), (outputs.hindsight, "hindsight")):
        data = load(out, config)
        assert set(data) == {"train", "validation"}
        assert data["train"].num_rows + data["validation"].num_rows == count_rows(source)
        assert data["train"].column_names == pq.read_schema(source).names
        info = next(i for i in result.configs if i.name == config)
        assert info.splits == {"train": data["train"].num_rows, "validation": data["validation"].num_rows}
        # never one trajectory in both splits
        assert not set(data["train"]["trajectory_id"]) & set(data["validation"]["trajectory_id"])
    # the same trajectory lands in the same split in every config
    steps, pairs = load(out, "steps"), load(out, "hindsight")
    assert set(steps["validation"]["trajectory_id"]) == set(pairs["validation"]["trajectory_id"])
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted(result.uploaded)
    assert "srl_data/steps/manifest.json" in files and "srl_data/hindsight/card.json" in files
    assert not any(name.endswith(".partial") for name in files)


def test_shards_are_bounded_and_named_for_the_hub(outputs, tmp_path, offline_datasets):
    out = tmp_path / "hub"
    push(PushConfig(sources=(str(outputs.steps),), repo_id="org/x", dry_run=True, out=str(out),
                    max_shard_bytes=1, batch_rows=50))
    shards = sorted(p.name for p in (out / "data" / "steps").iterdir())
    rows = count_rows(outputs.steps)
    expected = -(-rows // 50)
    assert shards == [f"train-{i:05d}-of-{expected:05d}.parquet" for i in range(expected)]
    assert load(out, "steps")["train"].num_rows == rows


def test_jsonl_trajectories_with_free_form_metadata_push(outputs, tmp_path, offline_datasets):
    out = tmp_path / "hub"
    push(PushConfig(sources=(str(outputs.trajectories),), repo_id="org/x", dry_run=True, out=str(out)))
    data = load(out, "trajectories")["train"]
    assert data.num_rows == count_rows(outputs.trajectories)
    first = json.loads(outputs.trajectories.read_text().splitlines()[0])
    assert data[0]["steps"][0]["action"] == first["steps"][0]["action"]
    assert json.loads(data[0]["metadata"]) == first["metadata"]


def test_a_second_dry_run_replaces_the_folder_and_refuses_foreign_folders(outputs, tmp_path):
    out = tmp_path / "hub"
    push(PushConfig(sources=(str(outputs.steps),), repo_id="org/x", dry_run=True, out=str(out)))
    push(PushConfig(sources=(str(outputs.hindsight),), repo_id="org/x", dry_run=True, out=str(out)))
    assert sorted(p.name for p in (out / "data").iterdir()) == ["hindsight"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(Exception) as err:
        push(PushConfig(sources=(str(outputs.steps),), repo_id="org/x", dry_run=True, out=str(foreign)))
    assert "is not empty and not an earlier dry run" in str(err.value)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_dry_run_out_that_is_a_file_is_refused(outputs, tmp_path):
    taken = tmp_path / "hub"
    taken.write_text("keep me")
    with pytest.raises(OutputError) as err:
        push(PushConfig(sources=(str(outputs.steps),), repo_id="org/x", dry_run=True, out=str(taken)))
    assert str(err.value) == f"{taken}: is a file, not a folder. Give --out an empty or new folder."
    assert taken.read_text() == "keep me"


# ---------------------------------------------------------------------------
# Upload through a fake HfApi


class FakeHTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = SimpleNamespace(status_code=status)


class FakeHfApi:
    """Records the calls push makes; holds a repository as {path: bytes}."""

    def __init__(self, files: dict[str, bytes] | None = None, failures: list[Exception] | None = None,
                 download_dir: Path | None = None) -> None:
        self.files = dict(files or {})
        self.failures = list(failures or [])
        self.calls: list[tuple[str, dict]] = []
        self.download_dir = download_dir
        self.commits: list[dict] = []

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))
        return SimpleNamespace(url=f"https://huggingface.co/datasets/{kwargs['repo_id']}")

    def list_repo_files(self, **kwargs):
        self.calls.append(("list_repo_files", kwargs))
        return sorted(self.files)

    def hf_hub_download(self, **kwargs):
        self.calls.append(("hf_hub_download", kwargs))
        path = self.download_dir / kwargs["filename"].replace("/", "__")
        path.write_bytes(self.files[kwargs["filename"]])
        return str(path)

    def create_commit(self, **kwargs):
        self.calls.append(("create_commit", kwargs))
        if self.failures:
            raise self.failures.pop(0)
        added, deleted = {}, []
        for op in kwargs["operations"]:
            if type(op).__name__ == "CommitOperationDelete":
                deleted.append(op.path_in_repo)
            else:
                added[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
        for path in deleted:
            self.files.pop(path)
        self.files.update(added)
        self.commits.append({"added": sorted(added), "deleted": deleted, "message": kwargs["commit_message"]})
        return SimpleNamespace(commit_url=f"https://huggingface.co/datasets/{kwargs['repo_id']}/commit/1")


def upload_config(*sources: Path, **kwargs) -> PushConfig:
    return PushConfig(sources=tuple(str(s) for s in sources), repo_id="org/gsm8k-srl", **kwargs)


def test_upload_creates_the_repo_and_commits_every_file(outputs, tmp_path):
    api = FakeHfApi(download_dir=tmp_path)
    result = upload(upload_config(outputs.steps, license="apache-2.0", private=True), api=api,
                    token=FAKE_TOKEN)
    assert api.calls[0] == ("create_repo", {"repo_id": "org/gsm8k-srl", "repo_type": "dataset",
                                            "private": True, "exist_ok": True})
    commit = api.commits[0]
    assert commit["deleted"] == []
    assert "README.md" in commit["added"] and "data/steps/train-00000-of-00001.parquet" in commit["added"]
    assert commit["message"] == "srl-data push: steps"
    assert result.uploaded == commit["added"]
    card = api.files["README.md"].decode()
    assert yaml.safe_load(card.split("---")[1])["license"] == "apache-2.0"


def test_pushing_again_replaces_only_the_given_configs(outputs, tmp_path):
    api = FakeHfApi(download_dir=tmp_path)
    upload(upload_config(outputs.steps, outputs.hindsight, max_shard_bytes=1, batch_rows=100), api=api,
           token=FAKE_TOKEN)
    old_steps = {f for f in api.files if f.startswith("data/steps/")}
    assert len(old_steps) > 1
    hindsight_files = {f: v for f, v in api.files.items() if f.startswith(("data/hindsight/", "srl_data/hindsight/"))}
    api.files["notes/keep.txt"] = b"not ours"
    result = upload(upload_config(outputs.steps), api=api, token=FAKE_TOKEN)
    commit = api.commits[-1]
    assert set(commit["deleted"]) == old_steps - {"data/steps/train-00000-of-00001.parquet"}
    assert all(f.startswith("data/steps/") for f in commit["deleted"])
    assert result.kept == ["hindsight"]
    # the hindsight config and foreign files are untouched, and the card still lists hindsight
    assert {f: v for f, v in api.files.items() if f.startswith(("data/hindsight/", "srl_data/hindsight/"))} == \
        hindsight_files
    assert api.files["notes/keep.txt"] == b"not ours"
    header = yaml.safe_load(api.files["README.md"].decode().split("---")[1])
    assert [c["config_name"] for c in header["configs"]] == ["steps", "hindsight"]
    assert "### `hindsight`: Goal-directed (hindsight) pairs" in api.files["README.md"].decode()


def test_transient_errors_are_retried_and_others_fail_fast(outputs, tmp_path):
    sleeps: list[float] = []
    api = FakeHfApi(failures=[FakeHTTPError(503, "unavailable"), FakeHTTPError(429, "slow down")],
                    download_dir=tmp_path)
    upload(upload_config(outputs.steps), api=api, token=FAKE_TOKEN, sleep=sleeps.append)
    assert len(sleeps) == 2 and len(api.commits) == 1
    assert [name for name, _ in api.calls].count("create_commit") == 3

    api = FakeHfApi(failures=[FakeHTTPError(403, f"forbidden for token {FAKE_TOKEN}")], download_dir=tmp_path)
    with pytest.raises(HubError) as err:
        upload(upload_config(outputs.steps), api=api, token=FAKE_TOKEN, sleep=sleeps.append)
    assert len(sleeps) == 2  # no retry on 403
    assert str(err.value) == ("uploading failed (forbidden for token <redacted>). The token cannot write to "
                              "this repository: use a token with write access.")


def test_the_token_is_in_no_uploaded_file(outputs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    api = FakeHfApi(download_dir=tmp_path)
    result = upload(upload_config(outputs.steps, outputs.hindsight), api=api)
    assert api.files
    for path, data in api.files.items():
        assert FAKE_TOKEN.encode() not in data, path
    assert FAKE_TOKEN not in repr(result)
    assert all(FAKE_TOKEN not in repr(kwargs) for name, kwargs in api.calls if name != "create_commit")


def test_token_comes_from_the_environment_or_the_saved_login(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "token"))
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    assert resolve_token() == FAKE_TOKEN
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    with pytest.raises(HubError) as err:
        resolve_token()
    assert str(err.value) == ("no Hugging Face token found. Set HF_TOKEN, or log in once with `hf auth login`; "
                              "or use --dry-run --out DIR.")
    (tmp_path / "token").write_text("hf_SavedLoginToken0123456789")
    assert resolve_token() == "hf_SavedLoginToken0123456789"


def test_dry_run_folder_holds_no_token(outputs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    out = tmp_path / "hub"
    push(PushConfig(sources=(str(outputs.steps),), repo_id="org/x", dry_run=True, out=str(out)))
    assert FAKE_TOKEN not in every_file_text(out)
