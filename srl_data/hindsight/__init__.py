"""Goal-directed ("hindsight") pairs from any trajectory (``srl-data hindsight``).

From a trajectory S1 -a1-> S2 -a2-> S3 learn (from S1, reach S2: a1), (from S1,
reach S3: a1) and (from S2, reach S3: a2): every later state is a goal and the
target is the action actually taken.

- :mod:`.strategies`: which (start, goal) pairs (``next``, ``final``,
  ``future``, ``all``), with the closed-form count of each;
- :mod:`.goals`: how a goal state is described (``result``, ``title``,
  ``observation``, ``answer``, ``state``);
- :mod:`.leak`: the guard that drops goals handing over their target;
- :mod:`.render`: prompts from ``prompts/hindsight*.toml``;
- :mod:`.builder`: trajectories to validated records;
- :mod:`.job`: the streaming run (read, build, write, summary, dry run).
"""

from __future__ import annotations

from .builder import Candidate, HindsightBuilder, HindsightOptions
from .goals import GOALS, GoalKind, get_goal
from .job import HindsightConfig, HindsightSummary, hindsight
from .leak import NEAR_IDENTICAL, leak_reason
from .strategies import STRATEGIES, PairStrategy, get_strategy

__all__ = [
    "GOALS",
    "NEAR_IDENTICAL",
    "STRATEGIES",
    "Candidate",
    "GoalKind",
    "HindsightBuilder",
    "HindsightConfig",
    "HindsightOptions",
    "HindsightSummary",
    "PairStrategy",
    "get_goal",
    "get_strategy",
    "hindsight",
    "leak_reason",
]
