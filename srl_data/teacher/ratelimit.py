"""Keeping within request and token rate limits.

Two token buckets, one for requests per minute and one for tokens per minute,
refilled continuously. A request takes one request and its *estimated* tokens
(prompt counted with tiktoken plus the completion it may produce, which is
how hosted APIs count against the limit); when its answer reports the real
usage, the difference is given back (or taken as debt). Buckets hold one
second's worth of requests and ten seconds' worth of tokens, so a run starts
gently instead of in a burst that a provider's short windows would refuse.

A 429 pauses *every* caller for the time the server asked (:meth:`pause`),
which is what stops a 429 storm: one refusal, one shared wait.

Concurrency is bounded by the number of workers that :mod:`srl_data.generate`
starts; this module only paces them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..errors import ConfigError


class TokenBucket:
    """``rate`` units per minute, holding at most ``capacity`` (starts full)."""

    def __init__(self, per_minute: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ConfigError("rate limits must be positive")
        self.per_second = per_minute / 60.0
        self.capacity = max(1.0, capacity)
        self.level = self.capacity
        self._clock = clock
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.per_second)
        self._stamp = now

    def wait_time(self, amount: float) -> float:
        """Seconds until ``amount`` can be taken (a request larger than the
        bucket waits for a full bucket and leaves it in debt)."""
        self._refill()
        need = min(amount, self.capacity)
        if self.level >= need:
            return 0.0
        return (need - self.level) / self.per_second

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= amount

    def give_back(self, amount: float) -> None:
        """Correct an estimate: positive returns units, negative takes more."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """Paces calls to stay within ``rpm`` requests and ``tpm`` tokens per minute."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.requests = TokenBucket(rpm, rpm / 60.0, clock) if rpm else None
        self.tokens = TokenBucket(tpm, tpm / 6.0, clock) if tpm else None
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.waited = 0.0  # seconds callers spent waiting here, summed

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` from now (after a 429)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of ``tokens`` estimated tokens may be sent."""
        async with self._lock:  # first come, first served
            while True:
                wait = self._paused_until - self._clock()
                if self.requests is not None:
                    wait = max(wait, self.requests.wait_time(1))
                if self.tokens is not None:
                    wait = max(wait, self.tokens.wait_time(tokens))
                if wait <= 0:
                    break
                self.waited += wait
                await asyncio.sleep(wait)
            if self.requests is not None:
                self.requests.take(1)
            if self.tokens is not None:
                self.tokens.take(tokens)

    def correct(self, estimated: int, actual: int) -> None:
        """Replace a request's estimated tokens by the usage it reported."""
        if self.tokens is not None and actual > 0:
            self.tokens.give_back(estimated - actual)
