"""srl_data.stats: kind detection, counts and histograms of every output kind, the plot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from srl_data.errors import ConfigError, InputError, MissingDependencyError
from srl_data.stats import StatsCollector, collect_stats, detect_kind, plot_stats
from srl_data.summary import percentile

from .outputs import GSM8K, count_rows, make_outputs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return make_outputs(tmp_path_factory.mktemp("stats"))


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        ({"id": "a", "trajectory_id": "t", "step_index": 1, "expert_action": "x"}, "steps"),
        ({"data_source": "srl_data", "reward_model": {}, "extra_info": {"step_index": 1}}, "steps"),
        ({"data_source": "srl_data", "reward_model": {}, "extra_info": {"horizon": 2}}, "hindsight"),
        ({"id": "a", "goal": "g", "horizon": 1, "expert_action": "x"}, "hindsight"),
        ({"id": "a", "steps": [], "segmenter": "lines", "problem": "p"}, "trajectories"),
        ({"id": "a", "problem": "p", "solution": "s", "verified": True}, "solutions"),
        ({"id": "a", "reason": "too_few_steps", "stage": "segment"}, "rejects"),
        ({"question": "q", "answer": "a"}, None),
    ],
)
def test_detect_kind(row, kind):
    assert detect_kind(row) == kind


def test_steps_stats_match_the_run_summary(outputs):
    stats = collect_stats(outputs.steps)
    manifest_counts = stats.manifest["counts"]
    assert stats.kind == "steps"
    assert stats.rows == count_rows(outputs.steps) == manifest_counts["records_written"]
    assert stats.trajectories == manifest_counts["trajectories"] == outputs.input_rows - outputs.rejected
    assert sum(stats.steps_per_trajectory.values()) == stats.trajectories
    data = stats.to_dict()
    assert data["prompt_tokens"] == manifest_counts["prompt_tokens"]
    assert data["target_tokens"] == manifest_counts["target_tokens"]
    assert data["steps_per_trajectory"]["max"] == manifest_counts["steps_per_trajectory"]["max"]
    assert data["dropped"] == {"skipped": {"too_few_steps": outputs.rejected}}
    assert data["by"]["segmenter"] == {"lines": stats.rows}


def test_trajectory_and_rejects_stats(outputs):
    trajectories = collect_stats(outputs.trajectories)
    steps = collect_stats(outputs.steps)
    assert trajectories.kind == "trajectories"
    assert trajectories.rows == trajectories.trajectories == steps.trajectories
    assert trajectories.steps_per_trajectory == steps.steps_per_trajectory
    rejects = collect_stats(outputs.rejects)
    assert rejects.kind == "rejects"
    assert rejects.reasons == Counter({"too_few_steps": outputs.rejected})


def test_hindsight_horizons_follow_the_all_strategy(outputs):
    stats = collect_stats(outputs.hindsight)
    assert stats.kind == "hindsight"
    # strategy all: an N-step trajectory gives N - h + 1 pairs of horizon h.
    expected: Counter[int] = Counter()
    for steps, trajectories in collect_stats(outputs.trajectories).steps_per_trajectory.items():
        for h in range(1, steps + 1):
            expected[h] += (steps - h + 1) * trajectories
    assert stats.horizons == expected
    assert stats.rows == sum(expected.values())
    assert stats.to_dict()["by"]["strategy"] == {"all": stats.rows}


def test_solutions_count_usage_and_verification():
    collector = StatsCollector("solutions")
    collector.add_all([
        {"id": "1", "problem": "p", "solution": "s", "verified": True, "finish_reason": "stop",
         "usage": {"prompt_tokens": 10, "completion_tokens": 100}},
        {"id": "2", "problem": "p", "solution": "s", "verified": False, "finish_reason": "length",
         "usage": {"prompt_tokens": 12, "completion_tokens": 300}},
    ])
    data = collector.result().to_dict()
    assert data["trajectories"] == 2
    assert data["target_tokens"] == {"p50": 100, "p95": 300, "max": 300}
    assert data["by"]["verified"] == {"True": 1, "False": 1}
    assert data["by"]["finish_reason"] == {"stop": 1, "length": 1}


def test_raw_input_is_not_an_srl_data_output():
    with pytest.raises(InputError) as err:
        collect_stats(GSM8K)
    assert str(err.value).startswith(f"{GSM8K}:1: is not an srl-data output (columns: answer, question).")


def test_plot_writes_a_png_with_every_histogram(outputs, tmp_path):
    stats = collect_stats(outputs.hindsight)
    png = plot_stats(stats, tmp_path / "plots" / "hindsight.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    height, width = matplotlib.image.imread(png).shape[:2]
    assert (width, height) == (1280, 800)  # 2 x 2 panels: steps, horizons, prompt and target tokens


@pytest.mark.parametrize("name", ["plot.txt", "plot"])
def test_plot_to_a_name_that_is_not_png(outputs, tmp_path, name):
    with pytest.raises(ConfigError) as err:
        plot_stats(collect_stats(outputs.steps), tmp_path / name)
    assert str(err.value) == f"{tmp_path / name}: --plot writes a PNG. End the file name in .png."
    assert list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_says_how_to_install(outputs, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(MissingDependencyError) as err:
        plot_stats(collect_stats(outputs.rejects), tmp_path / "x.png")
    assert str(err.value) == ('--plot needs matplotlib, which is not installed. '
                              'Install it with: pip install "srl-data[plot]".')
    assert not (tmp_path / "x.png").exists()


def test_percentiles_reuse_the_summary_definition(outputs):
    stats = collect_stats(outputs.steps)
    assert stats.to_dict()["prompt_tokens"]["p95"] == percentile(stats.prompt_tokens, 95)
    assert Path(stats.path) == outputs.steps
