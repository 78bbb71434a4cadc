"""``srl-data split-steps``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import common
from ._app import app

OUTPUT = "Output"


@app.command(
    "split-steps",
    epilog=(
        "Examples:\n\n"
        "  srl-data split-steps s1k.parquet --preset s1k -o steps.jsonl --trajectories-out traj.jsonl\n\n"
        "  srl-data split-steps train.jsonl --preset gsm8k -o steps.parquet --format verl\n\n"
        "  srl-data split-steps sols.jsonl --problem-field q --solution-field a --targets skip-last --title-hint -o out.jsonl\n\n"
        "  srl-data split-steps trajs/ --preset swe-agent --history-window 5 --max-observation-chars 2000 -o agent.jsonl\n\n"
        "  srl-data split-steps chats.jsonl --preset messages --action-format json --split-parallel-calls -o agent.jsonl"
    ),
)
def split_steps_command(
    input: Annotated[str, typer.Argument(help="JSONL(.gz), JSON, Parquet, CSV, a datasets folder, or a Hub dataset id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .jsonl, .jsonl.gz or .parquet.",
                                         rich_help_panel=OUTPUT)],
    preset: common.Preset = None,
    problem_field: common.ProblemField = None,
    solution_field: common.SolutionField = None,
    answer_field: common.AnswerField = None,
    id_field: common.IdField = None,
    thinking_field: common.ThinkingField = None,
    messages_field: common.MessagesField = None,
    split: common.Split = None,
    segmenter: common.SegmenterOpt = None,
    min_steps: common.MinSteps = 2,
    gsm8k: common.Gsm8kNotes = None,
    action_format: common.ActionFormat = None,
    split_parallel_calls: common.SplitParallelCalls = False,
    context_thoughts: common.ContextThoughts = False,
    history_window: common.HistoryWindow = None,
    max_observation_chars: common.MaxObservationChars = None,
    targets: Annotated[
        str,
        typer.Option("--targets", help="Which steps become records: all (N per solution), skip-first (N-1), "
                     "skip-last (N-1, the paper's literal reading).", rich_help_panel=OUTPUT),
    ] = "all",
    title_hint: Annotated[
        bool, typer.Option("--title-hint", help="End the prompt with the next step's number and title; the target "
                           "is the step's body.", rich_help_panel=OUTPUT)
    ] = False,
    prompt_template: Annotated[
        Optional[str], typer.Option("--prompt-template", help="Template name in prompts/ or a template file.",
                                    rich_help_panel=OUTPUT)
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="trl (all fields, conversational prompt) or verl.", rich_help_panel=OUTPUT)
    ] = "trl",
    max_prompt_tokens: Annotated[
        Optional[int], typer.Option("--max-prompt-tokens", min=1, help="Drop records whose prompt is longer "
                                    "(cl100k_base tokens) and count them.", rich_help_panel=OUTPUT)
    ] = None,
    trajectories_out: Annotated[
        Optional[Path], typer.Option("--trajectories-out", help="Also write the segmented trajectories "
                                     "(input of srl-data hindsight).", rich_help_panel=OUTPUT)
    ] = None,
    rejects: Annotated[
        Optional[Path], typer.Option("--rejects", help="Write skipped solutions with their reason.",
                                     rich_help_panel=OUTPUT)
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes that segment and build records (the output is the "
                          "same; worth it on large inputs with spare cores).")
    ] = 1,
) -> None:
    """Cut expert solutions into steps and write one SRL record per step.

    Each record holds the problem and the expert's earlier steps as a chat prompt,
    and the expert's next step as the target (expert_action). Thinking (<think>
    blocks, --thinking-field) is kept apart and never lands in a step.

    Agent trajectories (--preset messages, swe-agent or react) give one step per
    assistant turn: the action is its tool call(s), the thought and the tool
    output stay out of the target.
    """
    from ..records import StepRecordOptions
    from ..split_steps import SplitStepsConfig, split_steps
    from ..trajectories import ReadOptions, SegmentOptions

    def go():
        config = SplitStepsConfig(
            input=input,
            output=str(output),
            read=ReadOptions(
                preset=preset,
                problem_field=problem_field,
                solution_field=solution_field,
                answer_field=answer_field,
                id_field=id_field,
                thinking_field=thinking_field,
                messages_field=messages_field,
                split=split,
            ),
            segment=SegmentOptions(segmenter=segmenter, min_steps=min_steps, gsm8k=gsm8k,
                                   action_format=action_format, split_parallel_calls=split_parallel_calls),
            records=StepRecordOptions(
                targets=targets, title_hint=title_hint, template=prompt_template, max_prompt_tokens=max_prompt_tokens,
                context_thoughts=context_thoughts, history_window=history_window,
                max_observation_chars=max_observation_chars,
            ),
            format=format,
            trajectories_out=str(trajectories_out) if trajectories_out else None,
            rejects=str(rejects) if rejects else None,
            workers=workers,
        )
        with common.row_progress("split-steps") as on_row:
            return split_steps(config, on_row=on_row)

    summary = common.run(go)
    print_summary(summary.to_dict())


def print_summary(data: dict) -> None:
    table = common.summary_table("split-steps summary")
    table.add_row("rows read", f"{data['rows_read']:,}")
    table.add_row("trajectories segmented", f"{data['trajectories']:,}")
    if data["rules"]:
        table.add_row("  by rule", ", ".join(f"{k} {v:,}" for k, v in sorted(data["rules"].items())))
    skipped = sum(data["skipped"].values())
    table.add_row("skipped", f"{skipped:,}")
    for reason, count in sorted(data["skipped"].items()):
        table.add_row(f"  {reason}", f"{count:,}")
    for reason, count in sorted(data["dropped_records"].items()):
        table.add_row(f"records dropped: {reason}", f"{count:,}")
    table.add_row("records written", f"{data['records_written']:,}")
    common.add_span_row(table, "steps per trajectory", data["steps_per_trajectory"])
    common.add_output_rows(table, data)
    common.stdout_console().print(table)
