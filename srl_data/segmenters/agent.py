"""``agent``: one step per assistant turn of an agent trajectory.

Input is a solution's ``messages`` (OpenAI chat format or SWE-agent history)
or, without messages, ReAct text in its ``solution`` (see
:mod:`srl_data.conversations`). For each assistant turn:

- ``action``: its tool call(s) in the ``action_format`` (see
  :mod:`srl_data.actions`), else the command it wrote, else its reply text;
- ``thought``: its natural-language reasoning and ``<think>`` blocks (never
  part of the action);
- ``observation``: the tool output(s) that answered it (context, never a target).

Several calls in one turn stay one step unless ``split_parallel_calls`` is on:
then each call is a step with the output answering that call, and the turn's
thought goes with the first. A conversation that cannot be read raises a
:class:`~srl_data.conversations.ConversationError`, counted as a reject.
"""

from __future__ import annotations

from ..actions import DEFAULT_ACTION_FORMAT, get_action_format, render_action
from ..conversations import AgentTurn, Observation, parse_messages, parse_react
from ..models import Solution, Step
from .base import Segmented, Segmenter, register


def _joined(observations: list[Observation]) -> str | None:
    return "\n\n".join(o.content for o in observations) if observations else None


@register
class AgentSegmenter(Segmenter):
    name = "agent"
    kind = "agent"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.format = get_action_format(str(options.get("action_format") or DEFAULT_ACTION_FORMAT))
        self.split_parallel_calls = bool(options.get("split_parallel_calls", False))

    def segment(self, solution: Solution) -> Segmented:
        if solution.messages is not None:
            conversation = parse_messages(solution.messages)
        else:
            conversation = parse_react(solution.solution or "")
        steps: list[Step] = []
        for turn in conversation.turns:
            steps.extend(self.turn_steps(turn))
        return Segmented(
            steps=steps,
            rule=self.name,
            preamble=conversation.preamble,
            notes={"assistant_turns": len(conversation.turns)},
        )

    def turn_steps(self, turn: AgentTurn) -> list[Step]:
        if not (self.split_parallel_calls and len(turn.calls) > 1):
            action = render_action(self.format, turn.calls, turn.command, turn.text)
            return [Step(action=action, thought=turn.thought, observation=_joined(turn.observations))]
        # One step per call; an output goes to the call it names, else to the last call.
        by_id: dict[str, list[Observation]] = {}
        unmatched: list[Observation] = []
        ids = {call.id for call in turn.calls if call.id is not None}
        for observation in turn.observations:
            if observation.call_id in ids:
                by_id.setdefault(observation.call_id, []).append(observation)  # type: ignore[arg-type]
            else:
                unmatched.append(observation)
        steps = []
        last = len(turn.calls) - 1
        for index, call in enumerate(turn.calls):
            observations = by_id.pop(call.id, []) if call.id is not None else []
            if index == last:
                observations += unmatched
            steps.append(
                Step(
                    action=render_action(self.format, [call], None, None),
                    thought=turn.thought if index == 0 else None,
                    observation=_joined(observations),
                )
            )
        return steps
