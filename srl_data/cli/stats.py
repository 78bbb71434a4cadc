"""``srl-data stats``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from . import common
from ._app import app


@app.command(
    "stats",
    epilog=(
        "Examples:\n\n"
        "  srl-data stats out/steps.parquet\n\n"
        "  srl-data stats out/hindsight.jsonl --json | jq .horizons\n\n"
        "  srl-data stats out/steps.parquet --plot steps.png"
    ),
)
def stats_command(
    path: Annotated[str, typer.Argument(help="Any srl-data output: step records, hindsight pairs, trajectories, "
                                        "teacher solutions, rejects or failures (JSONL or Parquet).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON (for scripts).")] = False,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Also write the histograms as a PNG (needs srl-data[plot]).")
    ] = None,
) -> None:
    """Describe any srl-data output: counts, steps, tokens, rejects, horizons.

    Counts, steps per trajectory, prompt and target tokens (p50/p95/max),
    rejects and failures by reason, and hindsight horizons of an output file.

    The kind of file is detected from its columns; the run's manifest beside
    the file (written by every srl-data command) adds what the run dropped and why.
    """
    from ..stats import collect_stats, plot_stats

    def go():
        stats = collect_stats(path)
        if plot is not None:
            plot_stats(stats, plot)
        return stats

    stats = common.run(go)
    data = stats.to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    print_stats(data)
    if plot is not None:
        typer.echo(f"plot written to {plot}", err=True)


def _dist(data: dict) -> str:
    return f"p50 {data['p50']:,} / p95 {data['p95']:,} / max {data['max']:,}"


def print_stats(data: dict) -> None:
    table = Table(title=f"{data['path']} ({data['kind']})", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("rows", f"{data['rows']:,}")
    if data["kind"] != "rejects":
        table.add_row("trajectories", f"{data['trajectories']:,}")
    steps = data.get("steps_per_trajectory")
    if steps:
        table.add_row("steps per trajectory", f"min {steps['min']} / {_dist(steps)}")
        table.add_row("  histogram", "  ".join(f"{k}: {v:,}" for k, v in steps["histogram"].items()))
    labels = {"solutions": ("teacher prompt tokens", "completion tokens")}.get(
        data["kind"], ("prompt tokens", "target tokens"))
    for key, label in zip(("prompt_tokens", "target_tokens"), labels):
        if key in data:
            table.add_row(label, _dist(data[key]))
    horizons = data.get("horizons")
    if horizons:
        table.add_row("horizons", _dist(horizons))
        table.add_row("  histogram", "  ".join(f"{k}: {v:,}" for k, v in horizons["histogram"].items()))
    for name, counts in data.get("by", {}).items():
        table.add_row(f"by {name}", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if "reasons" in data:
        table.add_row("by reason", ", ".join(f"{k} {v:,}" for k, v in data["reasons"].items()))
    for group, reasons in data.get("dropped", {}).items():
        table.add_row(f"run {group.replace('_', ' ')}", ", ".join(f"{k} {v:,}" for k, v in reasons.items()))
    common.stdout_console().print(table)
