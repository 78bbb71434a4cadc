"""Retry decisions and waits."""

from __future__ import annotations

import asyncio
import random
from email.utils import formatdate

import pytest

from srl_data.errors import ConfigError
from srl_data.teacher.client import CallError
from srl_data.teacher.retry import RetryPolicy, parse_retry_after, with_retries


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-1"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None
    now = 1_700_000_000.0
    date = formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after({"retry-after": formatdate(now - 30, usegmt=True)}, now=now) == 0.0


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    for retry in range(8):
        ceiling = min(8.0, 2.0**retry)
        waits = [policy.delay(retry) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=60, rng=random.Random(2))
    waits = [policy.delay(0, retry_after=5.0) for _ in range(100)]
    assert all(5.0 <= w <= 5.5 for w in waits)
    assert policy.delay(3, retry_after=0.0) == 0.0
    assert 60 <= policy.delay(0, retry_after=3600) <= 61


def test_negative_retries_refused() -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(max_retries=-1)


def _run(errors: list[CallError], policy: RetryPolicy) -> tuple[str | CallError, list[float]]:
    slept: list[float] = []
    calls = iter(errors)

    async def attempt() -> str:
        err = next(calls, None)
        if err is not None:
            raise err
        return "answer"

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> str | CallError:
        try:
            return await with_retries(attempt, policy, sleep=sleep)
        except CallError as err:
            return err

    return asyncio.run(main()), slept


def test_retryable_errors_are_retried_until_success() -> None:
    errors = [CallError("rate_limited", "429", retryable=True, retry_after=2.0),
              CallError("server_error", "503", retryable=True)]
    result, slept = _run(errors, RetryPolicy(max_retries=3, base_delay=0.5, rng=random.Random(0)))
    assert result == "answer"
    assert 2.0 <= slept[0] <= 2.2  # Retry-After honoured
    assert 0.5 <= slept[1] <= 1.0  # second retry: base * 2, jittered


def test_retries_run_out() -> None:
    errors = [CallError("timeout", f"t{i}", retryable=True) for i in range(5)]
    result, slept = _run(errors, RetryPolicy(max_retries=2, base_delay=0.01))
    assert isinstance(result, CallError) and result.message == "t2"
    assert len(slept) == 2


@pytest.mark.parametrize("error", [CallError("bad_request", "400"), CallError("auth", "401", fatal=True)])
def test_non_retryable_fail_at_once(error: CallError) -> None:
    result, slept = _run([error], RetryPolicy(max_retries=5))
    assert result is error
    assert slept == []
