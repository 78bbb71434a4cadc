"""``srl-data generate`` through the CLI and the real openai client, against a
real chat-completions server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_data.cli import app
from tests.chat_server import ChatServer, Reply, default_solution, problem_of

runner = CliRunner()
SECRET = "sk-proj-TOPSECRET-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def write_problems(path: Path, count: int) -> Path:
    with path.open("w") as handle:
        for i in range(1, count + 1):
            handle.write(json.dumps({"id": f"p{i}", "problem": f"Problem {i}: give back {i * 7}.",
                                     "answer": str(i * 7)}) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def invoke(tmp_path: Path, server: ChatServer, *args: str, env: dict[str, str] | None = None):
    base = ["generate", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--teacher", "m",
            "--base-url", server.url, "--concurrency", "4"]
    environment = {"SRL_DATA_DEBUG": "", "COLUMNS": "200", "NO_COLOR": "1", "OPENAI_API_KEY": "",
                   "OPENAI_BASE_URL": "", "SRL_DATA_PROGRESS_INTERVAL": "1000"}
    environment.update(env or {})
    return runner.invoke(app, base + list(args), env=environment)


def number(body: dict) -> int:
    """Which problem a request is for ("Problem 3: ..." -> 3)."""
    return int(problem_of(body).split("Problem ", 1)[1].split(":", 1)[0])


def test_happy_path_summary_and_exit_0(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 3)
    result = invoke(tmp_path, server)
    assert result.exit_code == 0, result.output
    assert "generate summary" in result.stdout
    assert "│   ok                │ 3" in result.stdout
    assert "rows written        │ 3" in result.stdout
    assert "generate: 3/3 done (0 from cache, 0 errors, 0 retries)" in result.stderr
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 3
    again = invoke(tmp_path, server)
    assert again.exit_code == 0 and "from the cache    │ 3" in again.stdout
    assert server.total == 3


def test_429_storm_is_retried_honouring_retry_after(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 6)
    server.script = lambda body, n: Reply.error(429, "Rate limit reached", retry_after="0.2") if n <= 2 else None
    start = time.monotonic()
    result = invoke(tmp_path, server)
    assert time.monotonic() - start >= 0.4  # two waits of Retry-After, never shorter
    assert result.exit_code == 0, result.output
    assert "answered now      │ 6 (12 retries)" in result.stdout
    assert "│   ok                │ 6" in result.stdout
    # Every request was refused twice and answered on its third try, no more.
    assert sorted(server.counts.values()) == [3] * 6


@pytest.mark.parametrize("status", [500, 503, 408, 409])
def test_server_errors_are_retried(tmp_path: Path, server: ChatServer, status: int) -> None:
    write_problems(tmp_path / "in.jsonl", 2)
    server.script = lambda body, n: Reply.error(status, "overloaded", retry_after_ms="5") if n == 1 else None
    result = invoke(tmp_path, server)
    assert result.exit_code == 0, result.output
    assert server.total == 4


def test_timeouts_malformed_bodies_and_dropped_connections_are_retried(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 3)

    def script(body: dict, attempt: int) -> Reply | None:
        if attempt > 1:
            return None
        return {1: Reply.completion("late", delay=1.0), 2: Reply(body="{oops"), 3: Reply(drop=True)}[number(body)]

    server.script = script
    result = invoke(tmp_path, server, "--timeout", "0.3")
    assert result.exit_code == 0, result.output
    assert "│   ok                │ 3" in result.stdout
    assert sorted(server.counts.values()) == [2, 2, 2]


def test_every_answer_outcome_is_counted_and_reported(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 7)
    solution = default_solution

    def script(body: dict, attempt: int) -> Reply | None:
        i = number(body)
        return {
            1: None,
            2: Reply.completion("1. **Start** and then", finish_reason="length"),
            3: Reply.completion("", finish_reason="content_filter"),
            4: Reply.completion(""),
            5: Reply.completion(solution(body).replace("{35}", "{36}")),
            6: Reply.completion("\\boxed{42}"),
            7: Reply.completion("<think>inline thought</think>\n" + solution(body), reasoning="server thought"),
        }[i]

    server.script = script
    result = invoke(tmp_path, server)
    assert result.exit_code == 0, result.output  # every request reached an outcome
    for outcome in ("ok                │ 2", "content_filter    │ 1", "empty             │ 1",
                    "truncated         │ 1", "unsegmentable     │ 1", "wrong_answer      │ 1"):
        assert outcome in result.stdout, outcome
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["p1", "p7"]
    assert rows[1]["thinking"] == "server thought\n\ninline thought"
    assert "thought" not in rows[1]["solution"]
    failures = {f["id"]: f["reason"] for f in read_jsonl(tmp_path / "out.failures.jsonl")}
    assert failures == {"p2": "truncated", "p3": "content_filter", "p4": "empty", "p5": "wrong_answer",
                        "p6": "unsegmentable"}
    assert server.total == 7  # none of those is worth a retry: they were paid for


def test_errors_after_retries_exit_1_and_a_rerun_resends_only_them(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 4)
    server.script = lambda body, n: Reply.error(503, "down", retry_after="0") if number(body) == 2 else None
    result = invoke(tmp_path, server, "--max-retries", "2")
    assert result.exit_code == 1
    assert "error: server_error │ 1" in result.stdout.replace("  │", " │")
    assert result.stderr.splitlines()[-1] == (
        f"Error: 1 request(s) ended in an error after retries; see {tmp_path / 'out.failures.jsonl'}. Rerun the "
        "same command to resume: answers already received are not paid for again."
    )
    failure = read_jsonl(tmp_path / "out.failures.jsonl")[0]
    assert failure["reason"] == "error: server_error"
    assert failure["detail"] == "HTTP 503: down (after 2 retries)"
    assert server.total == 3 + 3
    server.script = None
    again = invoke(tmp_path, server)
    assert again.exit_code == 0, again.output
    assert server.total == 7  # only the failed request went out again
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["p1", "p2", "p3", "p4"]


def test_bad_request_is_not_retried(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 2)
    server.script = lambda body, n: Reply.error(400, "maximum context length exceeded") if number(body) == 1 else None
    result = invoke(tmp_path, server)
    assert result.exit_code == 1
    assert server.total == 2
    assert read_jsonl(tmp_path / "out.failures.jsonl")[0]["detail"] == (
        "the server rejected the request (HTTP 400): maximum context length exceeded"
    )


def test_401_stops_the_run_with_a_fix_it_message_and_no_key(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 20)
    server.script = lambda body, n: Reply.error(401, f"Incorrect API key provided: {SECRET}")
    result = invoke(tmp_path, server, "--api-key-env", "TEACHER_KEY", "--concurrency", "1",
                    env={"TEACHER_KEY": SECRET})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: the server refused the API key (HTTP 401): Incorrect API key provided: ***. Check the key in "
        "the environment variable TEACHER_KEY (or name another one with --api-key-env). Answers received so far "
        "are in the cache; fix the problem and rerun the same command to resume."
    )
    assert server.total == 1  # stopped at once, not 20 refusals
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_key_for_a_hosted_url(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 1)
    result = runner.invoke(app, ["generate", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o.jsonl"),
                                 "--teacher", "gpt-4o-mini", "--api-key-env", "NO_SUCH_KEY_VAR"],
                           env={"NO_SUCH_KEY_VAR": "", "OPENAI_BASE_URL": "", "SRL_DATA_DEBUG": ""})
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: no API key: the environment variable NO_SUCH_KEY_VAR is not set. Export NO_SUCH_KEY_VAR=... or "
        "name the variable that holds the key with --api-key-env (a server on this machine or a private network "
        "needs none).\n"
    )


def test_the_key_appears_in_no_output_cache_log_or_error(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 3)

    def script(body: dict, attempt: int) -> Reply | None:
        if number(body) == 3:  # a server that echoes the credentials it was given
            return Reply.error(500, f"upstream rejected token {SECRET}", retry_after="0")
        return None

    server.script = script
    result = invoke(tmp_path, server, "--max-retries", "1", "--api-key-env", "TEACHER_KEY",
                    env={"TEACHER_KEY": SECRET, "SRL_DATA_PROGRESS_INTERVAL": "0"})
    assert result.exit_code == 1
    assert all(h["authorization"] == f"Bearer {SECRET}" for h in server.headers_seen)  # it was used...
    assert SECRET not in result.stdout and SECRET not in result.stderr  # ...and shown nowhere
    for path in tmp_path.iterdir():
        assert SECRET not in path.read_text(errors="replace"), path.name
    assert "upstream rejected token ***" in (tmp_path / "out.failures.jsonl").read_text()


def test_dry_run_prints_estimates_and_sends_nothing(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 4)
    result = invoke(tmp_path, server, "--dry-run", "--teacher", "gpt-4o-mini", "--max-tokens", "500")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "generate --dry-run (nothing was sent)" in out
    assert "to send                │ 4" in out
    assert "output tokens at most  │ 2,000 (--max-tokens)" in out
    assert "estimated total cost" in out and "built-in table (gpt-4o-mini, 2025-06)" in out
    assert '"model": "gpt-4o-mini"' in out and "Problem 1: give back 7." in out
    assert server.total == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_max_cost_stop_exits_1_and_says_how_to_resume(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 5)
    result = invoke(tmp_path, server, "--max-cost", "200", "--price-input", "1000000", "--price-output", "1000000",
                    "--max-tokens", "30", "--concurrency", "1")
    assert result.exit_code == 1
    assert "were not sent (--max-cost would have been exceeded)" in result.stderr
    assert 1 <= server.total < 5


def test_bad_extra_body_and_options(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 1)
    result = invoke(tmp_path, server, "--extra-body", "{top_k: 1}")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --extra-body is not valid JSON (Expecting property name enclosed in "
                                    "double quotes at column 2).")
    result = invoke(tmp_path, server, "--extra-body", '{"top_k": 20, "min_p": 0.1}')
    assert result.exit_code == 0, result.output
    assert next(iter(server.bodies.values()))["top_k"] == 20
    result = invoke(tmp_path, server, "--num-shards", "2", "--shard-index", "5")
    assert result.exit_code == 2
    assert "Error: --shard-index 5 is out of range. With --num-shards 2 it goes from 0 to 1." in result.stderr


def test_generated_output_feeds_split_steps_with_defaults(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 2)
    assert invoke(tmp_path, server).exit_code == 0
    result = runner.invoke(app, ["split-steps", str(tmp_path / "out.jsonl"), "-o", str(tmp_path / "steps.jsonl")],
                           env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "steps.jsonl")
    assert len(records) == 6 and records[0]["trajectory_id"] == "p1"


def test_sigkill_mid_run_loses_nothing_duplicates_nothing_pays_nothing_twice(tmp_path: Path) -> None:
    total = 60
    write_problems(tmp_path / "in.jsonl", total)
    cache = tmp_path / "out.cache.jsonl"
    with ChatServer(latency=0.05) as server:
        command = [sys.executable, "-m", "srl_data", "generate", str(tmp_path / "in.jsonl"), "-o",
                   str(tmp_path / "out.jsonl"), "--teacher", "m", "--base-url", server.url, "--concurrency", "4"]
        env = {**os.environ, "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "SRL_DATA_PROGRESS_INTERVAL": "1000"}
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if cache.exists() and cache.read_bytes().count(b"\n") >= 15:
                break
            if process.poll() is not None:
                pytest.fail(f"generate ended before the kill: {process.stderr.read().decode()}")
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        process.stderr.close()
        answered_before = {json.loads(line)["id"] for line in cache.read_text().splitlines()
                           if line.endswith("}")}
        assert 15 <= len(answered_before) < total
        assert not (tmp_path / "out.jsonl").exists()  # no half-written output
        sent_before = server.total

        rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        rows = read_jsonl(tmp_path / "out.jsonl")
        ids = [r["id"] for r in rows]
        assert sorted(ids) == sorted(f"p{i}" for i in range(1, total + 1))  # none lost
        assert len(ids) == len(set(ids))  # none duplicated
        by_problem = {number(body): server.counts[key] for key, body in server.bodies.items()}
        for row_id in answered_before:  # finished before the kill: never sent again
            assert by_problem[int(row_id[1:])] == 1, row_id
        # At most the requests in flight at the kill were sent twice.
        assert server.total - total <= 4
        # The rerun sent exactly the requests without a cached answer, each once.
        assert server.total - sent_before == total - len(answered_before)


def test_a_progress_interval_that_is_not_a_number_is_one_line(tmp_path: Path, server: ChatServer) -> None:
    write_problems(tmp_path / "in.jsonl", 1)
    result = invoke(tmp_path, server, env={"SRL_DATA_PROGRESS_INTERVAL": "soon"})
    assert result.exit_code == 2
    assert result.stderr == ("Error: SRL_DATA_PROGRESS_INTERVAL='soon' is not a number of seconds. "
                             "Set it to e.g. 10, or unset it\n")
