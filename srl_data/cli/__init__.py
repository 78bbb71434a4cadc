"""Command-line interface. The only package that imports typer.

Each command lives in its own module, parses options, builds a config object,
calls one library function and prints the result.
"""

from __future__ import annotations

from ._app import app

# Commands register themselves on import; this order is the order of --help,
# which follows the data's path: generate -> split-steps -> hindsight -> score,
# then looking at and publishing the outputs, then the whole chain.
from . import generate, split_steps, hindsight, score, stats, push, run  # noqa: F401,E402

def main() -> None:
    app()


__all__ = ["app", "main"]
