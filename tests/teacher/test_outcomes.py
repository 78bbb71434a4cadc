"""Where an answer ends: ok or a named failure, with thinking kept apart."""

from __future__ import annotations

from srl_data.teacher.client import Reply
from srl_data.teacher.outcomes import Judge
from srl_data.teacher.verify import Verifier
from srl_data.trajectories import Segmentation, SegmentOptions

STEPS = "1. **Add** 2 + 2 = 4.\n2. **Check** It is 4.\n\n\\boxed{4}"


def judge(keep_unverified: bool = False, verify: bool = True) -> Judge:
    return Judge(Verifier(use_math_verify=False) if verify else None, Segmentation(SegmentOptions()), keep_unverified)


def run(reply: Reply, answer: str | None = "4", **kwargs: bool):
    return judge(**kwargs).judge(reply, problem="What is 2 + 2?", answer=answer, row_id="p1")


def test_ok_and_verified() -> None:
    j = run(Reply(STEPS, "stop"))
    assert (j.outcome, j.verified, j.keep) == ("ok", True, True)
    assert j.solution == STEPS


def test_no_reference_answer_is_ok_unverified() -> None:
    j = run(Reply(STEPS, "stop"), answer=None)
    assert (j.outcome, j.verified, j.keep) == ("ok", None, True)


def test_verification_off() -> None:
    j = run(Reply(STEPS.replace("{4}", "{5}"), "stop"), verify=False)
    assert (j.outcome, j.verified) == ("ok", None)


def test_thinking_never_in_solution() -> None:
    j = run(Reply("<think>try 2+2</think>\n" + STEPS, "stop", reasoning="server-side thoughts"))
    assert j.outcome == "ok"
    assert "<think>" not in j.solution and "try 2+2" not in j.solution
    assert j.thinking == "server-side thoughts\n\ntry 2+2"


def test_truncated_content_filter_empty() -> None:
    truncated = run(Reply(STEPS[:20], "length", usage={"completion_tokens": 9}))
    assert truncated.outcome == "truncated" and "after 9 tokens" in truncated.detail and not truncated.keep
    assert run(Reply("", "content_filter")).outcome == "content_filter"
    assert run(Reply(None, "stop")).outcome == "empty"
    only_thinking = run(Reply("<think>all thought</think>", "stop"))
    assert (only_thinking.outcome, only_thinking.detail) == ("empty", "the answer holds only thinking")


def test_wrong_answer_kept_only_when_asked() -> None:
    wrong = Reply(STEPS.replace("{4}", "{5}"), "stop")
    j = run(wrong)
    assert (j.outcome, j.verified, j.keep) == ("wrong_answer", False, False)
    assert j.detail == "answer '5', expected '4'"
    assert run(wrong, keep_unverified=True).keep is True


def test_unsegmentable() -> None:
    j = run(Reply("\\boxed{4}", "stop"))
    assert j.outcome == "unsegmentable" and not j.keep
    assert "--min-steps is 2" in j.detail
