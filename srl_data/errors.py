"""Typed errors raised by the library.

Every error srl-data raises on purpose derives from :class:`SrlDataError`. The
command-line layer turns one into a single line on stderr (``str(err)``) and
exits with ``err.exit_code``; anything else is a bug and keeps its traceback.

The message says what went wrong, where (file:line, field) and how to fix it.
"""

from __future__ import annotations


class SrlDataError(Exception):
    """Base class of every error srl-data raises deliberately."""

    exit_code: int = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.hint = hint

    @property
    def where(self) -> str:
        """``file:line`` (or just ``file``) where the problem is, or ''."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)

    def __str__(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}:")
        if self.field is not None:
            parts.append(f"field '{self.field}':")
        parts.append(self.message.rstrip("."))
        text = " ".join(parts) + "."
        if self.hint:
            hint = self.hint.rstrip(".")
            text += f" {hint[:1].upper()}{hint[1:]}."
        return text


class InputError(SrlDataError):
    """The input is missing, unreadable, malformed or lacks a field."""


class ConfigError(SrlDataError):
    """Options or a config file are invalid or contradict each other."""


class OutputError(SrlDataError):
    """The output cannot be written."""


class SegmentationError(SrlDataError):
    """A solution cannot be split into steps (usually counted as a reject).

    ``reason`` is the short name the reject is counted under.
    """

    def __init__(self, message: str, *, reason: str = "unsegmentable", **where: object) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.reason = reason


class TeacherError(SrlDataError):
    """A teacher (chat-completions) call failed for good."""

    exit_code = 1


class HubError(SrlDataError):
    """Publishing to the Hugging Face Hub failed."""

    exit_code = 1


class MissingDependencyError(SrlDataError):
    """An optional dependency is not installed; the hint gives the command."""
