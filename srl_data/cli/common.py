"""What every command shares: the error boundary, consoles, progress and
option definitions used by more than one command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console

from ..errors import SrlDataError

T = TypeVar("T")

_debug = False


def set_debug(value: bool) -> None:
    global _debug
    _debug = value


def debug_enabled() -> bool:
    return _debug or os.environ.get("SRL_DATA_DEBUG", "") not in ("", "0", "false")


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the Exit to raise."""
    sys.stderr.write(f"Error: {message}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def run(action: Callable[[], T]) -> T:
    """The error boundary: a library error becomes one line on stderr and a
    non-zero exit; the traceback only with --debug or SRL_DATA_DEBUG=1."""
    try:
        return action()
    except SrlDataError as err:
        if debug_enabled():
            raise
        raise fail(str(err), err.exit_code) from None
    except KeyboardInterrupt:
        if debug_enabled():
            raise
        raise fail("interrupted; no output was written for the unfinished run", 130) from None


@contextmanager
def row_progress(label: str) -> Iterator[Callable[[Any], None]]:
    """A progress display (rows read, rate) on a terminal; silent otherwise."""
    console = stderr_console()
    if not console.is_terminal:
        yield lambda _row: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda _row: progress.advance(task)


# ---------------------------------------------------------------------------
# Options shared by the commands that read problems or solutions.

READING = "Reading input"

Preset = Annotated[
    Optional[str],
    typer.Option("--preset", help="Field names and defaults of a known dataset: s1k, gsm8k; agents: messages, swe-agent, react.", rich_help_panel=READING),
]
ProblemField = Annotated[
    Optional[str], typer.Option("--problem-field", help="Field holding the problem.", rich_help_panel=READING)
]
SolutionField = Annotated[
    Optional[str], typer.Option("--solution-field", help="Field holding the expert solution.", rich_help_panel=READING)
]
AnswerField = Annotated[
    Optional[str], typer.Option("--answer-field", help="Field holding the reference final answer.", rich_help_panel=READING)
]
IdField = Annotated[
    Optional[str],
    typer.Option("--id-field", help="Field holding a row id (default: an id derived from the row's content).",
                 rich_help_panel=READING),
]
ThinkingField = Annotated[
    Optional[str],
    typer.Option("--thinking-field", help="Field holding the expert's thinking (kept apart, never a step).",
                 rich_help_panel=READING),
]
Split = Annotated[
    Optional[str],
    typer.Option("--split", help="Split to read from a datasets folder or Hub dataset (default: train).",
                 rich_help_panel=READING),
]

SEGMENTING = "Segmenting"

SegmenterOpt = Annotated[
    Optional[str],
    typer.Option("--segmenter", help="numbered, headers, lines, paragraphs, auto, or agent (default: auto, or the preset's).",
                 rich_help_panel=SEGMENTING),
]
MinSteps = Annotated[
    int, typer.Option("--min-steps", min=1, help="Skip solutions with fewer steps.", rich_help_panel=SEGMENTING)
]
Gsm8kNotes = Annotated[
    Optional[bool],
    typer.Option("--gsm8k/--no-gsm8k",
                 help="Treat '#### N' as the answer and drop <<calculator>> notes (on with --preset gsm8k).",
                 rich_help_panel=SEGMENTING),
]

# ---------------------------------------------------------------------------
# Options for agent trajectories (--segmenter agent; presets messages, swe-agent, react).

AGENT = "Agent trajectories"

MessagesField = Annotated[
    Optional[str],
    typer.Option("--messages-field", help="Field holding the chat messages of an agent trajectory "
                 "(messages preset: messages; swe-agent: history).", rich_help_panel=READING),
]
ActionFormat = Annotated[
    Optional[str],
    typer.Option("--action-format", help="How tool calls become the action: function-xml "
                 "(<function=NAME><parameter=KEY>VALUE</parameter></function>, default), json, or raw "
                 "(the agent's own command string, e.g. SWE-agent's action).", rich_help_panel=AGENT),
]
SplitParallelCalls = Annotated[
    bool,
    typer.Option("--split-parallel-calls", help="One step per tool call instead of one per assistant turn.",
                 rich_help_panel=AGENT),
]
ContextThoughts = Annotated[
    bool,
    typer.Option("--context-thoughts", help="Show earlier steps' thoughts in the prompt (never in the target).",
                 rich_help_panel=AGENT),
]
HistoryWindow = Annotated[
    Optional[int],
    typer.Option("--history-window", min=0, metavar="K",
                 help="Keep the task plus only the last K action/observation pairs in the prompt.",
                 rich_help_panel=AGENT),
]
MaxObservationChars = Annotated[
    Optional[int],
    typer.Option("--max-observation-chars", min=1, metavar="N",
                 help="Cut observations in the prompt after N characters, with a visible marker.",
                 rich_help_panel=AGENT),
]


# ---------------------------------------------------------------------------
# Summary tables of the commands that write records


def summary_table(title: str) -> Any:
    """A two-column (what, value) table for an end-of-run summary."""
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    return table


def add_span_row(table: Any, label: str, span: dict[str, Any]) -> None:
    """One 'min / median / max' row of a RunSummary-style dict (skipped when empty)."""
    if span.get("min") is not None:
        table.add_row(label, f"min {span['min']} / median {span['median']} / max {span['max']}")


def add_output_rows(table: Any, data: dict[str, Any]) -> None:
    """The prompt-token percentiles, the output path and any extra outputs."""
    tokens = data["prompt_tokens"]
    if tokens["p50"] is not None:
        table.add_row("prompt tokens", f"p50 {tokens['p50']:,} / p95 {tokens['p95']:,} / max {tokens['max']:,}")
    table.add_row("output", data["output"])
    for kind, path in data["extra_outputs"].items():
        table.add_row(kind, path)

