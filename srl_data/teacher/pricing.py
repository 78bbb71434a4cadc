"""Turning token counts into money.

Prices are USD per million tokens. ``--price-input``/``--price-output`` always
win; otherwise a small built-in table covers a few well-known hosted models.
The table is dated: providers change prices, so check theirs before a large
run and pass the prices explicitly when in doubt. A model the table does not
know (a local server, most open models) has no price: costs show as unknown
and ``--max-cost`` asks for explicit prices.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

# Standard (non-batch, uncached input) list prices as published by OpenAI in June 2025.
PRICES_AS_OF = "2025-06"
BUILTIN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}


@dataclass(frozen=True)
class Price:
    """USD per million input (prompt) and output (completion) tokens."""

    input: float
    output: float
    source: str = "options"

    def __post_init__(self) -> None:
        if self.input < 0 or self.output < 0:
            raise ConfigError("prices cannot be negative", hint="check --price-input and --price-output")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


def builtin_price(model: str) -> Price | None:
    """The table's price for ``model``: exact name, or the longest known name it
    starts with followed by ``-`` (dated snapshots such as ``gpt-4o-2024-08-06``);
    a provider prefix such as ``openai/`` is ignored."""
    name = model.rsplit("/", 1)[-1].lower()
    best = None
    for known in BUILTIN_PRICES:
        if name == known or name.startswith(known + "-"):
            if best is None or len(known) > len(best):
                best = known
    if best is None:
        return None
    return Price(*BUILTIN_PRICES[best], source=f"built-in table ({best}, {PRICES_AS_OF})")


def resolve_price(model: str, price_input: float | None, price_output: float | None) -> Price | None:
    """Explicit prices, else the built-in table's, else None (unknown)."""
    if (price_input is None) != (price_output is None):
        raise ConfigError(
            "--price-input and --price-output go together",
            hint="give both, in USD per million tokens",
        )
    if price_input is not None and price_output is not None:
        return Price(price_input, price_output)
    return builtin_price(model)
