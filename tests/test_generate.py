"""The generate job (library level) against a real local chat-completions server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from srl_data.errors import ConfigError, InputError, OutputError
from srl_data.generate import GenerateConfig, generate, shard_of, sidecar_path
from srl_data.split_steps import SplitStepsConfig, split_steps
from srl_data.trajectories import ReadOptions
from tests.chat_server import ChatServer
from tests.chat_server import Reply as Served


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def write_problems(path: Path, count: int, *, wrong: set[int] = frozenset()) -> Path:
    with path.open("w") as handle:
        for i in range(1, count + 1):
            answer = i * 7 + (1 if i in wrong else 0)
            handle.write(json.dumps({"id": f"p{i}", "problem": f"Problem {i}: give back {i * 7}.",
                                     "answer": str(answer)}) + "\n")
    return path


def read_jsonl(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def config(tmp_path: Path, server: ChatServer, **kwargs: object) -> GenerateConfig:
    values: dict = dict(input=str(tmp_path / "in.jsonl"), output=str(tmp_path / "out.jsonl"), teacher="m",
                        base_url=server.url, concurrency=4, retry_base_delay=0.01, fsync=False)
    values.update(kwargs)
    return GenerateConfig(**values)


def test_rows_have_the_documented_fields_and_split_steps_reads_them(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 3)
    summary = generate(config(tmp_path, server, temperature=0.2, max_tokens=100, seed=5))
    assert summary.complete and summary.outcomes == {"ok": 3} and summary.rows_written == 3
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["p1", "p2", "p3"]  # input order
    assert set(rows[0]) == {"id", "problem", "answer", "solution", "thinking", "verified", "finish_reason",
                            "usage", "teacher"}
    first = rows[0]
    assert first["verified"] is True and first["finish_reason"] == "stop"
    assert first["usage"]["prompt_tokens"] == 20
    teacher = first["teacher"]
    assert teacher["model"] == "m" and teacher["template_id"] == "teacher-numbered-v1"
    assert teacher["params"] == {"temperature": 0.2, "top_p": None, "max_tokens": 100, "seed": 5, "extra_body": None}
    steps = split_steps(SplitStepsConfig(input=str(tmp_path / "out.jsonl"), output=str(tmp_path / "steps.jsonl")))
    assert steps.trajectories == 3 and steps.rules == {"numbered": 3}
    assert steps.records_written == 9


def test_rerun_pays_nothing_and_output_is_identical(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 6)
    generate(config(tmp_path, server))
    first = (tmp_path / "out.jsonl").read_text()
    sent = server.total
    again = generate(config(tmp_path, server))
    assert server.total == sent == 6
    assert again.from_cache == 6 and again.answered == 0
    assert (tmp_path / "out.jsonl").read_text() == first
    assert again.prompt_tokens_all == 120 and again.prompt_tokens_run == 0


def test_output_format_and_segmenter_changes_reuse_answers(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 4)
    generate(config(tmp_path, server))
    generate(config(tmp_path, server, output=str(tmp_path / "out.parquet"), segment=__import__(
        "srl_data.trajectories", fromlist=["SegmentOptions"]).SegmentOptions(segmenter="lines")))
    assert server.total == 4
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "out.parquet").num_rows == 4


def test_template_or_sampling_change_makes_new_requests(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 2)
    generate(config(tmp_path, server))
    generate(config(tmp_path, server, temperature=0.9))
    assert server.total == 4
    template = tmp_path / "mine.toml"
    template.write_text('id = "mine-v1"\nuser = "Solve: {problem}"\n')
    generate(config(tmp_path, server, temperature=0.9, prompt_template=str(template)))
    assert server.total == 6
    assert read_jsonl(tmp_path / "out.jsonl")[0]["teacher"]["template_id"] == "mine-v1"
    generate(config(tmp_path, server, temperature=0.9, system_prompt="Be brief."))
    assert server.total == 8
    body = [b for b in server.bodies.values() if b["messages"][0]["content"] == "Be brief."]
    assert len(body) == 2 and body[0]["messages"][0]["role"] == "system"


def test_samples_get_their_own_ids_seeds_and_requests(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 2)
    summary = generate(config(tmp_path, server, n=3, seed=10))
    assert summary.requests == 6 and server.total == 6
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["p1#0", "p1#1", "p1#2", "p2#0", "p2#1", "p2#2"]
    assert [r["teacher"]["params"]["seed"] for r in rows[:3]] == [10, 11, 12]
    generate(config(tmp_path, server, n=4, seed=10))  # one more sample each: only those are sent
    assert server.total == 8


def test_shards_partition_the_problems_and_concatenate(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 20)
    ids: list[str] = []
    for index in range(3):
        out = tmp_path / f"shard{index}.jsonl"
        summary = generate(config(tmp_path, server, output=str(out), num_shards=3, shard_index=index))
        assert summary.problems + summary.other_shards == 20
        shard_ids = [r["id"] for r in read_jsonl(out)]
        assert all(shard_of(i, 3) == index for i in shard_ids)
        ids += shard_ids
    assert sorted(ids) == sorted(f"p{i}" for i in range(1, 21))
    assert server.total == 20


def test_wrong_answers_go_to_failures_unless_kept(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 4, wrong={2})
    summary = generate(config(tmp_path, server))
    assert summary.outcomes == {"ok": 3, "wrong_answer": 1} and summary.complete
    failures = read_jsonl(tmp_path / "out.failures.jsonl")
    assert failures[0]["id"] == "p2" and failures[0]["reason"] == "wrong_answer"
    assert failures[0]["detail"] == "answer '14', expected '15'"
    assert failures[0]["location"].endswith("in.jsonl:2") and failures[0]["stage"] == "generate"
    kept = generate(config(tmp_path, server, keep_unverified=True))
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert kept.rows_written == 4 and [r["verified"] for r in rows] == [True, False, True, True]
    unchecked = generate(config(tmp_path, server, verify=False))
    assert unchecked.outcomes == {"ok": 4}
    assert server.total == 4


def test_gsm8k_preset_reads_the_answer_from_the_worked_solution(tmp_path: Path, server: ChatServer) -> None:
    source = Path(__file__).resolve().parent.parent / "examples" / "gsm8k_style.jsonl"
    rows_in = [json.loads(line) for line in source.read_text().splitlines()]
    # One more problem whose last integer is its answer: the fake teacher (which boxes
    # the last integer of the problem) gets it right and all the examples wrong.
    rows_in.append({"question": "Add 3 and 4; the sum is 7", "answer": "3+4 = <<3+4=7>>7.\n#### 7"})
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows_in))
    summary = generate(config(tmp_path, server, input=str(path), read=ReadOptions(preset="gsm8k")))
    assert summary.outcomes == {"wrong_answer": 4, "ok": 1}
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [(row["answer"], row["verified"]) for row in rows] == [("7", True)]
    details = sorted(f["detail"] for f in read_jsonl(tmp_path / "out.failures.jsonl"))
    assert details == ["answer '1', expected '190'", "answer '13', expected '27'", "answer '24', expected '36'",
                       "answer '96', expected '8'"]


def test_duplicate_ids_are_skipped_and_reported(tmp_path: Path, server: ChatServer) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "problem": "x 1"}\n{"id": "a", "problem": "y 2"}\n')
    summary = generate(config(tmp_path, server))
    assert summary.outcomes == {"ok": 1, "duplicate_id": 1} and server.total == 1
    assert read_jsonl(tmp_path / "out.failures.jsonl")[0]["reason"] == "duplicate_id"


def test_dry_run_sends_and_writes_nothing(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 5)
    summary = generate(config(tmp_path, server, dry_run=True, teacher="gpt-4o-mini", max_tokens=200))
    report = summary.dry_run
    assert report is not None and report.requests_to_send == 5
    assert report.prompt_tokens > 5 * 50
    assert report.max_output_tokens == 1000
    assert report.cost_estimate == pytest.approx((report.prompt_tokens * 0.15 + 1000 * 0.6) / 1e6)
    assert report.example["messages"][1]["content"].startswith("Solve the following problem.")
    assert server.total == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_max_cost_stops_cleanly_and_resumes(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 10)
    # Each answer: 20 prompt tokens at $1M/M = $20 ... plus 27 completion tokens at $1M/M = $27 -> $47.
    prices = dict(price_input=1_000_000.0, price_output=1_000_000.0, max_tokens=30, concurrency=1)
    summary = generate(config(tmp_path, server, max_cost=200.0, **prices))
    assert summary.budget_stopped and not summary.complete
    assert summary.cost_all is not None and summary.cost_all <= 200.0
    sent = server.total
    assert 1 <= sent < 10 and summary.outcomes["not_sent"] == 10 - sent
    assert summary.rows_written == sent
    again = generate(config(tmp_path, server, max_cost=200.0, **prices))  # same budget: nothing more is spent
    assert server.total == sent and again.budget_stopped
    done = generate(config(tmp_path, server, max_cost=10_000.0, **prices))
    assert done.complete and server.total == 10 and done.rows_written == 10


def test_max_cost_needs_a_price(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 1)
    with pytest.raises(ConfigError, match="--max-cost needs prices"):
        generate(config(tmp_path, server, max_cost=1.0))


def test_built_in_price_is_used(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 2)
    summary = generate(config(tmp_path, server, teacher="gpt-4o-mini"))
    assert summary.cost_run == pytest.approx((40 * 0.15 + summary.completion_tokens_run * 0.6) / 1e6)
    assert "gpt-4o-mini" in (summary.price_source or "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "--n must be at least 1"),
        ({"num_shards": 2, "shard_index": 2}, "--shard-index 2 is out of range"),
        ({"extra_body": {"model": "x"}}, "--extra-body may not set model"),
        ({"top_p": 1.5}, "--top-p must be in (0, 1]"),
        ({"teacher": " "}, "--teacher is empty"),
    ],
)
def test_bad_options(tmp_path: Path, server: ChatServer, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config(tmp_path, server, **kwargs)
    assert message in str(info.value)


def test_bad_output_and_clashing_paths(tmp_path: Path, server: ChatServer) -> None:
    with pytest.raises(OutputError, match="unknown output type"):
        config(tmp_path, server, output=str(tmp_path / "out.txt"))
    with pytest.raises(ConfigError, match="-o and --cache name the same file"):
        config(tmp_path, server, cache=str(tmp_path / "out.jsonl"))


def test_missing_problem_field_fails_before_any_request(tmp_path: Path, server: ChatServer) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": "a", "question": "q"}\n')
    with pytest.raises(InputError) as info:
        generate(config(tmp_path, server))
    assert "in.jsonl:1: field 'problem': missing" in str(info.value)
    assert server.total == 0


def test_sidecar_paths() -> None:
    assert sidecar_path("d/gen.jsonl", "cache") == "d/gen.cache.jsonl"
    assert sidecar_path("d/gen.parquet", "cache") == "d/gen.cache.jsonl"
    assert sidecar_path("gen.jsonl.gz", "failures") == "gen.failures.jsonl"


def test_a_429_pauses_every_worker_for_its_retry_after(tmp_path: Path, server: ChatServer) -> None:
    import threading
    import time

    write_problems(tmp_path / "in.jsonl", 12)
    arrivals: list[float] = []
    refused: list[float] = []
    lock = threading.Lock()

    def script(body: dict, attempt: int) -> Served | None:
        with lock:
            now = time.monotonic()
            arrivals.append(now)
            if not refused:
                refused.append(now)
                return Served.error(429, "slow down", retry_after="1")
        return None

    server.script = script
    summary = generate(config(tmp_path, server, concurrency=3))
    assert summary.complete and summary.retries == 1
    t = refused[0]
    # Requests already on their way may land just after the refusal; then nobody sends until it expires.
    assert not [a for a in arrivals if t + 0.3 < a < t + 0.95]
    assert max(arrivals) >= t + 0.95


def test_request_and_token_rate_limits_pace_the_run(tmp_path: Path, server: ChatServer) -> None:
    import time

    write_problems(tmp_path / "in.jsonl", 15)
    start = time.monotonic()
    summary = generate(config(tmp_path, server, rpm=600, concurrency=8))  # 10 a second, bucket of 10
    assert summary.complete and time.monotonic() - start >= 0.45
    # Token limit: each request reserves its prompt estimate + 1,024 expected answer tokens; the
    # reported usage (47 tokens) gives the rest back, so 15 requests fit well within 6,000 tokens/s.
    start = time.monotonic()
    summary = generate(config(tmp_path, server, output=str(tmp_path / "tpm.jsonl"), tpm=360_000, concurrency=8))
    assert summary.complete and summary.answered == 15
    assert time.monotonic() - start < 30


def test_a_cache_write_failure_ends_the_run_instead_of_hanging(
    tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from srl_data.teacher.cache import AnswerCache

    def disk_full(self: AnswerCache, *args: object, **kwargs: object) -> None:
        raise OutputError("cannot write to the answer cache (No space left on device)", path=str(self.path))

    monkeypatch.setattr(AnswerCache, "put", disk_full)
    write_problems(tmp_path / "in.jsonl", 20)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            generate(config(tmp_path, server, concurrency=2))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "generate hung after every worker failed"
    assert len(raised) == 1 and isinstance(raised[0], OutputError)
    assert "No space left on device" in str(raised[0])
    assert server.total <= 2  # no more requests paid for once the cache cannot keep them
    assert not (tmp_path / "out.jsonl").exists()


def test_token_limit_reservations_are_corrected_by_reported_usage(
    tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from srl_data.teacher.ratelimit import RateLimiter

    corrections: list[tuple[int, int]] = []
    original = RateLimiter.correct

    def spy(self: RateLimiter, estimated: int, actual: int) -> None:
        corrections.append((estimated, actual))
        original(self, estimated, actual)

    monkeypatch.setattr(RateLimiter, "correct", spy)
    write_problems(tmp_path / "in.jsonl", 5)
    summary = generate(config(tmp_path, server, tpm=600_000, concurrency=1))
    assert summary.complete
    # Each reservation (prompt estimate + 1,024 expected answer tokens at first) is replaced by the
    # total the server reported for that request.
    reported = [20 + len(json.loads(line)["solution"].split()) for line in (tmp_path / "out.jsonl").open()]
    assert [actual for _, actual in corrections] == reported
    assert corrections[0][0] > 1024 and all(estimated > actual for estimated, actual in corrections)


def test_failed_requests_are_remembered_without_their_traceback(
    tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The errors wait for the write pass; a traceback (and the openai exception behind it, with the
    # HTTP request and response) kept alive for each made memory grow ~30 KB per failed request.
    import srl_data.generate as module

    fetches: list = []
    original = module._Fetch.__init__

    def keep(self: object, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        fetches.append(self)

    monkeypatch.setattr(module._Fetch, "__init__", keep)
    server.script = lambda body, n: Served.error(400, "prompt too long")
    write_problems(tmp_path / "in.jsonl", 3)
    summary = generate(config(tmp_path, server))
    assert summary.outcomes == {"error: bad_request": 3}
    errors = list(fetches[0].errors.values())
    assert len(errors) == 3
    assert all(e.__traceback__ is None and e.__context__ is None and e.__cause__ is None for e in errors)
    assert read_jsonl(tmp_path / "out.failures.jsonl")[0]["detail"] == (
        "the server rejected the request (HTTP 400): prompt too long"
    )
