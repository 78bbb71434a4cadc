"""TokenCounter and PieceCount: counts are exact however texts are cut, cached or shared."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from srl_data.tokens import PieceCount, TokenCounter, load_encoding

ENCODING = load_encoding()


def n_tokens(text: str) -> int:
    return len(ENCODING.encode_ordinary(text))


# Fragments that meet at tricky pre-token boundaries: spaces after words and
# punctuation, newlines, tabs, contractions, digits, non-breaking and wide spaces.
FRAGMENT = st.sampled_from(
    list("ab Z09\n\r\t.,:;'!?-$\\{}é中🙂\u00a0\u3000") + ["  ", "\n\n", "'s", " \n", "123", " x", "$.", " $x_1 = 5$."]
)
TEXT = st.lists(FRAGMENT, max_size=12).map("".join)


@settings(max_examples=500)
@given(TEXT, st.sampled_from(["", "\n\n", "\n", " ", "\n\nWrite step 3.\n", ".\n\n"]))
def test_a_text_alone_and_with_a_suffix_share_a_cache_and_both_count_exactly(text, suffix):
    counter = TokenCounter(cache_size=32)
    for _ in range(2):  # the second round is answered from the cache
        assert counter.count(text) == n_tokens(text)
        assert counter.count(text + suffix) == n_tokens(text + suffix)
        assert counter.count_pieces([text, suffix]) == n_tokens(text + suffix)


@settings(max_examples=300)
@given(st.lists(TEXT, max_size=6), st.lists(TEXT, min_size=1, max_size=4), st.lists(TEXT, max_size=4))
def test_piece_count_copies_branch_without_changing_the_count(head, steps, tail):
    counter = TokenCounter(cache_size=64)
    shared = PieceCount(counter).add(head)
    states = [shared]
    for step in steps:
        states.append(states[-1].copy().add([step]))
    for j, state in enumerate(states):
        pieces = [*head, *steps[:j], *tail]
        assert state.copy().add(tail).value() == n_tokens("".join(pieces))
        # The branch did not move the state it was copied from.
        assert state.value() == n_tokens("".join([*head, *steps[:j]]))


def test_piece_count_is_what_count_pieces_gives():
    counter = TokenCounter()
    pieces = ["Problem:\n", "What is 2+2?", "\n\nSteps so far:\n", "1. Add.\n\n", "2. Done.", "\n\nWrite step 3.\n"]
    assert PieceCount(counter).add(pieces).value() == counter.count_pieces(pieces) == n_tokens("".join(pieces))
    assert PieceCount(counter).value() == 0
