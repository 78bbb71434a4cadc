"""Command-line interface. The only package that imports typer.

Each command lives in its own module, parses options, builds a config object,
calls one library function and prints the result.
"""

from __future__ import annotations

from ._app import app
from . import split_steps  # noqa: F401  (registers the command)
from . import hindsight  # noqa: F401
from . import push  # noqa: F401
from . import run  # noqa: F401
from . import generate  # noqa: F401
from . import stats  # noqa: F401
from . import score  # noqa: F401


def main() -> None:
    app()


__all__ = ["app", "main"]
