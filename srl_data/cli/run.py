"""``srl-data run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from . import common
from ._app import app


def _parse_set(items: list[str]) -> dict[str, object]:
    import yaml

    overrides: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise common.fail(f"--set '{item}' is not KEY=VALUE. Write e.g. --set hindsight.strategy=all")
        overrides[key.strip()] = yaml.safe_load(value) if value else None
    return overrides


@app.command(
    "run",
    epilog=(
        "Examples:\n\n"
        "  srl-data run examples/pipeline.yaml\n\n"
        "  srl-data run pipeline.yaml --output-dir out/try2 --dry-run-push\n\n"
        "  srl-data run pipeline.yaml --set hindsight.strategy=all --set split_steps.targets=skip-last\n\n"
        "Minimal config:\n\n"
        "  input: train.jsonl\n\n"
        "  preset: gsm8k\n\n"
        "  output_dir: out/gsm8k\n\n"
        "  split_steps: {}\n\n"
        "  hindsight: {strategy: next}\n\n"
        "  push: {repo_id: my-org/gsm8k-srl, license: mit}"
    ),
)
def run_command(
    config: Annotated[Path, typer.Argument(help="The pipeline YAML file.")],
    output_dir: Annotated[Optional[str], typer.Option("--output-dir", help="Override output_dir.")] = None,
    input: Annotated[Optional[str], typer.Option("--input", help="Override input.")] = None,
    dry_run_push: Annotated[bool, typer.Option(
        "--dry-run-push", help="Write the push into output_dir/hub (or push.out) instead of uploading.")] = False,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override any key, dotted: --set hindsight.k=2 (values are read as YAML).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo every stage, even unchanged ones.")] = False,
) -> None:
    """Run the whole chain (generate, split-steps, hindsight, push) from one YAML file.

    Generate runs when a teacher is configured; hindsight and push run when
    their sections are present.

    Each section takes the options of its command. Every stage writes into
    output_dir; a stage whose inputs and options are unchanged since the last
    run is not redone. The config is saved as output_dir/srl-data-run.yaml and
    goes into each output's manifest and the dataset card.
    """
    from ..pipeline import load_config, run_pipeline

    overrides = _parse_set(set_ or [])
    if output_dir is not None:
        overrides["output_dir"] = str(Path(output_dir).resolve())
    if input is not None:
        overrides["input"] = str(Path(input).resolve()) if Path(input).exists() else input

    def on_stage(name: str, status: str) -> None:
        if status == "unchanged":
            typer.echo(f"{name}: unchanged since the last run, not redone", err=True)
        else:
            typer.echo(f"{name}: running", err=True)

    def go():
        loaded = load_config(config, overrides)
        if dry_run_push and loaded.data.push is None:
            from ..errors import ConfigError

            raise ConfigError("--dry-run-push needs a push section", path=str(config),
                              hint="add e.g. push: {repo_id: my-org/name}")
        if dry_run_push:
            loaded.data.push.dry_run = True  # counted as set: saved with the config
        return run_pipeline(loaded, force=force, on_stage=on_stage)

    result = common.run(go)
    table = Table(title="srl-data run", show_header=True, title_justify="left")
    for column in ("stage", "status", "outputs"):
        table.add_column(column)
    for stage in result.stages:
        table.add_row(stage.name, stage.status, "\n".join(stage.outputs.values()))
    common.stdout_console().print(table)
    typer.echo(f"config saved to {result.config_file}")
