"""Prompt templates: files in ``prompts/`` (TOML), loaded by name or path.

A template file has an ``id``, and text parts such as ``system`` and ``user``
with ``{placeholders}``; other keys are template-specific strings. Every
record carries the template's id and a hash of the file's text, so a change
to a template is visible in the data.

Rendering returns *pieces* (literal text and values, in order) rather than one
string, so token counts can be summed piece by piece (see :mod:`.tokens`).
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

TEMPLATE_SUFFIX = ".toml"


def prompts_dir() -> Path:
    """Where the bundled templates live: inside the installed package (wheel),
    or the repository's top-level ``prompts/`` (source checkout, editable)."""
    packaged = resources.files("srl_data") / "prompts"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "prompts"


def available_templates() -> list[str]:
    return sorted(p.stem for p in prompts_dir().glob(f"*{TEMPLATE_SUFFIX}"))


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    name: str
    path: str
    hash: str
    parts: dict[str, Any] = field(hash=False)

    def text(self, part: str) -> str | None:
        value = self.parts.get(part)
        return value if isinstance(value, str) else None

    def fields(self, part: str) -> set[str]:
        text = self.text(part) or ""
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    def pieces(self, part: str, values: dict[str, str | list[str]]) -> list[str]:
        """The part rendered as a list of pieces whose concatenation is the text.

        A value may be a list of pieces itself (kept apart, in order).
        """
        text = self.text(part)
        if text is None:
            raise ConfigError(f"template '{self.name}' has no '{part}' text", path=self.path)
        out: list[str] = []
        for literal, name in _parse_format(text):
            if literal:
                out.append(literal)
            if name is None:
                continue
            if name not in values:
                raise ConfigError(
                    f"template uses an unknown placeholder {{{name}}}",
                    path=self.path,
                    hint=f"use only: {', '.join('{' + k + '}' for k in sorted(values))}",
                )
            value = values[name]
            if isinstance(value, str):
                if value:
                    out.append(value)
            else:
                out.extend(v for v in value if v)
        return out

    def render(self, part: str, values: dict[str, str | list[str]]) -> str:
        return "".join(self.pieces(part, values))


@lru_cache(maxsize=256)
def _parse_format(text: str) -> tuple[tuple[str, str | None], ...]:
    """(literal text, placeholder name or None) pairs of a format string, parsed once."""
    return tuple((literal, name) for literal, name, _, _ in string.Formatter().parse(text))


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=64)
def load_template(name_or_path: str) -> PromptTemplate:
    """Load a bundled template by name (``srl_step``) or any template file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == TEMPLATE_SUFFIX or candidate.exists():
        path = candidate
    else:
        path = prompts_dir() / f"{name_or_path}{TEMPLATE_SUFFIX}"
    if not path.is_file():
        raise ConfigError(
            f"no prompt template '{name_or_path}'",
            hint=f"use a template file path or one of: {', '.join(available_templates())}",
        )
    text = path.read_text(encoding="utf-8")
    try:
        parts = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"template is not valid TOML ({exc})", path=str(path)) from None
    template_id = parts.get("id")
    if not isinstance(template_id, str) or not template_id:
        raise ConfigError("template has no 'id'", path=str(path), hint='add a line such as id = "my-template-v1"')
    return PromptTemplate(id=template_id, name=path.stem, path=str(path), hash=_hash_text(text), parts=parts)
