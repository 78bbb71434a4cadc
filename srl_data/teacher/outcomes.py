"""Where each teacher answer ends: ``ok`` or a named failure.

An answer is judged in this order: ``content_filter`` (the provider refused),
``truncated`` (finish_reason ``length``: raise ``--max-tokens``), ``empty``
(nothing left once thinking is set apart), ``wrong_answer`` (its final answer
differs from the known one), ``unsegmentable`` (it does not split into steps
the way ``split-steps`` will split it), else ``ok``. A request that never got
an answer ends as ``error: KIND`` (see :mod:`.client`).

Thinking (``reasoning_content``/``reasoning`` from the server and ``<think>``
blocks in the text) is kept apart and never reaches the solution.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Reject, Solution
from ..text import join_thinking, split_thinking
from ..trajectories import Segmentation
from .client import Reply
from .verify import Verifier

OK = "ok"
TRUNCATED = "truncated"
CONTENT_FILTER = "content_filter"
EMPTY = "empty"
WRONG_ANSWER = "wrong_answer"
UNSEGMENTABLE = "unsegmentable"
ERROR_PREFIX = "error: "
NOT_SENT = "not_sent"  # the run stopped (budget) before sending the request
DUPLICATE_ID = "duplicate_id"  # the input holds the id twice; the later row is skipped

ANSWER_OUTCOMES = (OK, TRUNCATED, CONTENT_FILTER, EMPTY, WRONG_ANSWER, UNSEGMENTABLE)


def is_error(outcome: str) -> bool:
    return outcome.startswith(ERROR_PREFIX)


@dataclass(frozen=True)
class Judgement:
    outcome: str
    solution: str
    thinking: str | None
    verified: bool | None
    detail: str | None = None
    keep: bool = False  # written to the output


class Judge:
    """Judges answers: ``verifier`` None switches verification off."""

    def __init__(self, verifier: Verifier | None, segmentation: Segmentation, keep_unverified: bool = False) -> None:
        self.verifier = verifier
        self.segmentation = segmentation
        self.keep_unverified = keep_unverified

    def judge(self, reply: Reply, *, problem: str, answer: str | None, row_id: str) -> Judgement:
        solution, inline_thinking = split_thinking(reply.content or "")
        thinking = join_thinking(reply.reasoning, inline_thinking)
        if reply.finish_reason == "content_filter":
            return Judgement(CONTENT_FILTER, solution, thinking, None, "the provider's content filter stopped the answer")
        if reply.finish_reason == "length":
            return Judgement(
                TRUNCATED, solution, thinking, None,
                f"the answer hit the token limit after {reply.completion_tokens} tokens; raise --max-tokens",
            )
        if not solution.strip():
            detail = "the answer holds only thinking" if thinking else "the answer is empty"
            return Judgement(EMPTY, solution, thinking, None, detail)
        verified = None
        verdict_detail = None
        if self.verifier is not None:
            verdict = self.verifier.check(solution, answer)
            verified = verdict.verified
            verdict_detail = verdict.detail
        segmented = self.segmentation.segment(
            Solution(id=row_id, problem=problem, solution=solution, answer=answer, thinking=thinking)
        )
        splits = not isinstance(segmented, Reject)
        segment_detail = segmented.detail if isinstance(segmented, Reject) else None
        if verified is False:
            detail = verdict_detail if splits else f"{verdict_detail}; also unsegmentable: {segment_detail}"
            return Judgement(WRONG_ANSWER, solution, thinking, False, detail, keep=self.keep_unverified and splits)
        if not splits:
            return Judgement(UNSEGMENTABLE, solution, thinking, verified, segment_detail)
        return Judgement(OK, solution, thinking, verified, None, keep=True)
