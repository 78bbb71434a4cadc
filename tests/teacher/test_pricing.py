"""Prices: explicit options, the dated built-in table, unknown models."""

from __future__ import annotations

import pytest

from srl_data.errors import ConfigError
from srl_data.teacher.pricing import BUILTIN_PRICES, PRICES_AS_OF, Price, builtin_price, resolve_price


def test_cost_per_million() -> None:
    assert Price(2.0, 8.0).cost(1_000_000, 500_000) == pytest.approx(6.0)
    assert Price(0.15, 0.6).cost(1000, 1000) == pytest.approx(0.00075)


@pytest.mark.parametrize(
    ("model", "known"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("openai/gpt-4.1-nano", "gpt-4.1-nano"),
    ],
)
def test_builtin_table_matches_snapshots_and_prefixes(model: str, known: str) -> None:
    price = builtin_price(model)
    assert price is not None
    assert (price.input, price.output) == BUILTIN_PRICES[known]
    assert PRICES_AS_OF in price.source


@pytest.mark.parametrize("model", ["Qwen/Qwen2.5-7B-Instruct", "gpt-4", "gpt-4omni", "smollm2"])
def test_unknown_models_have_no_price(model: str) -> None:
    assert builtin_price(model) is None


def test_explicit_prices_win_and_go_together() -> None:
    price = resolve_price("gpt-4o", 1.0, 2.0)
    assert (price.input, price.output, price.source) == (1.0, 2.0, "options")
    with pytest.raises(ConfigError, match="--price-input and --price-output go together"):
        resolve_price("gpt-4o", 1.0, None)
    with pytest.raises(ConfigError, match="negative"):
        resolve_price("x", -1.0, 1.0)
