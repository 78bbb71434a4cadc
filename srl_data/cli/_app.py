"""The root typer app. Only the ``srl_data.cli`` package imports typer."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import __version__
from . import common

app = typer.Typer(
    name="srl-data",
    help="Build training data for Supervised Reinforcement Learning: expert solutions become "
    "step-wise (context, next action) records and goal-directed hindsight pairs, as JSONL or "
    "Parquet for TRL, verl or any trainer.",
    no_args_is_help=True,
    add_completion=False,
    # API keys live in local variables: never print them in a traceback.
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"srl-data {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback on errors (or set SRL_DATA_DEBUG=1).")
    ] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    common.set_debug(debug)
