"""Step records: targets conventions, title hint, prompt contents, exact token counts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srl_data.errors import ConfigError
from srl_data.models import SCHEMA_VERSION, Step, Trajectory
from srl_data.prompts import load_template
from srl_data.records import StepRecordBuilder, StepRecordOptions, target_indices
from srl_data.tokens import TokenCounter, load_encoding

ENCODING = load_encoding()


def n_tokens(text: str) -> int:
    return len(ENCODING.encode_ordinary(text))


def trajectory(n: int = 4, **extra) -> Trajectory:
    steps = [
        Step(action=f"{k}. **Title {k}** body of step {k}.", title=f"Title {k}", body=f"body of step {k}.")
        for k in range(1, n + 1)
    ]
    return Trajectory(id="t1", problem="  What is the answer?  ", answer="42", segmenter="numbered", steps=steps,
                      source="in.jsonl", **extra)


@pytest.fixture(scope="module")
def counter():
    return TokenCounter()


def build(options: StepRecordOptions, traj: Trajectory, counter: TokenCounter):
    return list(StepRecordBuilder(options, counter).build(traj))


@pytest.mark.parametrize(
    "targets, indices",
    [("all", [1, 2, 3, 4]), ("skip-first", [2, 3, 4]), ("skip-last", [1, 2, 3])],
)
def test_targets_conventions(counter, targets, indices):
    records = build(StepRecordOptions(targets=targets), trajectory(4), counter)
    assert [r.step_index for r in records] == indices
    assert {r.num_steps for r in records} == {4}
    assert [r.id for r in records] == [f"t1-s{k}" for k in indices]
    assert all(r.metadata.targets == targets for r in records)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_target_counts(n):
    assert len(target_indices(n, "all")) == n
    assert len(target_indices(n, "skip-first")) == n - 1
    assert len(target_indices(n, "skip-last")) == n - 1


def test_unknown_targets():
    with pytest.raises(ConfigError) as info:
        StepRecordOptions(targets="first")
    assert str(info.value) == "unknown --targets 'first'. Choose one of: all, skip-first, skip-last."


def test_record_fields_and_prompt_contents(counter):
    records = build(StepRecordOptions(), trajectory(3), counter)
    third = records[2]
    assert third.trajectory_id == "t1" and third.problem == "  What is the answer?  " and third.answer == "42"
    assert third.previous_steps == ["1. **Title 1** body of step 1.", "2. **Title 2** body of step 2."]
    assert third.expert_action == "3. **Title 3** body of step 3."
    assert third.step_title == "Title 3"
    template = load_template("srl_step")
    assert [m.role for m in third.prompt] == ["system", "user"]
    assert third.prompt[0].content == template.text("system")
    assert third.prompt[1].content == (
        "Problem:\nWhat is the answer?\n\nSteps so far:\n"
        "1. **Title 1** body of step 1.\n\n2. **Title 2** body of step 2.\n\nWrite step 3.\n"
    )
    # The target is never in the prompt.
    assert "body of step 3" not in third.prompt[1].content
    assert "(none yet)" in records[0].prompt[1].content
    meta = third.metadata
    assert (meta.segmenter, meta.template_id, meta.template_hash, meta.schema_version, meta.source) == (
        "numbered", template.id, template.hash, SCHEMA_VERSION, "in.jsonl"
    )


def test_title_hint_target_is_the_body_and_the_prompt_ends_with_number_and_title(counter):
    records = build(StepRecordOptions(title_hint=True), trajectory(3), counter)
    for k, record in enumerate(records, start=1):
        assert record.expert_action == f"body of step {k}."
        assert record.prompt[-1].content.endswith(f"\n{k}. Title {k}")
        assert record.metadata.title_hint is True
        assert record.metadata.template_id == "srl-step-title-hint-v1"
    # Earlier steps stay whole in the context.
    assert records[2].previous_steps == ["1. **Title 1** body of step 1.", "2. **Title 2** body of step 2."]


def test_title_hint_for_a_step_without_title_says_untitled_and_targets_the_body(counter):
    steps = [Step(action="1. Add 2 and 3.", body="Add 2 and 3."), Step(action="2. Get 5.", body="Get 5.")]
    traj = Trajectory(id="t2", problem="Sum?", segmenter="numbered", steps=steps)
    records = build(StepRecordOptions(title_hint=True), traj, counter)
    assert [r.expert_action for r in records] == ["Add 2 and 3.", "Get 5."]
    assert records[1].prompt[-1].content.endswith("\n2. (untitled)")
    assert records[1].prompt_tokens == sum(n_tokens(m.content) for m in records[1].prompt)


def test_token_counts_equal_tiktoken_on_the_rendered_text(counter):
    for options in (StepRecordOptions(), StepRecordOptions(title_hint=True)):
        for record in build(options, trajectory(6), counter):
            assert record.prompt_tokens == sum(n_tokens(m.content) for m in record.prompt)
            assert record.target_tokens == n_tokens(record.expert_action)


def test_max_prompt_tokens_drops_and_counts(counter):
    builder = StepRecordBuilder(StepRecordOptions(), counter)
    everything = list(builder.build(trajectory(6)))
    limit = sorted(r.prompt_tokens for r in everything)[2]
    builder = StepRecordBuilder(StepRecordOptions(max_prompt_tokens=limit), counter)
    kept = list(builder.build(trajectory(6)))
    assert [r.step_index for r in kept] == [1, 2, 3]
    assert all(r.prompt_tokens <= limit for r in kept)
    assert builder.too_long == 3


def test_custom_template_file(tmp_path, counter):
    path = tmp_path / "mine.toml"
    path.write_text('id = "mine-v1"\nuser = "Q: {problem}\\nSo far: {previous_steps}\\nNext: {next_step_number}"\n')
    records = build(StepRecordOptions(template=str(path)), trajectory(2), counter)
    assert [m.role for m in records[1].prompt] == ["user"]
    assert records[1].prompt[0].content == "Q: What is the answer?\nSo far: 1. **Title 1** body of step 1.\nNext: 2"
    assert records[1].metadata.template_id == "mine-v1"
    assert records[1].prompt_tokens == n_tokens(records[1].prompt[0].content)


@pytest.mark.parametrize(
    "user",
    [
        "Q: {problem}\\nSo far:\\n{previous_steps}\\nNext: {next_step_number}. {next_step_title}",
        "Step {next_step_number} ({next_step_title}) of {problem}:\\n{previous_steps}\\n",  # values before the steps
        "{previous_steps}\\n---\\n{previous_steps}\\n{problem}",  # the steps twice
        "{problem} next {next_step_number}",  # no steps at all
        "{previous_steps}",  # nothing else
    ],
)
def test_any_template_layout_renders_like_str_format_with_exact_counts(tmp_path, counter, user):
    path = tmp_path / "layout.toml"
    path.write_text(f'id = "layout-v1"\nsystem = "Be brief."\nno_previous_steps = "(none)"\nuser = "{user}"\n')
    traj = trajectory(5)
    traj.steps[2] = Step(action="3. Untitled step.\n   1. a nested item", body="Untitled step.")
    text = load_template(str(path)).text("user")
    for record in build(StepRecordOptions(template=str(path)), traj, counter):
        k = record.step_index
        earlier = "\n\n".join(s.action for s in traj.steps[: k - 1]) or "(none)"
        expected = text.format(problem=traj.problem.strip(), previous_steps=earlier, next_step_number=k,
                               next_step_title=traj.steps[k - 1].title or "")
        assert [m.content for m in record.prompt] == ["Be brief.", expected]
        assert record.prompt_tokens == n_tokens("Be brief.") + n_tokens(expected)
        assert record.target_tokens == n_tokens(record.expert_action)


def test_bad_template_placeholder(tmp_path, counter):
    path = tmp_path / "bad.toml"
    path.write_text('id = "bad"\nuser = "{problem} {nonsense}"\n')
    with pytest.raises(ConfigError, match=r"template uses an unknown placeholder \{nonsense\}"):
        build(StepRecordOptions(template=str(path)), trajectory(2), counter)


# ---------------------------------------------------------------------------
# TokenCounter.count_pieces is exact for any split of any text.

# Fragments that meet at tricky pre-token boundaries: newlines, spaces, contractions, digits.
PIECE = st.lists(st.sampled_from(list("ab Z09\n\r\t.,:;'!?-$\\{}é中🙂") + ["  ", "\n\n", "'s", " \n", "123"]),
                 max_size=8).map("".join)


@settings(max_examples=500)
@given(st.lists(PIECE, max_size=12))
def test_count_pieces_equals_counting_the_joined_text(pieces):
    counter = TokenCounter(cache_size=16)
    assert counter.count_pieces(pieces) == n_tokens("".join(pieces))
    # Again, with the counts cached.
    assert counter.count_pieces(pieces) == n_tokens("".join(pieces))


@settings(max_examples=200)
@given(st.lists(st.text(max_size=30), max_size=8))
def test_count_pieces_with_any_unicode(pieces):
    assert TokenCounter().count_pieces(pieces) == n_tokens("".join(pieces))


def test_token_cache_stays_bounded():
    counter = TokenCounter(cache_size=50)
    for i in range(500):
        assert counter.count(f"line {i}\nnext {i}\n") == n_tokens(f"line {i}\nnext {i}\n")
    assert len(counter._cache) <= 51
