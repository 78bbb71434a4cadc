"""``srl-data hindsight``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import common
from ._app import app

PAIRS = "Pairs and goals"
OUTPUT = "Output"


@app.command(
    "hindsight",
    epilog=(
        "Examples:\n\n"
        "  srl-data hindsight traj.jsonl -o pairs.jsonl   (future, k 4, goal result)\n\n"
        "  srl-data hindsight traj.jsonl --strategy all --max-horizon 3 --goal result -o pairs.parquet --format verl\n\n"
        "  srl-data hindsight agent_traj.jsonl --strategy future --k 2 --seed 7 --goal observation -o pairs.jsonl\n\n"
        "  srl-data hindsight train.jsonl --preset gsm8k --strategy final --goal answer -o pairs.jsonl\n\n"
        "  srl-data hindsight traj.jsonl --strategy all --dry-run"
    ),
)
def hindsight_command(
    input: Annotated[str, typer.Argument(help="Trajectories written by split-steps --trajectories-out, or raw "
                                         "solutions (JSONL(.gz), JSON, Parquet, CSV, datasets folder, Hub id).")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output file: .jsonl, .jsonl.gz or "
                                                   ".parquet (not with --dry-run).", rich_help_panel=OUTPUT)] = None,
    strategy: Annotated[str, typer.Option("--strategy", help="Which pairs (i, j): next (j = i+1), final (j = N), "
                                          "future (--k goals per start), all (every i < j).",
                                          rich_help_panel=PAIRS)] = "future",
    k: Annotated[Optional[int], typer.Option("--k", min=1, help="Goals drawn per start with --strategy future "
                                             "(default 4).", rich_help_panel=PAIRS)] = None,
    max_horizon: Annotated[Optional[int], typer.Option("--max-horizon", min=1, help="Keep only pairs with "
                                                       "j - i <= H.", rich_help_panel=PAIRS)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of future's sampling: the same seed gives the "
                                      "same pairs.", rich_help_panel=PAIRS)] = 0,
    goal: Annotated[str, typer.Option("--goal", help="How the goal state is shown: result, title, observation, "
                                      "answer or state.", rich_help_panel=PAIRS)] = "result",
    keep_leaky: Annotated[bool, typer.Option("--keep-leaky", help="Keep pairs whose goal contains or nearly equals "
                                             "the target (dropped and counted by default).",
                                             rich_help_panel=PAIRS)] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print how many pairs each trajectory and the whole "
                                          "input would give; write nothing.", rich_help_panel=OUTPUT)] = False,
    prompt_template: Annotated[Optional[str], typer.Option("--prompt-template", help="Template name in prompts/ "
                                                           "or a template file (default: hindsight, or "
                                                           "hindsight_agent for agents).",
                                                           rich_help_panel=OUTPUT)] = None,
    format: Annotated[str, typer.Option("--format", help="trl (all fields, conversational prompt) or verl.",
                                        rich_help_panel=OUTPUT)] = "trl",
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="Write raw solutions that could not be "
                                                    "segmented, with their reason.", rich_help_panel=OUTPUT)] = None,
    preset: common.Preset = None,
    problem_field: common.ProblemField = None,
    solution_field: common.SolutionField = None,
    answer_field: common.AnswerField = None,
    id_field: common.IdField = None,
    thinking_field: common.ThinkingField = None,
    split: common.Split = None,
    segmenter: common.SegmenterOpt = None,
    min_steps: common.MinSteps = 2,
    gsm8k: common.Gsm8kNotes = None,
    messages_field: common.MessagesField = None,
    action_format: common.ActionFormat = None,
    split_parallel_calls: common.SplitParallelCalls = False,
) -> None:
    """Make goal-directed (hindsight) pairs from trajectories.

    A trajectory with N steps has states s0 (the task) .. sN. Each pair (i, j),
    i < j, shows the start state s_i and a goal describing s_j; the target
    (expert_action) is the action actually taken from s_i. Goals that contain
    or nearly equal their target are dropped and counted unless --keep-leaky.
    """
    from ..hindsight import HindsightConfig, HindsightOptions, hindsight
    from ..trajectories import ReadOptions, SegmentOptions

    console = common.stdout_console()

    def per_trajectory(trajectory_id: str, steps: int, candidates: int, kept: int) -> None:
        dropped = f"\t({candidates - kept} dropped)" if candidates != kept else ""
        typer.echo(f"{trajectory_id}\t{steps} steps\t{kept} pairs{dropped}")

    def go():
        config = HindsightConfig(
            input=input,
            output=str(output) if output else None,
            read=ReadOptions(preset=preset, problem_field=problem_field, solution_field=solution_field,
                             answer_field=answer_field, id_field=id_field, thinking_field=thinking_field,
                             messages_field=messages_field, split=split),
            segment=SegmentOptions(segmenter=segmenter, min_steps=min_steps, gsm8k=gsm8k,
                                   action_format=action_format, split_parallel_calls=split_parallel_calls),
            options=HindsightOptions(strategy=strategy, k=k, max_horizon=max_horizon, seed=seed, goal=goal,
                                     keep_leaky=keep_leaky, template=prompt_template),
            format=format,
            rejects=str(rejects) if rejects else None,
            dry_run=dry_run,
        )
        if dry_run:
            return hindsight(config, on_trajectory=per_trajectory)
        with common.row_progress("hindsight") as on_row:
            return hindsight(config, on_row=on_row)

    summary = common.run(go)
    data = summary.to_dict()
    if dry_run:
        typer.echo(total_line(data))
    else:
        console.print(summary_table(data))


def _dropped_text(dropped: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count:,}" for reason, count in sorted(dropped.items()))


def total_line(data: dict) -> str:
    made = sum(data["pairs_by_strategy"].values())
    line = f"total\t{data['trajectories']:,} trajectories\t{data['pairs_kept']:,} pairs ({data['strategy']})"
    if made != data["pairs_kept"]:
        line += f"\t({made - data['pairs_kept']:,} dropped: {_dropped_text(data['dropped_records'])})"
    skipped = sum(data["skipped"].values())
    if skipped:
        line += f"\t({skipped:,} solutions skipped: {_dropped_text(data['skipped'])})"
    return line


def summary_table(data: dict) -> Any:
    table = common.summary_table("hindsight summary")
    table.add_row("rows read", f"{data['rows_read']:,}")
    table.add_row("trajectories", f"{data['trajectories']:,}")
    skipped = sum(data["skipped"].values())
    if skipped:
        table.add_row("solutions skipped", f"{skipped:,} ({_dropped_text(data['skipped'])})")
    for name, count in data["pairs_by_strategy"].items():
        table.add_row(f"pairs from {name}", f"{count:,}")
    dropped = data["dropped_records"]
    if dropped.get("no_goal"):
        table.add_row("dropped: no goal for that step", f"{dropped['no_goal']:,}")
    table.add_row("dropped by the leak guard", f"{data['leak_dropped']:,}")
    for reason, count in sorted(dropped.items()):
        if reason.startswith("leak_"):
            table.add_row(f"  {reason}", f"{count:,}")
    if data["leaky_kept"]:
        table.add_row("leaky pairs kept (--keep-leaky)", f"{data['leaky_kept']:,}")
    table.add_row("pairs written", f"{data['records_written']:,}")
    common.add_span_row(table, "horizon", data["horizon"])
    common.add_output_rows(table, data)
    return table
