"""``srl-data push``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from . import common
from ._app import app


@app.command(
    "push",
    epilog=(
        "Examples:\n\n"
        "  srl-data push out/steps.parquet out/hindsight.parquet --repo-id my-org/gsm8k-srl --license mit\n\n"
        "  srl-data push out/steps.parquet --repo-id my-org/gsm8k-srl --val-fraction 0.05 --dry-run --out hub/\n\n"
        "  srl-data push math=out/steps_math.parquet agent=out/steps_swe.parquet --repo-id my-org/srl --private"
    ),
)
def push_command(
    paths: Annotated[list[str], typer.Argument(
        help="Files written by srl-data (steps, hindsight, trajectories, solutions). Each becomes a config "
             "named for its kind; NAME=PATH names it.", show_default=False)],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Dataset repository ORG/NAME on the Hub.")],
    license: Annotated[Optional[str], typer.Option(
        "--license", help="License id for the card (e.g. apache-2.0, mit, cc-by-4.0). Never assumed: "
                          "without it the card says no license was stated.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repository as private.")] = False,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", min=0.0, max=0.99,
        help="Share of trajectories in a validation split (by a hash of the trajectory id: a trajectory's "
             "rows are never in both splits).")] = 0.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write what would be uploaded into --out; "
                                                            "no network.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for --dry-run.")] = None,
    max_shard_mb: Annotated[int, typer.Option("--max-shard-mb", min=1,
                                              help="Largest Parquet shard, in MB of Arrow data.")] = 256,
) -> None:
    """Publish outputs to the Hugging Face Hub as Parquet with a generated dataset card.

    The card's YAML header lists each config and split; its body says what the
    data is, how it was made (from the run manifests), counts, token
    statistics, the schema, a sample record, and how to load it with datasets,
    TRL and verl. The token comes from HF_TOKEN or `hf auth login`; it is never
    printed or written. Pushing again replaces only the configs given.
    """
    from ..publish import PushConfig, push

    def go():
        config = PushConfig(
            sources=tuple(paths),
            repo_id=repo_id,
            license=license,
            private=private,
            val_fraction=val_fraction,
            dry_run=dry_run,
            out=str(out) if out else None,
            max_shard_bytes=max_shard_mb * 1024 * 1024,
        )
        return push(config)

    result = common.run(go)
    if license is None:
        typer.echo("note: no --license given; the card says the license is not stated.", err=True)
    table = Table(title="push (dry run)" if result.dry_run else "push", show_header=True, title_justify="left")
    for column in ("config", "kind", "splits", "rows"):
        table.add_column(column)
    for info in result.configs:
        splits = ", ".join(f"{s} {n:,}" for s, n in info.splits.items())
        table.add_row(info.name, info.kind, splits, f"{info.rows:,}")
    console = common.stdout_console()
    console.print(table)
    if result.kept:
        typer.echo(f"kept in the repository: {', '.join(result.kept)}")
    if result.dry_run:
        typer.echo(f"wrote {len(result.uploaded)} files to {result.folder} (nothing uploaded)")
    else:
        typer.echo(f"uploaded {len(result.uploaded)} files to https://huggingface.co/datasets/{result.repo_id}")
