"""Agent conversations in one shape, whatever form they came in.

An agent trajectory arrives as OpenAI chat ``messages`` (``--preset messages``),
as SWE-agent's ``history`` (``--preset swe-agent``, ``.traj`` files) or as
ReAct text (``Thought:`` / ``Action:`` / ``Observation:`` blocks). The parsers
here turn each into a :class:`Conversation`: the system prompt, the task, and
one :class:`AgentTurn` per assistant turn with its thought, its tool calls (or
the command it wrote, or its reply text) and the observations that answered it.

What real data holds and is handled:

- ``tool_calls`` / ``tool_call_ids`` stored as a Python-repr string instead of
  JSON (seen in SWE-agent files): read with :func:`ast.literal_eval`, which
  evaluates literals only;
- call ``arguments`` given as a JSON string, an empty string or an object;
- the legacy single ``function_call`` field and ``function`` role replies;
- ``content`` given as a list of text parts;
- reasoning in ``reasoning_content``, ``<think>`` blocks or SWE-agent's
  ``thought``: all of it goes to the turn's thought, never to its action;
- SWE-agent demonstration messages (``is_demo``): left out.

What cannot be handled raises :class:`ConversationError`, a
:class:`~srl_data.errors.SegmentationError` whose ``reason`` names the problem
(``no_assistant_turn``, ``orphan_tool_reply``, ``bad_tool_arguments``,
``bad_tool_call``, ``bad_message``, ``empty_action``, ``no_action``); the
segment stage counts it as a reject.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import SegmentationError
from .text import join_thinking, split_thinking


class ConversationError(SegmentationError):
    """An agent conversation that cannot be read; ``reason`` names the problem."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass
class Observation:
    content: str
    call_id: str | None = None


@dataclass
class AgentTurn:
    """One assistant turn. ``position`` is its 1-based message (or block) number."""

    position: int
    thought: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    # The command the agent wrote as text (SWE-agent's ``action``, ReAct's ``Action:``).
    command: str | None = None
    # The reply text of a turn that makes no call and writes no command.
    text: str | None = None
    observations: list[Observation] = field(default_factory=list)


@dataclass
class Conversation:
    system: str | None
    task: str | None
    turns: list[AgentTurn]
    preamble: str | None = None


# ---------------------------------------------------------------------------
# Small readers for the fields of one message.


def content_text(value: Any, where: str) -> str | None:
    """The text of a message ``content``: a string, or a list of text parts."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        texts: list[str] = []
        for part in value:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ConversationError("bad_message", f"{where}: content part of type '{kind}' is not text")
        return "".join(texts)
    raise ConversationError("bad_message", f"{where}: content is {type(value).__name__}, not text")


def _literal(value: Any, where: str, what: str) -> Any:
    """A field that should be a list but may be stored as JSON or Python-repr text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return []
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ConversationError("bad_tool_call", f"{where}: {what} is text that is neither JSON nor a Python literal")


