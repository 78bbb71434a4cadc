"""The dataset card (``README.md``) that ``srl-data push`` writes.

The prose lives in files a person can edit: ``templates/dataset_card.md``
(the page, with ``$placeholders``) and ``templates/card_kinds.toml`` (what each
kind of configuration holds). This module fills in what is computed: the YAML
header the Hub reads (license, configs and their data files, task categories,
tags, size category), and per configuration the counts, token statistics,
provenance from the run manifest, the schema and one sample record.
"""

from __future__ import annotations

import json
import string
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from . import __version__
from .manifest import scrub

TEMPLATE = "dataset_card.md"
KINDS_FILE = "card_kinds.toml"
SAMPLE_TEXT_LIMIT = 400

# What each column means, for the schema table.
COLUMN_DESCRIPTIONS = {
    "id": "stable id of the row",
    "trajectory_id": "id of the expert trajectory (solution) the row comes from",
    "step_index": "1-based index k of the target step",
    "num_steps": "number of steps N of the trajectory",
    "problem": "the problem or task",
    "previous_steps": "the expert's steps 1..k-1 (context)",
    "expert_action": "the target: the expert's action (the reward's reference)",
    "step_title": "the target step's title, where the solution gives one",
    "answer": "reference final answer, if known",
    "prompt": "the model's input as chat messages [{role, content}]",
    "prompt_tokens": "prompt length in cl100k_base tokens",
    "target_tokens": "expert_action length in cl100k_base tokens",
    "metadata": "provenance: segmenter, prompt template id and hash, schema version, ...",
    "start_index": "start state i (0 = the task alone)",
    "goal_index": "goal state j > i",
    "horizon": "j - i",
    "start_state": "the expert's actions 1..i that form the start state",
    "start_observations": "observations after those actions (agents; context only)",
    "goal": "the goal shown to the model (state j, without the answer)",
    "goal_kind": "how the goal was described (result, title, observation, answer, state)",
    "kind": "text (math) or agent",
    "thinking": "the expert's thinking, kept apart: never a step or a target",
    "preamble": "text before the first step",
    "system": "the agent's system prompt",
    "segmenter": "the rule that cut the solution into steps",
    "steps": "ordered steps: action, title, thought, observation",
    "source": "where the row came from",
    "solution": "the teacher's solution as numbered steps",
    "verified": "whether the final answer matched the reference",
    "finish_reason": "why the teacher stopped",
    "usage": "token usage reported for the teacher call",
    "teacher": "teacher model, template and sampling parameters",
    "data_source": "verl: name of the data source",
    "ability": "verl: task family",
    "reward_model": "verl: {style, ground_truth = the expert action}",
    "extra_info": "verl: ids and provenance",
}


