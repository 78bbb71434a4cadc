"""Field mappings and named presets for common datasets.

A :class:`FieldMap` says which input column holds what. A preset is a named
FieldMap plus the segmentation defaults that suit the dataset. Adding a preset
is one entry in :data:`PRESETS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import ConfigError


@dataclass(frozen=True)
class FieldMap:
    """Which input field holds the problem, solution, answer, id and thinking."""

    problem: str = "problem"
    solution: str | None = "solution"
    answer: str | None = "answer"
    id: str | None = "id"
    thinking: str | None = None
    # Messages of an agent conversation (OpenAI chat format or SWE-agent history).
    # With messages, a row without the problem field takes its task (and system
    # prompt) from the messages before the first assistant turn.
    messages: str | None = None
    # The answer field holds a GSM8K-style solution whose last line is "#### N".
    answer_from_solution: bool = False

    def override(self, **fields: str | None) -> "FieldMap":
        """A copy with the given (non-None) fields replaced."""
        changes = {k: v for k, v in fields.items() if v is not None}
        return replace(self, **changes)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    fields: FieldMap
    segmenter: str = "auto"
    # Segmenter options switched on by this preset (e.g. GSM8K calculator notes).
    segmenter_options: dict[str, object] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "s1k": Preset(
        name="s1k",
        description="s1K-1.1: question, deepseek_attempt (numbered steps), solution, "
        "deepseek_thinking_trajectory",
        fields=FieldMap(
            problem="question",
            solution="deepseek_attempt",
            answer="solution",
            id=None,
            thinking="deepseek_thinking_trajectory",
        ),
        segmenter="auto",
    ),
    "gsm8k": Preset(
        name="gsm8k",
        description="GSM8K: question, answer (one step a line, last line '#### N')",
        fields=FieldMap(
            problem="question",
            solution="answer",
            answer=None,
            id=None,
            answer_from_solution=True,
        ),
        segmenter="lines",
        segmenter_options={"gsm8k": True},
    ),
    "messages": Preset(
        name="messages",
        description="OpenAI chat messages: system, user (the task), assistant turns with tool_calls, "
        "tool replies; one step per assistant turn",
        fields=FieldMap(solution=None, messages="messages"),
        segmenter="agent",
    ),
    "swe-agent": Preset(
        name="swe-agent",
        description="SWE-agent .traj files (a file, a folder of them, or JSONL of such documents): "
        "history holds the chat; one step per assistant action",
        fields=FieldMap(solution=None, answer=None, id=None, messages="history"),
        segmenter="agent",
    ),
    "react": Preset(
        name="react",
        description="ReAct text: problem, solution holding Thought:/Action:/Observation: blocks",
        fields=FieldMap(thinking="thinking"),
        segmenter="agent",
    ),
    "default": Preset(
        name="default",
        description="problem, solution, answer, id, thinking",
        fields=FieldMap(thinking="thinking"),
    ),
}


def get_preset(name: str | None) -> Preset:
    """The preset called ``name`` (``None`` gives the default field names)."""
    if name is None:
        return PRESETS["default"]
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(p for p in PRESETS if p != "default"))
        raise ConfigError(
            f"unknown preset '{name}'", hint=f"choose one of: {known}"
        ) from None
