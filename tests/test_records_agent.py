"""Agent step records: the prompt is the system prompt, the task and earlier
action/observation pairs; the target is the action alone."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srl_data.errors import ConfigError
from srl_data.formats import to_verl
from srl_data.models import Step, Trajectory
from srl_data.prompts import load_template
from srl_data.records import StepRecordBuilder, StepRecordOptions
from srl_data.tokens import TokenCounter
from srl_data.trajectories import ReadOptions, Segmentation, SegmentOptions, iter_solutions

ROOT = Path(__file__).resolve().parents[1]
SWE_AGENT = ROOT.parent / "shared" / "data" / "swe-agent"
COUNTER = TokenCounter()
TEMPLATE = load_template("srl_agent_step")
INSTRUCTIONS = TEMPLATE.text("instructions")


def trajectory(n=3, system="SYS", observation=lambda i: f"out {i}") -> Trajectory:
    steps = [Step(action=f"act {i}", thought=f"why {i}", observation=observation(i)) for i in range(1, n + 1)]
    return Trajectory(id="t", kind="agent", problem="the task", system=system, segmenter="agent", steps=steps)


def build(traj, **options):
    return list(StepRecordBuilder(StepRecordOptions(**options), COUNTER).build(traj))


def roles_and_contents(record):
    return [(m.role, m.content) for m in record.prompt]


def test_full_history_prompt():
    records = build(trajectory())
    assert [r.expert_action for r in records] == ["act 1", "act 2", "act 3"]
    assert roles_and_contents(records[2]) == [
        ("system", f"SYS\n\n{INSTRUCTIONS}"),
        ("user", "the task"),
        ("assistant", "act 1"),
        ("tool", "out 1"),
        ("assistant", "act 2"),
        ("tool", "out 2"),
    ]
    assert roles_and_contents(records[0])[1:] == [("user", "the task")]
    assert records[1].thought == "why 2" and records[1].previous_steps == ["act 1"]
    meta = records[0].metadata
    assert (meta.template_id, meta.template_hash, meta.segmenter) == ("srl-agent-step-v1", TEMPLATE.hash, "agent")


def test_history_window_one_keeps_the_task_and_the_latest_pair():
    records = build(trajectory(5), history_window=1)
    assert roles_and_contents(records[4]) == [
        ("system", f"SYS\n\n{INSTRUCTIONS}"),
        ("user", "the task"),
        ("assistant", "act 4"),
        ("tool", "out 4"),
    ]
    assert roles_and_contents(records[0])[1:] == [("user", "the task")]
    # previous_steps still lists every earlier action (the record's context), only the prompt is cut.
    assert records[4].previous_steps == ["act 1", "act 2", "act 3", "act 4"]


def test_history_window_zero_keeps_only_the_task():
    records = build(trajectory(3), history_window=0)
    assert all(roles_and_contents(r)[1:] == [("user", "the task")] for r in records)


def test_long_observations_are_cut_with_a_visible_marker():
    records = build(trajectory(2, observation=lambda i: "x" * 25 + "END"), max_observation_chars=10)
    assert records[1].prompt[-1].content == "x" * 10 + "\n[... 18 more characters truncated ...]"
    short = build(trajectory(2, observation=lambda i: "short"), max_observation_chars=10)
    assert short[1].prompt[-1].content == "short"


def test_context_thoughts_show_earlier_thoughts_but_never_in_the_target():
    records = build(trajectory(3), context_thoughts=True)
    assert roles_and_contents(records[2])[2:] == [
        ("assistant", "why 1\n\nact 1"), ("tool", "out 1"), ("assistant", "why 2\n\nact 2"), ("tool", "out 2")
    ]
    assert [r.expert_action for r in records] == ["act 1", "act 2", "act 3"]
    assert "why" not in "".join(m.content for m in build(trajectory(3))[2].prompt)


def test_no_system_prompt_and_missing_observations():
    traj = trajectory(3, system=None, observation=lambda i: None if i == 1 else f"out {i}")
    records = build(traj)
    assert roles_and_contents(records[2]) == [
        ("system", INSTRUCTIONS), ("user", "the task"), ("assistant", "act 1"), ("assistant", "act 2"), ("tool", "out 2")
    ]


def test_token_counts_are_exact():
    for record in build(trajectory(4), max_observation_chars=3, context_thoughts=True):
        assert record.prompt_tokens == sum(COUNTER.count(m.content) for m in record.prompt)
        assert record.target_tokens == COUNTER.count(record.expert_action)


def test_targets_and_max_prompt_tokens_work_for_agents():
    assert [r.step_index for r in build(trajectory(4), targets="skip-first")] == [2, 3, 4]
    builder = StepRecordBuilder(StepRecordOptions(max_prompt_tokens=60), COUNTER)
    kept = list(builder.build(trajectory(6)))
    assert kept and builder.too_long == 6 - len(kept) > 0


def test_title_hint_is_refused_for_agents():
    with pytest.raises(ConfigError) as err:
        build(trajectory(), title_hint=True)
    assert str(err.value) == (
        "--title-hint applies to text solutions; agent steps have no titles. Drop --title-hint for agent trajectories."
    )


def test_option_values_are_checked():
    with pytest.raises(ConfigError, match="--history-window must be 0 or more"):
        StepRecordOptions(history_window=-1)
    with pytest.raises(ConfigError, match="--max-observation-chars must be at least 1"):
        StepRecordOptions(max_observation_chars=0)


def test_verl_rows_of_agent_records_have_ability_agent():
    row = to_verl(build(trajectory())[1])
    assert row["ability"] == "agent"
    assert row["reward_model"] == {"style": "rule", "ground_truth": "act 2"}


def _agent_trajectories():
    segmentation = Segmentation(SegmentOptions(min_steps=1), preset="swe-agent")
    for path in sorted(SWE_AGENT.glob("*.traj")):
        for solution in iter_solutions(str(path), ReadOptions(preset="swe-agent")):
            yield segmentation.segment(solution)
    segmentation = Segmentation(SegmentOptions(min_steps=1), preset="messages")
    for solution in iter_solutions(str(ROOT / "examples" / "agent_messages.jsonl"), ReadOptions(preset="messages")):
        yield segmentation.segment(solution)


@pytest.mark.parametrize("options", [{}, {"history_window": 1}, {"context_thoughts": True}])
def test_every_record_of_the_real_and_example_trajectories_targets_only_its_action(options):
    count = 0
    for traj in _agent_trajectories():
        assert isinstance(traj, Trajectory)
        records = build(traj, **options)
        assert len(records) == len(traj.steps)
        for record, step in zip(records, traj.steps):
            count += 1
            assert record.expert_action == step.action
            assert record.thought == step.thought
            for other in traj.steps:
                if other.thought:
                    assert other.thought.strip() not in record.expert_action
                if other.observation and len(other.observation.strip()) > 3:
                    assert other.observation.strip() not in record.expert_action
            # The target never appears as an observation in its own prompt.
            assert all(m.role != "tool" or m.content != step.action for m in record.prompt)
    assert count == 14 + 7


# Property: over generated trajectories, no target holds a thought or an
# observation, and the prompt holds exactly the task plus the kept pairs.

TEXT = st.text(alphabet=string.ascii_lowercase + " .", min_size=1, max_size=15)


@st.composite
def generated(draw):
    n = draw(st.integers(1, 8))
    steps = [
        Step(
            action=f"{draw(TEXT)}",
            thought=f"THOUGHT{i}" if draw(st.booleans()) else None,
            observation=f"OBS{i} " + draw(TEXT) if draw(st.booleans()) else None,
        )
        for i in range(n)
    ]
    return Trajectory(id="g", kind="agent", problem="TASK", system="SYS", segmenter="agent", steps=steps)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(), st.one_of(st.none(), st.integers(0, 8)), st.booleans())
def test_property_targets_are_actions_and_prompts_hold_the_window(traj, window, thoughts):
    records = build(traj, history_window=window, context_thoughts=thoughts)
    for record in records:
        k = record.step_index
        assert record.expert_action == traj.steps[k - 1].action
        assert "THOUGHT" not in record.expert_action and "OBS" not in record.expert_action
        kept = traj.steps[: k - 1] if window is None else traj.steps[max(0, k - 1 - window): k - 1]
        expected = [("system", f"SYS\n\n{INSTRUCTIONS}"), ("user", "TASK")]
        for step in kept:
            action = f"{step.thought}\n\n{step.action}" if thoughts and step.thought else step.action
            expected.append(("assistant", action))
            if step.observation is not None:
                expected.append(("tool", step.observation))
        assert roles_and_contents(record) == expected