def parse_arguments(value: Any, where: str) -> dict[str, Any]:
    """Call arguments: an object, or a JSON string holding one (empty means none)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ConversationError("bad_tool_arguments", f"{where}: arguments are {type(value).__name__}, not a JSON object")
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConversationError(
            "bad_tool_arguments", f"{where}: arguments are not JSON ({exc.msg} at column {exc.colno})"
        ) from None
    except RecursionError:
        raise ConversationError("bad_tool_arguments", f"{where}: arguments are JSON nested too deeply") from None
    if not isinstance(parsed, dict):
        raise ConversationError(
            "bad_tool_arguments", f"{where}: arguments are a JSON {type(parsed).__name__}, not an object"
        )
    return parsed


def _one_call(item: Any, where: str) -> ToolCall:
    if not isinstance(item, dict):
        raise ConversationError("bad_tool_call", f"{where}: a tool call is {type(item).__name__}, not an object")
    kind = item.get("type", "function")
    if kind != "function":
        raise ConversationError("bad_tool_call", f"{where}: tool call of type '{kind}' is not supported")
    function = item.get("function", item)  # some exports put name/arguments at the top
    if not isinstance(function, dict):
        raise ConversationError("bad_tool_call", f"{where}: 'function' is {type(function).__name__}, not an object")
    name = function.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConversationError("bad_tool_call", f"{where}: a tool call has no function name")
    call_id = item.get("id")
    return ToolCall(
        name=name.strip(),
        arguments=parse_arguments(function.get("arguments"), f"{where}: call '{name.strip()}'"),
        id=str(call_id) if call_id is not None else None,
    )


def parse_tool_calls(message: dict[str, Any], where: str) -> list[ToolCall]:
    """The calls of an assistant message (``tool_calls`` and legacy ``function_call``)."""
    raw = _literal(message.get("tool_calls"), where, "tool_calls")
    calls: list[ToolCall] = []
    if raw is not None:
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            raise ConversationError("bad_tool_call", f"{where}: tool_calls is {type(raw).__name__}, not a list")
        calls.extend(_one_call(item, where) for item in raw)
    legacy = message.get("function_call")
    if legacy is not None:
        calls.append(_one_call({"function": legacy}, where))
    return calls


def _reply_ids(message: dict[str, Any], where: str) -> list[str]:
    ids: list[str] = []
    single = message.get("tool_call_id")
    if single is not None:
        ids.append(str(single))
    many = _literal(message.get("tool_call_ids"), where, "tool_call_ids")
    if many is not None:
        if not isinstance(many, list):
            many = [many]
        ids.extend(str(i) for i in many if i is not None and str(i) not in ids)
    return ids


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# ---------------------------------------------------------------------------
# OpenAI messages and SWE-agent history


def _assistant_turn(message: dict[str, Any], position: int) -> AgentTurn:
    where = f"message {position}"
    content = content_text(message.get("content"), where) or ""
    calls = parse_tool_calls(message, where)
    command = _text_or_none(message.get("action"))  # SWE-agent writes its command here
    if command is not None:
        command = command.strip()
    reasoning = _text_or_none(message.get("reasoning_content")) or _text_or_none(message.get("reasoning"))
    if isinstance(message.get("thought"), str):
        # SWE-agent: ``content`` is the thought plus the command; ``thought`` is the reasoning alone.
        natural, think = split_thinking(message["thought"])
        text = None
    else:
        text, think = split_thinking(content)
        natural = text if (calls or command) else None
    turn = AgentTurn(position=position, thought=join_thinking(reasoning, think, natural), calls=calls, command=command)
    if not calls and command is None:
        if not text:
            raise ConversationError(
                "empty_action", f"{where}: assistant turn has no tool call, no command and no text outside <think>"
            )
        turn.text = text
    return turn


def parse_messages(messages: list[Any]) -> Conversation:
    """Read OpenAI chat messages or SWE-agent history.

    Messages before the first assistant turn give the system prompt and the
    task; every later ``tool``/``function``/``user``/``system`` message is an
    observation of the assistant turn it answers (by call id when it has one,
    else the latest turn).
    """
    system: list[str] = []
    task: list[str] = []
    turns: list[AgentTurn] = []
    by_call_id: dict[str, AgentTurn] = {}
    roles: list[str] = []
    for position, message in enumerate(messages, start=1):
        where = f"message {position}"
        if not isinstance(message, dict):
            raise ConversationError("bad_message", f"{where} is {type(message).__name__}, not an object")
        if message.get("is_demo"):
            continue
        role = message.get("role")
        roles.append(str(role))
        if role == "assistant":
            turn = _assistant_turn(message, position)
            turns.append(turn)
            for call in turn.calls:
                if call.id is not None:
                    by_call_id[call.id] = turn
        elif role in ("tool", "function"):
            content = content_text(message.get("content"), where) or ""
            ids = _reply_ids(message, where)
            if not turns:
                raise ConversationError("orphan_tool_reply", f"{where}: a tool reply comes before any assistant turn")
            if not ids:
                turns[-1].observations.append(Observation(content))
                continue
            owner = by_call_id.get(ids[0])
            if owner is None or any(i not in by_call_id for i in ids):
                missing = next(i for i in ids if i not in by_call_id)
                raise ConversationError(
                    "orphan_tool_reply", f"{where}: tool reply to call id '{missing}', which no assistant turn made"
                )
            owner.observations.append(Observation(content, ids[0] if len(ids) == 1 else None))
        elif role in ("user", "system"):
            content = content_text(message.get("content"), where) or ""
            if turns:
                turns[-1].observations.append(Observation(content))
            elif content.strip():
                (system if role == "system" else task).append(content.strip())
        else:
            raise ConversationError("bad_message", f"{where}: unknown role {role!r}")
    if not turns:
        seen = ", ".join(dict.fromkeys(roles)) or "none"
        raise ConversationError(
            "no_assistant_turn", f"the messages hold no assistant turn ({len(messages)} messages, roles: {seen})"
        )
    return Conversation(
        system="\n\n".join(system) or None, task="\n\n".join(task) or None, turns=turns
    )


def system_and_task(messages: list[Any]) -> tuple[str | None, str | None]:
    """The system prompt and the task: the system and user messages before the
    first assistant turn (cheap; used by the reader before segmentation)."""
    system: list[str] = []
    task: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("is_demo"):
            continue
        role = message.get("role")
        if role == "assistant":
            break
        if role not in ("system", "user"):
            continue
        try:
            text = content_text(message.get("content"), "")
        except ConversationError:
            continue  # the segment stage reports it
        if text and text.strip():
            (system if role == "system" else task).append(text.strip())
    return "\n\n".join(system) or None, "\n\n".join(task) or None


# ---------------------------------------------------------------------------
# ReAct text

_LABEL = re.compile(
    r"^[ \t]*(?:\*\*)?(?P<label>thought|action input|action|observation|final answer)(?:[ \t]*\d+)?(?:\*\*)?"
    r"[ \t]*:(?:\*\*)?[ \t]?(?P<rest>.*)$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*(```|~~~)")


def _react_blocks(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    preamble: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    in_code = False
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        match = None if in_code else _LABEL.match(line)
        if _FENCE.match(match.group("rest") if match is not None else line):
            in_code = not in_code
        if match is not None:
            blocks.append((match.group("label").lower(), [match.group("rest")]))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            preamble.append(line)
    return preamble, blocks


def parse_react(text: str) -> Conversation:
    """Read ReAct text: ``Thought:``, ``Action:`` (optionally ``Action Input:``),
    ``Observation:`` and ``Final Answer:`` blocks (numbered labels such as
    ``Thought 2:`` too; labels inside fenced code are text)."""
    preamble, blocks = _react_blocks(text)
    turns: list[AgentTurn] = []
    thoughts: list[str] = []
    previous = ""
    for number, (label, lines) in enumerate(blocks, start=1):
        value = "\n".join(lines).strip()
        if label == "thought":
            thoughts.append(value)
        elif label in ("action", "final answer"):
            turn = AgentTurn(position=number, thought=join_thinking(*thoughts))
            if label == "action":
                turn.command = value
            else:
                turn.text = value
            if not value:
                raise ConversationError("empty_action", f"ReAct block {number}: '{label}' is empty")
            turns.append(turn)
            thoughts = []
        elif label == "action input":
            if previous != "action":
                raise ConversationError("bad_message", f"ReAct block {number}: 'Action Input' does not follow an 'Action'")
            turn = turns[-1]
            name = turn.command or ""
            try:
                parsed = json.loads(value) if value else {}
            except json.JSONDecodeError:
                parsed = None
            arguments = parsed if isinstance(parsed, dict) else {"input": value}
            turn.calls = [ToolCall(name=name, arguments=arguments)]
            turn.command = f"{name}\nAction Input: {value}"
        elif label == "observation":
            if not turns:
                raise ConversationError("orphan_tool_reply", f"ReAct block {number}: an Observation comes before any Action")
            turns[-1].observations.append(Observation(value))
        previous = label
    if not turns:
        raise ConversationError("no_action", "the ReAct text holds no 'Action:' or 'Final Answer:' line")
    return Conversation(system=None, task=None, turns=turns, preamble="\n".join(preamble).strip() or None)
