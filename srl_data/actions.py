"""Canonical text forms of an agent's action (``--action-format``).

An agent turn acts by tool calls, by a command it wrote as text (SWE-agent's
``action``, a ReAct ``Action:`` line) or, with neither, by its reply text (a
final answer). The action format says how tool calls become the step's
action text, the target a policy learns to write:

- ``function-xml`` (default, the form the SRL paper rewards):
  ``<function=NAME><parameter=KEY>VALUE</parameter></function>``, one call a
  line; string values verbatim, others as JSON;
- ``json``: ``{"name": NAME, "arguments": {...}}``, one call a line;
- ``raw``: the command the agent wrote itself when the turn has one (e.g.
  SWE-agent's ``action``), else the ``json`` form.

A command written as text, with no structured call, stays as written in every
format: nothing is invented. Add a format: one function in :data:`ACTION_FORMATS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .conversations import ToolCall
from .errors import ConfigError

DEFAULT_ACTION_FORMAT = "function-xml"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def function_xml(calls: Sequence[ToolCall], command: str | None) -> str:
    return "\n".join(
        f"<function={call.name}>"
        + "".join(f"<parameter={key}>{_value(value)}</parameter>" for key, value in call.arguments.items())
        + "</function>"
        for call in calls
    )


def json_calls(calls: Sequence[ToolCall], command: str | None) -> str:
    return "\n".join(
        json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False) for call in calls
    )


def raw(calls: Sequence[ToolCall], command: str | None) -> str:
    return command if command is not None else json_calls(calls, command)


ActionFormat = Callable[[Sequence[ToolCall], "str | None"], str]

ACTION_FORMATS: dict[str, ActionFormat] = {"function-xml": function_xml, "json": json_calls, "raw": raw}


def get_action_format(name: str) -> ActionFormat:
    try:
        return ACTION_FORMATS[name]
    except KeyError:
        raise ConfigError(
            f"unknown --action-format '{name}'", hint=f"choose one of: {', '.join(ACTION_FORMATS)}"
        ) from None


def render_action(format: ActionFormat, calls: Sequence[ToolCall], command: str | None, text: str | None) -> str:
    """The action text of one turn (or of one call of it, with ``command=None``)."""
    if calls:
        return format(calls, command)
    if command is not None:
        return command
    return text or ""
