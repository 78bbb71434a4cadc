"""``srl-data score``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from . import common
from ._app import app

REWARD = "Reward"


@app.command(
    "score",
    epilog=(
        "Examples:\n\n"
        "  srl-data score preds.jsonl --records steps.jsonl -o scores.jsonl\n\n"
        "  srl-data score preds.jsonl --records steps.parquet --normalize-whitespace --partial\n\n"
        "  srl-data score preds.jsonl --records steps.jsonl --semantic-weight 0.3   (needs srl-data[semantic])"
    ),
)
def score_command(
    predictions: Annotated[str, typer.Argument(help="JSONL/JSON/Parquet/CSV rows with 'id' (a step record's id) "
                                               "and 'completion' (text or chat messages).")],
    records: Annotated[str, typer.Option("--records", help="The step records the predictions answer "
                                         "(srl-data split-steps output, trl or verl layout).")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write one score row per prediction "
                                                   "(.jsonl, .jsonl.gz or .parquet).")] = None,
    normalize_whitespace: Annotated[bool, typer.Option("--normalize-whitespace", help="Collapse whitespace in the "
                                                       "action and the expert action before comparing.",
                                                       rich_help_panel=REWARD)] = False,
    semantic_weight: Annotated[float, typer.Option("--semantic-weight", min=0.0, max=1.0, help="Mix in the cosine "
                                                   "similarity of sentence embeddings with this weight (needs the "
                                                   "'semantic' extra).", rich_help_panel=REWARD)] = 0.0,
    prompt_opens_think: Annotated[bool, typer.Option("--prompt-opens-think", help="The chat template ends the "
                                                     "prompt with <think>: completions start inside the thinking.",
                                                     rich_help_panel=REWARD)] = False,
    partial: Annotated[bool, typer.Option("--partial", help="Score only the records that have a prediction "
                                          "(default: a record without one is an error).")] = False,
) -> None:
    """Score model completions on step records with the SRL reward.

    The reward is the paper's: difflib's similarity of the action (the text
    after </think>) with the expert's step; a response that breaks the
    <think>…</think> format scores -1. Prints the mean reward, the
    format-failure rate and a breakdown by step index.
    """
    from ..reward import RewardOptions
    from ..scoring import ScoreConfig, score

    def go():
        config = ScoreConfig(
            predictions=predictions,
            records=records,
            output=str(output) if output else None,
            reward=RewardOptions(normalize_whitespace=normalize_whitespace, semantic_weight=semantic_weight,
                                 prompt_opens_think=prompt_opens_think),
            partial=partial,
        )
        with common.row_progress("score") as on_row:
            return score(config, on_row=on_row)

    summary = common.run(go)
    print_summary(summary.to_dict())


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_summary(data: dict) -> None:
    console = common.stdout_console()
    table = Table(title="score summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("predictions scored", f"{data['scored']:,}")
    table.add_row("step records", f"{data['records_read']:,}")
    if data["unscored_records"]:
        table.add_row("records without a prediction", f"{data['unscored_records']:,}")
    table.add_row("mean reward", _num(data["mean_reward"]))
    table.add_row("format failures", f"{data['format_failures']:,} ({_rate(data['format_failure_rate'])})")
    for problem, count in sorted(data["format_problems"].items()):
        table.add_row(f"  {problem}", f"{count:,}")
    table.add_row("mean reward when well formed", _num(data["mean_reward_well_formed"]))
    if data["output"]:
        table.add_row("output", data["output"])
    console.print(table)

    steps = Table(title="by step index", title_justify="left")
    steps.add_column("step", justify="right")
    steps.add_column("predictions", justify="right")
    steps.add_column("mean reward", justify="right")
    steps.add_column("format failures", justify="right")
    for row in data["by_step"]:
        index = "?" if row["step_index"] is None else str(row["step_index"])
        rate = row["format_failures"] / row["count"] if row["count"] else None
        steps.add_row(index, f"{row['count']:,}", _num(row["mean_reward"]),
                      f"{row['format_failures']:,} ({_rate(rate)})")
    console.print(steps)
