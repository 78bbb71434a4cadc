"""Token buckets and the shared pause after a 429."""

from __future__ import annotations

import asyncio
import time

import pytest

from srl_data.errors import ConfigError
from srl_data.teacher.ratelimit import RateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(per_minute=600, capacity=10, clock=clock)  # 10 a second
    assert bucket.wait_time(10) == 0
    bucket.take(10)
    assert bucket.wait_time(1) == pytest.approx(0.1)
    clock.now += 0.5
    assert bucket.wait_time(5) == 0
    clock.now += 100
    bucket._refill()
    assert bucket.level == 10  # never above capacity


def test_request_larger_than_bucket_waits_for_full_bucket_then_owes() -> None:
    clock = Clock()
    bucket = TokenBucket(per_minute=60, capacity=5, clock=clock)
    bucket.take(5)
    assert bucket.wait_time(50) == pytest.approx(5.0)  # waits for a full bucket, not forever
    clock.now += 5
    bucket.take(50)
    assert bucket.level == pytest.approx(-45)


def test_correction_gives_back_and_takes_debt() -> None:
    clock = Clock()
    bucket = TokenBucket(per_minute=6000, capacity=100, clock=clock)
    bucket.take(80)
    bucket.give_back(50)  # used 30 of the 80 estimated
    assert bucket.level == pytest.approx(70)
    bucket.give_back(-40)  # used 40 more than estimated
    assert bucket.level == pytest.approx(30)


def test_positive_rates_required() -> None:
    with pytest.raises(ConfigError):
        TokenBucket(per_minute=0, capacity=1)


def test_limiter_paces_requests_per_minute() -> None:
    limiter = RateLimiter(rpm=1200)  # 20 a second, bucket of 20

    async def main() -> float:
        start = time.monotonic()
        await asyncio.gather(*(limiter.acquire(1) for _ in range(30)))
        return time.monotonic() - start

    elapsed = asyncio.run(main())
    assert 0.4 <= elapsed < 2.0  # 10 beyond the bucket at 20/s: about 0.5 s


def test_limiter_paces_tokens_and_uses_corrections() -> None:
    limiter = RateLimiter(tpm=60_000)  # 1000 tokens a second, bucket of 10,000

    async def main() -> float:
        await limiter.acquire(10_000)
        limiter.correct(10_000, 2_000)  # the answer used far fewer: 8,000 come back
        start = time.monotonic()
        await limiter.acquire(8_000)
        return time.monotonic() - start

    assert asyncio.run(main()) < 0.2


def test_pause_holds_every_caller() -> None:
    limiter = RateLimiter()

    async def main() -> float:
        limiter.pause(0.3)
        start = time.monotonic()
        await asyncio.gather(limiter.acquire(1), limiter.acquire(1))
        return time.monotonic() - start

    elapsed = asyncio.run(main())
    assert 0.28 <= elapsed < 1.0