@dataclass
class ConfigInfo:
    """Everything the card says about one configuration."""

    name: str
    kind: str
    splits: dict[str, int]
    columns: list[tuple[str, str]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        return sum(self.splits.values())

    @property
    def layout(self) -> str:
        return "verl" if any(name == "reward_model" for name, _ in self.columns) else "trl"

    def data_files(self) -> list[dict[str, str]]:
        return [{"split": split, "path": f"data/{self.name}/{split}-*"} for split in self.splits]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = [list(c) for c in self.columns]
        return scrub(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ConfigInfo":
        return cls(
            name=data["name"],
            kind=data["kind"],
            splits={str(k): int(v) for k, v in data.get("splits", {}).items()},
            columns=[(str(a), str(b)) for a, b in data.get("columns", [])],
            stats=data.get("stats") or {},
            manifest=data.get("manifest"),
            sample=data.get("sample"),
        )


@lru_cache(maxsize=1)
def _templates() -> tuple[str, dict[str, dict[str, str]]]:
    folder = resources.files("srl_data") / "templates"
    page = (folder / TEMPLATE).read_text(encoding="utf-8")
    kinds = tomllib.loads((folder / KINDS_FILE).read_text(encoding="utf-8"))
    return page, kinds


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` value for a row count."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "n>1B"


def card_header(configs: list[ConfigInfo], license: str | None, pretty_name: str) -> dict[str, Any]:
    """The YAML header: what the Hub reads to list configs, splits and files."""
    tags = ["srl", "supervised-reinforcement-learning", "step-wise-reasoning", "srl-data"]
    kinds = {c.kind for c in configs}
    if "hindsight" in kinds:
        tags += ["hindsight", "goal-conditioned"]
    trajectory_kinds = {k for c in configs for k in (c.stats.get("by", {}).get("trajectory_kind") or {})}
    segmenters = {k for c in configs for k in (c.stats.get("by", {}).get("segmenter") or {})}
    if "agent" in trajectory_kinds or "agent" in segmenters:
        tags.append("agents")
    header: dict[str, Any] = {}
    if license:
        header["license"] = license
    header["pretty_name"] = pretty_name
    header["task_categories"] = ["text-generation", "reinforcement-learning"]
    header["tags"] = tags
    header["size_categories"] = [size_category(sum(c.rows for c in configs))]
    header["configs"] = [
        {"config_name": c.name, "data_files": c.data_files(), **({"default": True} if i == 0 else {})}
        for i, c in enumerate(configs)
    ]
    return header


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _dist(data: dict[str, Any] | None) -> str | None:
    if not data or data.get("p50") is None:
        return None
    lead = f"min {_fmt(data['min'])} / " if "min" in data else ""
    return f"{lead}p50 {_fmt(data['p50'])} / p95 {_fmt(data['p95'])} / max {_fmt(data['max'])}"


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{k}: {_fmt(v)}" for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SAMPLE_TEXT_LIMIT:
        return value[:SAMPLE_TEXT_LIMIT] + f"… [{len(value) - SAMPLE_TEXT_LIMIT:,} more characters]"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


def _counts_lines(info: ConfigInfo) -> list[str]:
    stats = info.stats
    counts = (info.manifest or {}).get("counts") or {}
    lines = []
    problems = counts.get("rows_read")
    if isinstance(problems, int):
        lines.append(f"- problems (input rows) read: {_fmt(problems)}")
    if info.kind != "trajectories" or not problems:
        lines.append(f"- trajectories: {_fmt(stats.get('trajectories', 0))}")
    else:
        lines.append(f"- trajectories segmented: {_fmt(stats.get('trajectories', 0))}")
    noun = {"steps": "step records", "hindsight": "pairs", "trajectories": "rows", "solutions": "solutions"}
    lines.append(f"- {noun.get(info.kind, 'rows')}: {_fmt(info.rows)} "
                 f"({', '.join(f'{s} {_fmt(n)}' for s, n in info.splits.items())})")
    dropped = stats.get("dropped") or {}
    if dropped:
        for group, reasons in dropped.items():
            lines.append(f"- {group.replace('_', ' ')} by reason: {_reasons(reasons)}")
    elif info.manifest and "counts" in info.manifest:
        lines.append("- rejected: none")
    else:
        lines.append("- rejected: not recorded (no run manifest was found beside the pushed file)")
    for name, values in sorted((stats.get("by") or {}).items()):
        if len(values) > 1 or name in ("strategy", "goal_kind", "segmenter", "verified", "targets"):
            lines.append(f"- by {name.replace('_', ' ')}: {_reasons(values)}")
    return lines


def _token_lines(info: ConfigInfo) -> list[str]:
    stats = info.stats
    labels = (("steps_per_trajectory", "steps per trajectory"),
              ("prompt_tokens", "prompt tokens" if info.kind != "solutions" else "teacher prompt tokens"),
              ("target_tokens", "target tokens" if info.kind != "solutions" else "completion tokens"),
              ("horizons", "horizon (j - i)"))
    lines = []
    for key, label in labels:
        text = _dist(stats.get(key))
        if text:
            lines.append(f"| {label} | {text} |")
    if not lines:
        return []
    return ["Token counts use tiktoken's `cl100k_base`.", "", "| statistic | value |", "| --- | --- |", *lines]


def _provenance_lines(info: ConfigInfo) -> list[str]:
    manifest = info.manifest
    if not manifest:
        return ["No run manifest was found beside the pushed file, so how it was made is not recorded."]
    lines = []
    command = manifest.get("command", "unknown")
    lines.append(f"- made by `srl-data {command}` (srl-data {manifest.get('srl_data_version', '?')}, "
                 f"{manifest.get('created_at', 'time unknown')})")
    inputs = manifest.get("inputs") or []
    if inputs:
        lines.append(f"- input: {', '.join(f'`{i}`' for i in inputs)}")
    segmenter = manifest.get("segmenter")
    if isinstance(segmenter, dict):
        used = segmenter.get("used") or {}
        used_text = _reasons(used) if used else "n/a"
        lines.append(f"- segmenter: `{segmenter.get('requested')}` requested; rules used: {used_text}")
    elif segmenter:
        lines.append(f"- segmenter: `{segmenter}`")
    if manifest.get("strategy") is not None:
        strategy = manifest["strategy"]
        if isinstance(strategy, dict):
            rest = ", ".join(f"{k} = {v}" for k, v in strategy.items() if k != "name" and v is not None)
            text = f"`{strategy.get('name', '?')}`" + (f" ({rest})" if rest else "")
        else:
            text = f"`{strategy}`"
        lines.append(f"- pair strategy: {text}")
    templates = manifest.get("templates") or []
    if templates:
        lines.append("- prompt templates: " + ", ".join(f"`{t['id']}` (hash `{t['hash']}`)" for t in templates))
    teacher = manifest.get("teacher")
    if teacher:
        model = teacher.get("model", "unknown") if isinstance(teacher, dict) else teacher
        params = {k: v for k, v in teacher.items() if k != "model"} if isinstance(teacher, dict) else {}
        text = f"- teacher model: `{model}`"
        if params:
            text += "; sampling: " + ", ".join(f"{k} = {v}" for k, v in params.items())
        lines.append(text)
    options = manifest.get("config")
    if options:
        lines += ["", "<details><summary>Options of the run</summary>", "", "```yaml",
                  yaml.safe_dump(options, sort_keys=True, allow_unicode=True).rstrip(), "```", "", "</details>"]
    run = manifest.get("run")
    if isinstance(run, dict) and run.get("config"):
        lines += ["", "<details><summary>The <code>srl-data run</code> config that made it</summary>", "",
                  "```yaml", yaml.safe_dump(run["config"], sort_keys=False, allow_unicode=True).rstrip(), "```",
                  "", "</details>"]
    return lines


def _schema_lines(info: ConfigInfo) -> list[str]:
    lines = ["| column | type | meaning |", "| --- | --- | --- |"]
    for name, kind in info.columns:
        kind_text = kind if len(kind) <= 80 else kind[:77] + "..."
        lines.append(f"| `{name}` | `{kind_text}` | {COLUMN_DESCRIPTIONS.get(name, '')} |")
    return lines


def config_section(info: ConfigInfo) -> str:
    _, kinds = _templates()
    about = kinds.get(info.kind, {})
    parts = [f"### `{info.name}`: {about.get('title', info.kind)}", "", about.get("text", "").strip()]
    if info.layout == "verl":
        parts += ["", "The rows are in verl's layout: the target is `reward_model.ground_truth`."]
    parts += ["", "**Counts**", "", *_counts_lines(info)]
    tokens = _token_lines(info)
    if tokens:
        parts += ["", "**Lengths**", "", *tokens]
    parts += ["", "**How it was made**", "", *_provenance_lines(info)]
    if info.columns:
        parts += ["", "**Schema**", "", *_schema_lines(info)]
    if info.sample is not None:
        sample = json.dumps(_shorten(scrub(info.sample)), ensure_ascii=False, indent=2, default=str)
        parts += ["", "<details><summary>One sample record</summary>", "", "```json", sample, "```", "",
                  "</details>"]
    return "\n".join(parts)


def render_card(
    repo_id: str,
    configs: list[ConfigInfo],
    *,
    license: str | None = None,
    created_at: str | None = None,
) -> str:
    """The full ``README.md`` for ``configs`` (the first is the default)."""
    page, _ = _templates()
    pretty_name = repo_id.split("/")[-1]
    header = card_header(configs, license, pretty_name)
    kinds = {c.kind for c in configs}
    if kinds & {"steps", "hindsight"} == {"steps", "hindsight"}:
        intro = "SRL step records and goal-directed (hindsight) pairs, ready for RL fine-tuning."
    elif "hindsight" in kinds:
        intro = "Goal-directed (hindsight) pairs built from expert trajectories, ready for RL fine-tuning."
    elif "steps" in kinds:
        intro = "Step-wise SRL records built from expert solutions, ready for RL fine-tuning."
    else:
        intro = "Expert trajectories and solutions prepared for Supervised Reinforcement Learning."
    if license:
        license_note = f"**License:** `{license}`, as chosen by the publisher."
    else:
        license_note = ("**License: not stated.** The publisher gave no license when pushing "
                        "(srl-data never assumes one); ask them before reusing this data, and mind "
                        "the licenses of the sources it was built from.")
    table = ["| config | kind | splits | rows |", "| --- | --- | --- | --- |"]
    for c in configs:
        splits = ", ".join(f"{s} {_fmt(n)}" for s, n in c.splits.items())
        table.append(f"| `{c.name}` | {c.kind} | {splits} | {_fmt(c.rows)} |")
    example = next((c for c in configs if c.kind in ("steps", "hindsight")), configs[0])
    verl_configs = [c.name for c in configs if c.layout == "verl"]
    verl_note = (
        f"The configuration(s) {', '.join(f'`{n}`' for n in verl_configs)} already have that layout; "
        "the others convert in a few lines:" if verl_configs else "The configurations here convert in a few lines:"
    )
    body = string.Template(page).substitute(
        title=pretty_name,
        intro=intro,
        version=__version__,
        license_note=license_note,
        configs_table="\n".join(table),
        config_sections="\n\n".join(config_section(c) for c in configs),
        repo_id=repo_id,
        example_config=example.name,
        verl_note=verl_note,
        created_at=created_at or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )
    front = yaml.safe_dump(header, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"
