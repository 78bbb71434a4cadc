"""The generate job: problems in, teacher solutions out.

Three streaming passes over the input, so memory does not grow with it:

1. **plan**: read the problems, build each request (one per problem and
   sample), look each up in the answer cache; count what is left to send.
2. **fetch**: send what the cache lacks through bounded workers, paced by
   :class:`~srl_data.teacher.ratelimit.RateLimiter`, retried by
   :mod:`~srl_data.teacher.retry`, each answer appended to the cache the
   moment it arrives. Nothing else is written in this pass.
3. **write**: read the input again and, for every request, take its answer
   from the cache, judge it (:mod:`~srl_data.teacher.outcomes`) and write the
   output and failures files, both atomically and in input order.

So a rerun of the same command pays only for requests without an answer; a
``kill -9`` loses at most the requests in flight; the output holds each
(problem, sample) at most once however often the run was interrupted. The
output and failures are rebuilt from the cache on every run, so changing
``--keep-unverified``, ``--segmenter`` or the output format costs nothing.

Memory holds the cache's index (a key and a file offset per answer), a 12-byte
digest per problem id (to refuse duplicate ids) and the requests in flight,
never the answers themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, TeacherError
from .manifest import build_manifest, write_manifests
from .models import Reject
from .problems import Problem, iter_problems
from .prompts import PromptTemplate, load_template
from .split_steps import check_distinct_paths
from .teacher.cache import AnswerCache
from .teacher.client import DEFAULT_BASE_URL, CallError, Reply, TeacherClient, TeacherRequest, is_local_url
from .teacher.outcomes import DUPLICATE_ID, ERROR_PREFIX, NOT_SENT, OK, Judge, is_error
from .teacher.pricing import Price, resolve_price
from .teacher.ratelimit import RateLimiter
from .teacher.retry import RetryPolicy, with_retries
from .teacher.verify import Verifier
from .tokens import TokenCounter
from .trajectories import ReadOptions, Segmentation, SegmentOptions
from .writers import writer_for

DEFAULT_TEMPLATE = "teacher_numbered"
# Keys of --extra-body that would change what a request means to us.
_RESERVED_BODY_KEYS = {"model", "messages", "stream", "n"}
# Completion length assumed for cost and token estimates when --max-tokens is not given
# and no answer has been seen yet.
_DEFAULT_COMPLETION_ESTIMATE = 1024
USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class GenerateConfig:
    """Everything one ``generate`` run needs. Values are checked on construction."""

    input: str
    output: str
    teacher: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    read: ReadOptions = field(default_factory=ReadOptions)
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    system_prompt: str | None = None
    prompt_template: str = DEFAULT_TEMPLATE
    extra_body: dict[str, Any] | None = None
    concurrency: int = 16
    rpm: float | None = None
    tpm: float | None = None
    timeout: float = 300.0
    max_retries: int = 6
    retry_base_delay: float = 1.0
    failures: str | None = None
    cache: str | None = None
    verify: bool | None = None  # None: when the problem has a reference answer
    keep_unverified: bool = False
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    dry_run: bool = False
    max_cost: float | None = None
    price_input: float | None = None
    price_output: float | None = None
    num_shards: int = 1
    shard_index: int = 0
    fsync: bool = True

    def __post_init__(self) -> None:
        if not self.teacher.strip():
            raise ConfigError("--teacher is empty", hint="name the model, e.g. --teacher gpt-4o-mini")
        checks = [
            (self.n >= 1, "--n must be at least 1"),
            (self.concurrency >= 1, "--concurrency must be at least 1"),
            (self.timeout > 0, "--timeout must be positive"),
            (self.max_retries >= 0, "--max-retries cannot be negative"),
            (self.temperature is None or self.temperature >= 0, "--temperature cannot be negative"),
            (self.top_p is None or 0 < self.top_p <= 1, "--top-p must be in (0, 1]"),
            (self.max_tokens is None or self.max_tokens >= 1, "--max-tokens must be at least 1"),
            (self.rpm is None or self.rpm > 0, "--rpm must be positive"),
            (self.tpm is None or self.tpm > 0, "--tpm must be positive"),
            (self.max_cost is None or self.max_cost > 0, "--max-cost must be positive"),
            (self.num_shards >= 1, "--num-shards must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if not 0 <= self.shard_index < self.num_shards:
            raise ConfigError(
                f"--shard-index {self.shard_index} is out of range",
                hint=f"with --num-shards {self.num_shards} it goes from 0 to {self.num_shards - 1}",
            )
        if self.extra_body is not None:
            if not isinstance(self.extra_body, dict):
                raise ConfigError("--extra-body must be a JSON object", hint='e.g. --extra-body \'{"top_k": 20}\'')
            clash = sorted(_RESERVED_BODY_KEYS & set(self.extra_body))
            if clash:
                raise ConfigError(
                    f"--extra-body may not set {', '.join(clash)}",
                    hint="use --teacher for the model and --n for several samples",
                )
        writer_for(self.output)  # refuses an unknown output type before any work
        check_distinct_paths(
            {"input": self.input, "-o": self.output, "--failures": self.failures_path, "--cache": self.cache_path}
        )

    @property
    def failures_path(self) -> str:
        return self.failures or sidecar_path(self.output, "failures")

    @property
    def cache_path(self) -> str:
        return self.cache or sidecar_path(self.output, "cache")

    @property
    def resolved_base_url(self) -> str:
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL


def sidecar_path(output: str, what: str) -> str:
    """``out.jsonl`` -> ``out.WHAT.jsonl`` (the same for ``out.parquet``, so
    changing the output format keeps the cache)."""
    path = Path(output)
    name = path.name
    for ending in (".jsonl.gz", ".jsonl", ".parquet", ".ndjson", ".json"):
        if name.lower().endswith(ending):
            name = name[: -len(ending)]
            break
    return str(path.with_name(f"{name}.{what}.jsonl"))


def shard_of(problem_id: str, num_shards: int) -> int:
    """The shard a problem belongs to: a stable hash of its id."""
    digest = hashlib.sha256(problem_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % num_shards


# ---------------------------------------------------------------------------
# Planning: problems -> requests


@dataclass(frozen=True, slots=True)
class Planned:
    """One (problem, sample) of the run; ``request`` is None for a duplicate id."""

    problem: Problem
    sample: int
    row_id: str
    request: TeacherRequest | None

    @property
    def key(self) -> str | None:
        return self.request.key if self.request is not None else None


class Planner:
    """Turns the input into requests, the same way on every pass."""

    def __init__(self, config: GenerateConfig, template: PromptTemplate) -> None:
        self.config = config
        self.template = template
        if "problem" not in template.fields("user"):
            raise ConfigError(
                "the prompt template's user text has no {problem} placeholder",
                path=template.path,
                hint="add {problem} where the problem goes",
            )
        system = config.system_prompt if config.system_prompt is not None else (template.text("system") or "")
        self.system = system.strip()
        self.extra_body = json.dumps(config.extra_body, sort_keys=True) if config.extra_body else None
        self.other_shards = 0

    def params(self, sample: int) -> tuple[tuple[str, Any], ...]:
        c = self.config
        seed = c.seed + sample if c.seed is not None else None
        values = (("temperature", c.temperature), ("top_p", c.top_p), ("max_tokens", c.max_tokens), ("seed", seed))
        return tuple((k, v) for k, v in values if v is not None)

    def request(self, problem: Problem, sample: int) -> TeacherRequest:
        messages = []
        if self.system:
            messages.append(("system", self.system))
        messages.append(("user", self.template.render("user", {"problem": problem.problem})))
        return TeacherRequest(
            model=self.config.teacher,
            messages=tuple(messages),
            params=self.params(sample),
            extra_body=self.extra_body,
            template_hash=self.template.hash,
            sample=sample,
        )

    def __iter__(self) -> Iterator[Planned]:
        c = self.config
        seen: set[bytes] = set()
        self.other_shards = 0
        for problem in iter_problems(c.input, c.read):
            if c.num_shards > 1 and shard_of(problem.id, c.num_shards) != c.shard_index:
                self.other_shards += 1
                continue
            digest = hashlib.blake2b(problem.id.encode("utf-8"), digest_size=12).digest()
            duplicate = digest in seen
            seen.add(digest)
            for sample in range(c.n):
                row_id = problem.id if c.n == 1 else f"{problem.id}#{sample}"
                yield Planned(problem, sample, row_id, None if duplicate else self.request(problem, sample))

    def teacher_info(self, request: TeacherRequest) -> dict[str, Any]:
        # Fixed keys (None when unset) so every row has the same shape (Parquet needs it).
        params: dict[str, Any] = {name: None for name in ("temperature", "top_p", "max_tokens", "seed")}
        params.update(request.param_dict)
        params["extra_body"] = request.extra_body
        return {
            "model": request.model,
            "template_id": self.template.id,
            "template_hash": self.template.hash,
            "system_prompt": "custom" if self.config.system_prompt is not None else "template",
            "params": params,
            "sample": request.sample,
            "request_key": request.key,
        }


def estimate_prompt_tokens(counter: TokenCounter, request: TeacherRequest) -> int:
    """cl100k_base tokens of the messages plus the usual per-message overhead."""
    return sum(counter.count(content) + 4 for _, content in request.messages) + 3


# ---------------------------------------------------------------------------
# Progress, budget and summary


@dataclass
class GenerateProgress:
    """Live counts of one run (read by the progress display)."""

    total: int = 0
    done: int = 0
    cached: int = 0
    answered: int = 0
    failed: int = 0
    retries: int = 0
    in_flight: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return max(1e-9, time.monotonic() - self.started)


class Budget:
    """Refuses a request whose estimated cost would take spending past ``limit``."""

    def __init__(self, limit: float | None, price: Price | None, max_tokens: int | None, already: float = 0.0) -> None:
        self.limit = limit
        self.price = price
        self.max_tokens = max_tokens
        self.spent = already
        self.reserved = 0.0
        self.completions = 0
        self.completion_tokens = 0
        self.stopped = False

    def expected_completion(self) -> int:
        if self.max_tokens is not None:
            return self.max_tokens
        if self.completions:
            return max(1, round(self.completion_tokens / self.completions))
        return _DEFAULT_COMPLETION_ESTIMATE

    def reserve(self, prompt_tokens: int) -> float | None:
        """Set aside the estimated cost; None when it does not fit (then the run stops sending)."""
        if self.price is None or self.limit is None:
            return 0.0
        cost = self.price.cost(prompt_tokens, self.expected_completion())
        if self.spent + self.reserved + cost > self.limit:
            self.stopped = True
            return None
        self.reserved += cost
        return cost

    def settle(self, reserved: float, reply: Reply | None) -> float:
        """Replace a reservation by the reported cost (0 when there was no answer)."""
        self.reserved -= reserved
        if reply is None:
            return 0.0
        self.completions += 1
        self.completion_tokens += reply.completion_tokens
        cost = self.price.cost(reply.prompt_tokens, reply.completion_tokens) if self.price else 0.0
        self.spent += cost
        return cost


@dataclass
class DryRunReport:
    requests_to_send: int
    prompt_tokens: int
    max_output_tokens: int | None
    cost_input: float | None
    cost_estimate: float | None
    completion_estimate: int
    example: dict[str, Any]


@dataclass
class GenerateSummary:
    input: str
    output: str
    failures: str
    cache: str
    teacher: str
    problems: int = 0
    requests: int = 0
    other_shards: int = 0
    from_cache: int = 0
    answered: int = 0
    retries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rows_written: int = 0
    prompt_tokens_run: int = 0
    completion_tokens_run: int = 0
    prompt_tokens_all: int = 0
    completion_tokens_all: int = 0
    cost_run: float | None = None
    cost_all: float | None = None
    price_source: str | None = None
    budget_stopped: bool = False
    max_cost: float | None = None
    torn_cache_bytes: int = 0
    elapsed: float = 0.0
    dry_run: DryRunReport | None = None

    @property
    def errors(self) -> int:
        return sum(v for k, v in self.outcomes.items() if is_error(k))

    @property
    def not_sent(self) -> int:
        return self.outcomes.get(NOT_SENT, 0)

    @property
    def complete(self) -> bool:
        """Every request reached an outcome (no error after retries, nothing left unsent)."""
        return self.errors == 0 and self.not_sent == 0


# ---------------------------------------------------------------------------
# The fetch pass


class _Fetch:
    """Sends every planned request the cache lacks; state shared by the workers."""

    def __init__(
        self,
        config: GenerateConfig,
        cache: AnswerCache,
        client: TeacherClient,
        budget: Budget,
        progress: GenerateProgress,
        on_progress: Callable[[GenerateProgress], None] | None,
    ) -> None:
        self.config = config
        self.cache = cache
        self.client = client
        self.budget = budget
        self.progress = progress
        self.on_progress = on_progress
        self.limiter = RateLimiter(config.rpm, config.tpm)
        self.policy = RetryPolicy(max_retries=config.max_retries, base_delay=config.retry_base_delay)
        # Prompt tokens are estimated only for what needs them (--tpm, --max-cost).
        needs_estimate = config.tpm is not None or (budget.limit is not None and budget.price is not None)
        self.counter = TokenCounter() if needs_estimate else None
        self.errors: dict[str, CallError] = {}
        self.in_flight: set[str] = set()
        self.fatal: CallError | None = None
        # Anything else a worker raised (a full disk under the cache, a bug): the run stops sending
        # and raises it once the workers are done, instead of the producer waiting on a dead queue.
        self.crash: Exception | None = None

    def _tick(self) -> None:
        self.progress.done += 1
        if self.on_progress is not None:
            self.on_progress(self.progress)

    async def run(self, planned: Iterator[Planned]) -> None:
        queue: asyncio.Queue[Planned | None] = asyncio.Queue(maxsize=self.config.concurrency * 2)
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(self.config.concurrency)]
        try:
            for item in planned:
                key = item.key
                if key is None or key in self.cache or key in self.errors or key in self.in_flight:
                    self._tick()  # cached, a duplicate id, or the same request already on its way
                    continue
                if self.fatal is not None or self.crash is not None or self.budget.stopped:
                    break
                self.in_flight.add(key)
                await queue.put(item)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
        if self.crash is not None:
            raise self.crash
        if self.fatal is not None:
            raise TeacherError(self.fatal.message, hint="answers received so far are in the cache; "
                               "fix the problem and rerun the same command to resume")

    async def _worker(self, queue: asyncio.Queue[Planned | None]) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            try:
                if self.fatal is None and self.crash is None and not self.budget.stopped:
                    await self._send(item)
            except Exception as exc:
                self.crash = self.crash or exc
            finally:
                assert item.key is not None
                self.in_flight.discard(item.key)

    async def _send(self, item: Planned) -> None:
        request = item.request
        assert request is not None
        estimate = estimate_prompt_tokens(self.counter, request) if self.counter is not None else 0
        reserved = self.budget.reserve(estimate)
        if reserved is None:
            return  # over budget: left unsent, the run stops sending
        rate_tokens = estimate + self.budget.expected_completion()

        async def attempt() -> Reply:
            await self.limiter.acquire(rate_tokens)
            self.progress.in_flight += 1
            try:
                return await self.client.complete(request)
            finally:
                self.progress.in_flight -= 1

        def on_retry(err: CallError, wait: float) -> None:
            self.progress.retries += 1
            if err.kind == "rate_limited":
                self.limiter.pause(wait)

        reply = None
        try:
            reply = await with_retries(attempt, self.policy, on_retry=on_retry)
        except CallError as err:
            if err.fatal:
                self.fatal = self.fatal or err
            else:
                # Kept until the write pass: a bare copy, not the traceback and HTTP exchange behind it.
                self.errors[request.key] = CallError(err.kind, err.message, status=err.status, retryable=err.retryable)
                self.progress.failed += 1
                self._tick()
            return
        finally:
            cost = self.budget.settle(reserved, reply)
        self.cache.put(
            request.key,
            reply.to_dict(),
            id=item.row_id,
            model=request.model,
            template_hash=request.template_hash,
        )
        self.limiter.correct(rate_tokens, reply.total_tokens)
        p = self.progress
        p.answered += 1
        p.prompt_tokens += reply.prompt_tokens
        p.completion_tokens += reply.completion_tokens
        if p.cost is not None:
            p.cost += cost
        self._tick()


# ---------------------------------------------------------------------------
# The job


def _api_key(config: GenerateConfig) -> str | None:
    key = os.environ.get(config.api_key_env) or None
    if key is None and not is_local_url(config.resolved_base_url):
        raise ConfigError(
            f"no API key: the environment variable {config.api_key_env} is not set",
            hint=f"export {config.api_key_env}=... or name the variable that holds the key with --api-key-env "
            "(a server on this machine or a private network needs none)",
        )
    return key


def _cached_reply(cache: AnswerCache, key: str | None) -> Reply | None:
    if key is None:
        return None
    record = cache.get(key)
    return Reply.from_dict(record["reply"]) if record is not None else None


def generate(
    config: GenerateConfig,
    on_progress: Callable[[GenerateProgress], None] | None = None,
    on_start: Callable[[GenerateProgress], None] | None = None,
) -> GenerateSummary:
    """Run generate (or its dry run); return what it sent, spent and wrote."""
    started = time.monotonic()
    template = load_template(config.prompt_template)
    price = resolve_price(config.teacher, config.price_input, config.price_output)
    if config.max_cost is not None and price is None:
        raise ConfigError(
            f"--max-cost needs prices, and '{config.teacher}' is not in the built-in table",
            hint="pass --price-input and --price-output (USD per million tokens)",
        )
    planner = Planner(config, template)
    segmentation = Segmentation(config.segment)
    summary = GenerateSummary(
        input=config.input,
        output=config.output,
        failures=config.failures_path,
        cache=config.cache_path,
        teacher=config.teacher,
        price_source=price.source if price else None,
        max_cost=config.max_cost,
    )
    api_key = None if config.dry_run else _api_key(config)

    with AnswerCache(config.cache_path, read_only=config.dry_run, fsync=config.fsync) as cache:
        summary.torn_cache_bytes = cache.torn_bytes
        # -- 1. plan ---------------------------------------------------------
        progress = GenerateProgress(cost=0.0 if price else None)
        counter = TokenCounter() if config.dry_run else None
        prior_cost = 0.0
        to_send_keys: set[str] = set()
        est_prompt = 0
        example = None
        last_problem = None
        for item in planner:
            progress.total += 1
            if item.problem is not last_problem:
                summary.problems += 1
                last_problem = item.problem
            key = item.key
            if key is None:
                continue
            reply = _cached_reply(cache, key) if price is not None else None
            if key in cache:
                progress.cached += 1
                if reply is not None and price is not None:
                    prior_cost += price.cost(reply.prompt_tokens, reply.completion_tokens)
            elif config.dry_run and key not in to_send_keys:
                to_send_keys.add(key)
                assert counter is not None and item.request is not None
                est_prompt += estimate_prompt_tokens(counter, item.request)
                if example is None:
                    example = item.request.canonical()
        summary.requests = progress.total
        summary.other_shards = planner.other_shards
        summary.from_cache = progress.cached

        if config.dry_run:
            completion = config.max_tokens or _DEFAULT_COMPLETION_ESTIMATE
            summary.dry_run = DryRunReport(
                requests_to_send=len(to_send_keys),
                prompt_tokens=est_prompt,
                max_output_tokens=config.max_tokens * len(to_send_keys) if config.max_tokens else None,
                cost_input=price.cost(est_prompt, 0) if price else None,
                cost_estimate=price.cost(est_prompt, completion * len(to_send_keys)) if price else None,
                completion_estimate=completion,
                example=example or {},
            )
            summary.elapsed = time.monotonic() - started
            return summary

        # -- 2. fetch --------------------------------------------------------
        budget = Budget(config.max_cost, price, config.max_tokens, already=prior_cost)
        if on_start is not None:
            on_start(progress)
        errors: dict[str, CallError] = {}
        if progress.cached + 0 < progress.total:
            client = TeacherClient(
                base_url=config.resolved_base_url,
                api_key=api_key,
                api_key_env=config.api_key_env,
                timeout=config.timeout,
            )
            fetch = _Fetch(config, cache, client, budget, progress, on_progress)

            async def main() -> None:
                try:
                    await fetch.run(iter(planner))
                finally:
                    await client.aclose()

            asyncio.run(main())
            errors = fetch.errors
        summary.answered = progress.answered
        summary.retries = progress.retries
        summary.prompt_tokens_run = progress.prompt_tokens
        summary.completion_tokens_run = progress.completion_tokens
        summary.cost_run = progress.cost
        summary.budget_stopped = budget.stopped

        # -- 3. write --------------------------------------------------------
        judge = Judge(Verifier() if config.verify is not False else None, segmentation, config.keep_unverified)
        cost_all = 0.0 if price else None
        with ExitStack() as stack:
            out = stack.enter_context(writer_for(config.output))
            failures = stack.enter_context(writer_for(config.failures_path))
            for item in planner:
                request, key = item.request, item.key
                detail = None
                finish_reason = None
                if request is None:
                    outcome = DUPLICATE_ID
                    detail = f"the input holds id '{item.problem.id}' more than once; this row was skipped"
                elif (reply := _cached_reply(cache, key)) is not None:
                    summary.prompt_tokens_all += reply.prompt_tokens
                    summary.completion_tokens_all += reply.completion_tokens
                    if price is not None and cost_all is not None:
                        cost_all += price.cost(reply.prompt_tokens, reply.completion_tokens)
                    finish_reason = reply.finish_reason
                    verdict = judge.judge(
                        reply, problem=item.problem.problem, answer=item.problem.answer, row_id=item.row_id
                    )
                    outcome, detail = verdict.outcome, verdict.detail
                    if verdict.keep:
                        out.write({
                            "id": item.row_id,
                            "problem": item.problem.problem,
                            "answer": item.problem.answer,
                            "solution": verdict.solution,
                            "thinking": verdict.thinking,
                            "verified": verdict.verified,
                            "finish_reason": reply.finish_reason,
                            "usage": {name: reply.usage.get(name) for name in USAGE_FIELDS},
                            "teacher": planner.teacher_info(request),
                        })
                elif key in errors:
                    err = errors[key]
                    outcome = ERROR_PREFIX + err.kind
                    detail = f"{err.message} (after {config.max_retries} retries)" if err.retryable else err.message
                else:
                    outcome = NOT_SENT
                    detail = ("not sent: --max-cost would have been exceeded" if budget.stopped
                              else "not sent: the run stopped before this request")
                summary.outcomes[outcome] += 1
                if outcome != OK:
                    failure = Reject(
                        id=item.row_id, reason=outcome, detail=detail, location=item.problem.location, stage="generate"
                    ).model_dump()
                    failure["request_key"] = key
                    failure["finish_reason"] = finish_reason
                    failures.write(failure)
            summary.rows_written = out.count
        summary.cost_all = cost_all
    summary.elapsed = time.monotonic() - started
    write_manifests([config.output, config.failures_path], _manifest(config, template, summary))
    return summary


def _manifest(config: GenerateConfig, template: PromptTemplate, summary: GenerateSummary) -> dict[str, Any]:
    """The run manifest beside the output and failures (see :mod:`srl_data.manifest`)."""
    teacher: dict[str, Any] = {"model": config.teacher, "base_url": config.resolved_base_url, "n": config.n}
    for name in ("temperature", "top_p", "max_tokens", "seed", "extra_body"):
        value = getattr(config, name)
        if value is not None:
            teacher[name] = value
    counts = {
        "rows_read": summary.problems,
        "requests": summary.requests,
        "from_cache": summary.from_cache,
        "records_written": summary.rows_written,
        "outcomes": dict(summary.outcomes),
        "failures": {k: v for k, v in summary.outcomes.items() if k != OK},
        "prompt_tokens_all": summary.prompt_tokens_all,
        "completion_tokens_all": summary.completion_tokens_all,
        "cost_all": summary.cost_all,
    }
    return build_manifest(
        "generate",
        config=config,
        inputs=[config.input],
        outputs={"solutions": config.output, "failures": config.failures_path},
        templates=[{"id": template.id, "hash": template.hash}],
        teacher=teacher,
        counts=counts,
    )
