"""When to try a failed call again, and how long to wait first.

Retried: 429 (rate limited), 408, 409, every 5xx, timeouts, dropped
connections and malformed answers. Not retried: 400/422 (the request itself
is wrong: it ends as ``error: bad_request``) and 401/403/404, which stop the
whole run at once with a message saying what to check.

The wait is exponential with jitter (half fixed, half random, so many
clients that failed together do not come back together), or exactly what the
server asked for in ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP
date), capped at :attr:`RetryPolicy.max_retry_after`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from ..errors import ConfigError
from .client import CallError

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 429})


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, or None (``retry-after-ms`` wins over ``Retry-After``)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
            if value >= 0:
                return value
        except ValueError:
            pass
    text = headers.get("retry-after")
    if text is None:
        return None
    text = text.strip()
    try:
        value = float(text)
        return value if value >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` tries after the first; waits grow from ``base_delay`` to ``max_delay``."""

    max_retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 600.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigError("--max-retries cannot be negative")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ConfigError("retry delays cannot be negative")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        if retry_after is not None:
            # What the server asked, plus a little spread so waiting clients do not return at once.
            wait = min(retry_after, self.max_retry_after)
            return wait + self.rng.uniform(0, min(1.0, wait * 0.1))
        ceiling = min(self.max_delay, self.base_delay * (2**retry))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[CallError, float], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or the retries run out
    (then the last :class:`CallError` is raised)."""
    retry = 0
    while True:
        try:
            return await attempt()
        except CallError as err:
            if err.fatal or not err.retryable or retry >= policy.max_retries:
                raise
            wait = policy.delay(retry, err.retry_after)
            if on_retry is not None:
                on_retry(err, wait)
            await sleep(wait)
            retry += 1
