"""``srl-data generate``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table

from . import common
from ._app import app

if TYPE_CHECKING:
    from ..generate import GenerateProgress, GenerateSummary

TEACHER = "Teacher"
SAMPLING = "Sampling"
LIMITS = "Limits and retries"
OUTPUT = "Output"
MONEY = "Cost"
SHARDS = "Sharding"

# Seconds between plain progress lines when stderr is not a terminal.
PLAIN_INTERVAL_ENV = "SRL_DATA_PROGRESS_INTERVAL"


def _plain_interval() -> float:
    """Seconds between plain progress lines: $SRL_DATA_PROGRESS_INTERVAL, else 10."""
    raw = os.environ.get(PLAIN_INTERVAL_ENV, "").strip()
    try:
        value = float(raw) if raw else 10.0
    except ValueError:
        raise common.fail(f"{PLAIN_INTERVAL_ENV}={raw!r} is not a number of seconds. Set it to e.g. 10, or unset it",
                          2) from None
    return value if value > 0 else 10.0


@app.command(
    "generate",
    epilog=(
        "Examples:\n\n"
        "  srl-data generate problems.jsonl -o solutions.jsonl --teacher gpt-4o-mini --max-cost 5\n\n"
        "  srl-data generate train.jsonl --preset gsm8k -o gen.jsonl --teacher Qwen/Qwen2.5-7B-Instruct "
        "--base-url http://localhost:8000/v1 --concurrency 64 --n 4 --temperature 0.7\n\n"
        "  srl-data generate problems.jsonl -o gen.jsonl --teacher gpt-4.1 --dry-run\n\n"
        "Rerun the same command to resume: answers already received are read from the cache "
        "(OUTPUT's name with .cache.jsonl) and never paid for twice."
    ),
)
def generate_command(
    input: Annotated[str, typer.Argument(help="Problems: JSONL(.gz), JSON, Parquet, CSV, a datasets folder, or a Hub id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .jsonl, .jsonl.gz or .parquet "
                                         "(what split-steps reads).", rich_help_panel=OUTPUT)],
    teacher: Annotated[str, typer.Option("--teacher", help="The teacher model's name, as the server knows it.",
                                         rich_help_panel=TEACHER)],
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="An OpenAI-compatible API (vLLM, SGLang, "
                                                    "llama.cpp, Ollama, a provider). Default: $OPENAI_BASE_URL or "
                                                    "OpenAI's.", rich_help_panel=TEACHER)] = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env", help="Environment variable that holds the API key "
                                             "(a server on this machine needs none).", rich_help_panel=TEACHER)
                           ] = "OPENAI_API_KEY",
    preset: common.Preset = None,
    problem_field: common.ProblemField = None,
    answer_field: common.AnswerField = None,
    id_field: common.IdField = None,
    split: common.Split = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Samples per problem (ids get #0, #1, ... when above 1).",
                                   rich_help_panel=SAMPLING)] = 1,
    temperature: Annotated[Optional[float], typer.Option("--temperature", min=0, rich_help_panel=SAMPLING,
                                                         help="Sampling temperature (default: the server's).")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", rich_help_panel=SAMPLING,
                                                   help="Nucleus sampling (default: the server's).")] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=1, rich_help_panel=SAMPLING,
                                                      help="Longest answer, in tokens.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", rich_help_panel=SAMPLING,
                                                help="Seed (sample i uses seed + i).")] = None,
    system_prompt: Annotated[Optional[str], typer.Option("--system-prompt", rich_help_panel=SAMPLING,
                                                         help="Replace the template's system message.")] = None,
    prompt_template: Annotated[str, typer.Option("--prompt-template", rich_help_panel=SAMPLING,
                                                 help="Template name in prompts/ or a template file with {problem}.")
                               ] = "teacher_numbered",
    extra_body: Annotated[Optional[str], typer.Option("--extra-body", rich_help_panel=SAMPLING,
                                                      help="JSON object added to each request body (vLLM/SGLang "
                                                      "options such as top_k).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, rich_help_panel=LIMITS,
                                             help="Requests in flight at most.")] = 16,
    rpm: Annotated[Optional[float], typer.Option("--rpm", min=0.001, rich_help_panel=LIMITS,
                                                 help="Requests per minute at most.")] = None,
    tpm: Annotated[Optional[float], typer.Option("--tpm", min=1, rich_help_panel=LIMITS,
                                                 help="Tokens per minute at most (prompt + max answer, "
                                                 "corrected by reported usage).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, rich_help_panel=LIMITS,
                                           help="Seconds to wait for one answer.")] = 300.0,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0, rich_help_panel=LIMITS,
                                             help="Retries of a request after 429, 5xx, timeouts, dropped "
                                             "connections.")] = 6,
    failures: Annotated[Optional[Path], typer.Option("--failures", rich_help_panel=OUTPUT,
                                                     help="Where every request that did not end ok goes, with its "
                                                     "reason (default: OUTPUT's name with .failures.jsonl).")] = None,
    cache: Annotated[Optional[Path], typer.Option("--cache", rich_help_panel=OUTPUT,
                                                  help="Answer cache (default: OUTPUT's name with .cache.jsonl).")
                     ] = None,
    verify: Annotated[Optional[bool], typer.Option("--verify/--no-verify", rich_help_panel=OUTPUT,
                                                   help="Check final answers against the reference answer "
                                                   "(default: on when the input has one).")] = None,
    keep_unverified: Annotated[bool, typer.Option("--keep-unverified", rich_help_panel=OUTPUT,
                                                  help="Also write solutions whose final answer is wrong "
                                                  "(verified: false).")] = False,
    segmenter: common.SegmenterOpt = None,
    min_steps: common.MinSteps = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", rich_help_panel=MONEY,
                                          help="Print the requests, estimated tokens and cost; send nothing.")] = False,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", rich_help_panel=MONEY,
                                                      help="Stop sending before spending would pass this many USD "
                                                      "(answers already in the cache count).")] = None,
    price_input: Annotated[Optional[float], typer.Option("--price-input", min=0, rich_help_panel=MONEY,
                                                         help="USD per million prompt tokens.")] = None,
    price_output: Annotated[Optional[float], typer.Option("--price-output", min=0, rich_help_panel=MONEY,
                                                          help="USD per million completion tokens.")] = None,
    num_shards: Annotated[int, typer.Option("--num-shards", min=1, rich_help_panel=SHARDS,
                                            help="Split the problems into this many shards by a hash of their "
                                            "id.")] = 1,
    shard_index: Annotated[int, typer.Option("--shard-index", min=0, rich_help_panel=SHARDS,
                                             help="Which shard this run handles (0-based).")] = 0,
) -> None:
    """Ask a teacher model for step-by-step solutions to problems.

    Every request goes through the openai client to any OpenAI-compatible API with
    bounded concurrency, rate limits and retries that honour Retry-After. Each answer
    is saved the moment it arrives, so a crash or a rerun never pays twice. Every
    request ends as ok, truncated, content_filter, empty, wrong_answer,
    unsegmentable or error: KIND; all but ok go to the failures file. The output
    (id, problem, answer, solution, thinking, verified, finish_reason, usage,
    teacher) is the input of split-steps.
    """
    from ..generate import GenerateConfig, generate
    from ..trajectories import ReadOptions, SegmentOptions

    def go() -> "GenerateSummary":
        config = GenerateConfig(
            input=input,
            output=str(output),
            teacher=teacher,
            base_url=base_url,
            api_key_env=api_key_env,
            read=ReadOptions(preset=preset, problem_field=problem_field, answer_field=answer_field,
                             id_field=id_field, split=split),
            n=n,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            system_prompt=system_prompt,
            prompt_template=prompt_template,
            extra_body=parse_extra_body(extra_body),
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            timeout=timeout,
            max_retries=max_retries,
            failures=str(failures) if failures else None,
            cache=str(cache) if cache else None,
            verify=verify,
            keep_unverified=keep_unverified,
            segment=SegmentOptions(segmenter=segmenter, min_steps=min_steps),
            dry_run=dry_run,
            max_cost=max_cost,
            price_input=price_input,
            price_output=price_output,
            num_shards=num_shards,
            shard_index=shard_index,
        )
        display = ProgressDisplay()
        try:
            return generate(config, on_progress=display.update, on_start=display.start)
        except KeyboardInterrupt:
            sys.stderr.write(f"Answers received so far are in {config.cache_path}: rerun the same command to "
                             "resume without paying for them again.\n")
            raise
        finally:
            display.stop()

    summary = common.run(go)
    if summary.dry_run is not None:
        print_dry_run(summary)
        return
    print_summary(summary)
    if not summary.complete:
        parts = []
        if summary.errors:
            parts.append(f"{summary.errors:,} request(s) ended in an error after retries")
        if summary.not_sent:
            why = "--max-cost would have been exceeded" if summary.budget_stopped else "the run stopped"
            parts.append(f"{summary.not_sent:,} request(s) were not sent ({why})")
        raise common.fail(
            "; ".join(parts) + f"; see {summary.failures}. Rerun the same command to resume: answers already "
            "received are not paid for again.",
            1,
        )


def parse_extra_body(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    from ..errors import ConfigError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--extra-body is not valid JSON ({exc.msg} at column {exc.colno})",
                          hint='give a JSON object, e.g. --extra-body \'{"top_k": 20}\'') from None
    if not isinstance(value, dict):
        raise ConfigError("--extra-body must be a JSON object", hint='e.g. --extra-body \'{"top_k": 20}\'')
    return value


def _rates(p: "GenerateProgress") -> tuple[float, float, str, str]:
    """Requests/s, tokens/s, cost text and ETA text of a progress snapshot."""
    elapsed = p.elapsed
    sent = p.answered + p.failed
    req_rate = sent / elapsed
    tok_rate = (p.prompt_tokens + p.completion_tokens) / elapsed
    cost = "n/a" if p.cost is None else f"${p.cost:,.4f}"
    remaining = p.total - p.done
    if remaining <= 0:
        eta = "0s"
    elif req_rate > 0:
        eta = _duration(remaining / req_rate)
    else:
        eta = "?"
    return req_rate, tok_rate, cost, eta


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressDisplay:
    """A rich progress bar on a terminal; plain periodic lines otherwise."""

    def __init__(self) -> None:
        self.console = common.stderr_console()
        self.terminal = self.console.is_terminal
        self.interval = _plain_interval()
        self._progress: Any = None
        self._task: Any = None
        self._last = 0.0

    def start(self, p: "GenerateProgress") -> None:
        if not self.terminal:
            self._last = time.monotonic()
            if p.cached:
                self._line(p)
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("generate"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("generate", total=p.total, completed=p.done, stats="")

    def update(self, p: "GenerateProgress") -> None:
        if self._progress is not None:
            req_rate, tok_rate, cost, eta = _rates(p)
            stats = (f"{req_rate:,.1f} req/s  {tok_rate:,.0f} tok/s  cost {cost}  ETA {eta}"
                     + (f"  errors {p.failed}" if p.failed else ""))
            self._progress.update(self._task, completed=p.done, stats=stats)
            return
        now = time.monotonic()
        if now - self._last >= self.interval or p.done == p.total:
            self._last = now
            self._line(p)

    def _line(self, p: "GenerateProgress") -> None:
        req_rate, tok_rate, cost, eta = _rates(p)
        sys.stderr.write(
            f"generate: {p.done:,}/{p.total:,} done ({p.cached:,} from cache, {p.failed:,} errors, "
            f"{p.retries:,} retries) {req_rate:,.1f} req/s {tok_rate:,.0f} tok/s cost {cost} ETA {eta}\n"
        )
        sys.stderr.flush()

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}"


def print_dry_run(summary: "GenerateSummary") -> None:
    report = summary.dry_run
    assert report is not None
    table = Table(title="generate --dry-run (nothing was sent)", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("teacher", summary.teacher)
    table.add_row("problems", f"{summary.problems:,}")
    table.add_row("requests", f"{summary.requests:,}")
    if summary.other_shards:
        table.add_row("problems in other shards", f"{summary.other_shards:,}")
    table.add_row("already in the cache", f"{summary.from_cache:,}")
    table.add_row("to send", f"{report.requests_to_send:,}")
    table.add_row("estimated input tokens", f"{report.prompt_tokens:,} (cl100k_base)")
    if report.max_output_tokens is not None:
        table.add_row("output tokens at most", f"{report.max_output_tokens:,} (--max-tokens)")
    if summary.price_source is None:
        table.add_row("estimated cost", "unknown: no price for this model; pass --price-input and --price-output")
    else:
        table.add_row("estimated input cost", _money(report.cost_input))
        basis = "--max-tokens" if report.max_output_tokens is not None else f"{report.completion_estimate:,} per answer"
        table.add_row("estimated total cost", f"{_money(report.cost_estimate)} (output at {basis})")
        table.add_row("prices", summary.price_source)
    table.add_row("cache", summary.cache)
    console = common.stdout_console()
    console.print(table)
    if report.example:
        console.print("first request to send:")
        console.print(json.dumps(report.example, indent=2, ensure_ascii=False), markup=False)


def print_summary(summary: "GenerateSummary") -> None:
    table = Table(title="generate summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("teacher", summary.teacher)
    table.add_row("requests", f"{summary.requests:,} ({summary.problems:,} problems)")
    if summary.other_shards:
        table.add_row("problems in other shards", f"{summary.other_shards:,}")
    table.add_row("  from the cache", f"{summary.from_cache:,}")
    table.add_row("  answered now", f"{summary.answered:,} ({summary.retries:,} retries)")
    table.add_row("outcome", "requests")
    for outcome, count in sorted(summary.outcomes.items(), key=lambda kv: (kv[0] != "ok", kv[0])):
        table.add_row(f"  {outcome}", f"{count:,}")
    table.add_row("rows written", f"{summary.rows_written:,}")
    table.add_row("tokens this run", f"{summary.prompt_tokens_run:,} in / {summary.completion_tokens_run:,} out")
    table.add_row("tokens, all answers", f"{summary.prompt_tokens_all:,} in / {summary.completion_tokens_all:,} out")
    if summary.price_source is None:
        table.add_row("cost", "unknown: no price for this model (--price-input/--price-output)")
    else:
        table.add_row("cost this run", _money(summary.cost_run))
        table.add_row("cost, all answers", _money(summary.cost_all)
                      + (f" (budget ${summary.max_cost:,.2f})" if summary.max_cost is not None else ""))
        table.add_row("prices", summary.price_source)
    table.add_row("output", summary.output)
    if sum(summary.outcomes.values()) > summary.outcomes.get("ok", 0):
        table.add_row("failures", summary.failures)
    table.add_row("cache", summary.cache)
    if summary.torn_cache_bytes:
        table.add_row("cache repair", f"dropped an interrupted last line ({summary.torn_cache_bytes:,} bytes)")
    table.add_row("time", _duration(summary.elapsed))
    common.stdout_console().print(table)
