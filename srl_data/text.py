"""Small text helpers shared by readers, segmenters and builders."""

from __future__ import annotations

import re

_THINK_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)


def split_thinking(text: str) -> tuple[str, str | None]:
    """Split ``text`` into (text without thinking, thinking or None).

    Handles complete ``<think>…</think>`` blocks anywhere, a reply that only
    closes (``…</think> answer``, as some servers strip the opening tag), and
    an opening tag that is never closed (the rest of the text is thinking).
    Thinking never stays in the returned text.
    """
    thoughts: list[str] = []

    def _take(match: re.Match[str]) -> str:
        thoughts.append(match.group(1).strip())
        return "\n"

    rest = _THINK_BLOCK.sub(_take, text)
    closes = list(_THINK_CLOSE.finditer(rest))
    if closes:  # closing tag(s) without an opening one: all before the last is thinking
        thoughts.insert(0, _THINK_CLOSE.sub("\n", rest[: closes[-1].start()]).strip())
        rest = rest[closes[-1].end():]
    opening = _THINK_OPEN.search(rest)
    if opening is not None:  # opening tag never closed
        thoughts.append(rest[opening.end():].strip())
        rest = rest[: opening.start()]
    thinking = "\n\n".join(t for t in thoughts if t)
    return rest.strip(), (thinking or None)


def join_thinking(*parts: str | None) -> str | None:
    """Join non-empty pieces of thinking with a blank line, or None."""
    kept = [p.strip() for p in parts if p and p.strip()]
    return "\n\n".join(kept) if kept else None


_WS = re.compile(r"\s+")


def normalize_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return _WS.sub(" ", text).strip()
