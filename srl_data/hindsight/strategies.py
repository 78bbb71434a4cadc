"""Which (start, goal) pairs a trajectory gives: the pair strategies.

A trajectory with N steps has states s0 .. sN. A pair (i, j), 0 <= i < j <= N,
starts at s_i and aims for s_j. Hindsight Experience Replay's lesson is that
all pairs grow quadratically, so the strategy chooses:

- ``next``: j = i + 1 (the plain next-step pairs): N pairs;
- ``final``: j = N for every i: N pairs;
- ``future``: for every i, ``k`` goals drawn without replacement from
  i+1 .. N: sum over i of min(k, N - i) pairs;
- ``all``: every i < j: N(N+1)/2 pairs.

``max_horizon`` H keeps only pairs with j - i <= H; ``future`` draws its k goals
from the goals within reach (i+1 .. min(N, i+H)), so it still gives
min(k, reachable) pairs per start. :meth:`PairStrategy.count` is the closed
form of how many pairs :meth:`PairStrategy.pairs` yields.

Sampling is seeded per trajectory from ``(seed, trajectory id)``: the same seed
gives the same pairs whatever the order of the input or how it is streamed.
A new strategy is one subclass decorated with :func:`register`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import ClassVar

from ..errors import ConfigError

DEFAULT_K = 4


def trajectory_rng(seed: int, trajectory_id: str) -> random.Random:
    """A generator that depends only on the seed and the trajectory's id.

    ``random.Random`` seeds from a string through SHA-512, so the stream is the
    same in every process (unlike ``hash()``, which is salted per process).
    """
    return random.Random(f"{seed}\x1f{trajectory_id}")


def reach(num_steps: int, i: int, max_horizon: int | None) -> int:
    """The furthest goal index reachable from start i."""
    return num_steps if max_horizon is None else min(num_steps, i + max_horizon)


class PairStrategy:
    """Base class: yields (i, j) pairs of one trajectory, by start then goal."""

    name: ClassVar[str]
    description: ClassVar[str]
    sampled: ClassVar[bool] = False  # whether pairs depend on the seed

    def __init__(self, k: int | None = None, max_horizon: int | None = None) -> None:
        if max_horizon is not None and max_horizon < 1:
            raise ConfigError("--max-horizon must be at least 1")
        self.k = k
        self.max_horizon = max_horizon

    def pairs(self, num_steps: int, rng: random.Random | None = None) -> Iterator[tuple[int, int]]:
        raise NotImplementedError  # pragma: no cover - abstract

    def count(self, num_steps: int) -> int:
        raise NotImplementedError  # pragma: no cover - abstract


STRATEGIES: dict[str, type[PairStrategy]] = {}


def register(cls: type[PairStrategy]) -> type[PairStrategy]:
    STRATEGIES[cls.name] = cls
    return cls


@register
class NextStrategy(PairStrategy):
    name = "next"
    description = "j = i+1: the plain next-step pairs (N per trajectory)"

    def pairs(self, num_steps: int, rng: random.Random | None = None) -> Iterator[tuple[int, int]]:
        for i in range(num_steps):
            yield i, i + 1

    def count(self, num_steps: int) -> int:
        return num_steps


@register
class FinalStrategy(PairStrategy):
    name = "final"
    description = "j = N: every start aims for the final state"

    def pairs(self, num_steps: int, rng: random.Random | None = None) -> Iterator[tuple[int, int]]:
        for i in range(num_steps):
            if reach(num_steps, i, self.max_horizon) == num_steps:
                yield i, num_steps

    def count(self, num_steps: int) -> int:
        return num_steps if self.max_horizon is None else min(num_steps, self.max_horizon)


@register
class FutureStrategy(PairStrategy):
    name = "future"
    description = "k goals per start drawn without replacement from the later states"
    sampled = True

    def __init__(self, k: int | None = None, max_horizon: int | None = None) -> None:
        super().__init__(DEFAULT_K if k is None else k, max_horizon)
        if self.k is not None and self.k < 1:
            raise ConfigError("--k must be at least 1")

    def pairs(self, num_steps: int, rng: random.Random | None = None) -> Iterator[tuple[int, int]]:
        if rng is None:
            raise ValueError("the future strategy needs a seeded random generator")
        k = self.k or DEFAULT_K
        for i in range(num_steps):
            last = reach(num_steps, i, self.max_horizon)
            choices = range(i + 1, last + 1)
            goals = choices if len(choices) <= k else sorted(rng.sample(choices, k))
            for j in goals:
                yield i, j

    def count(self, num_steps: int) -> int:
        k = self.k or DEFAULT_K
        return sum(min(k, reach(num_steps, i, self.max_horizon) - i) for i in range(num_steps))


@register
class AllStrategy(PairStrategy):
    name = "all"
    description = "every i < j (quadratic: N(N+1)/2 pairs)"

    def pairs(self, num_steps: int, rng: random.Random | None = None) -> Iterator[tuple[int, int]]:
        for i in range(num_steps):
            for j in range(i + 1, reach(num_steps, i, self.max_horizon) + 1):
                yield i, j

    def count(self, num_steps: int) -> int:
        return sum(reach(num_steps, i, self.max_horizon) - i for i in range(num_steps))


def get_strategy(name: str, *, k: int | None = None, max_horizon: int | None = None) -> PairStrategy:
    """The strategy called ``name``; ``k`` is refused unless the strategy samples."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ConfigError(f"unknown --strategy '{name}'", hint=f"choose one of: {', '.join(STRATEGIES)}") from None
    if k is not None and not cls.sampled:
        raise ConfigError(f"--k applies only to --strategy future, not '{name}'", hint="leave out --k")
    return cls(k=k, max_horizon=max_horizon)
