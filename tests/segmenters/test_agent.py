"""agent: one step per assistant turn; actions are tool calls (or the command,
or the reply text), thoughts and observations never part of an action."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srl_data.actions import function_xml, json_calls
from srl_data.conversations import ToolCall, parse_messages
from srl_data.errors import ConfigError
from srl_data.models import Reject, Solution, Trajectory
from srl_data.presets import get_preset
from srl_data.readers import read_rows, to_solution
from srl_data.segmenters import get_segmenter
from srl_data.trajectories import Segmentation, SegmentOptions

SWE_AGENT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "swe-agent"
TRAJ_FILES = sorted(SWE_AGENT.glob("*.traj"))
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent_messages.jsonl"


def agent(messages=None, text=None, **options):
    solution = Solution(id="t", problem="task", messages=messages, solution=text)
    return get_segmenter("agent", **options).segment(solution)


def segment_or_reject(messages, **options) -> Trajectory | Reject:
    segmentation = Segmentation(SegmentOptions(segmenter="agent", min_steps=1, **options))
    return segmentation.segment(Solution(id="t", problem="task", messages=messages, location="in.jsonl:3"))


def call(id_, name, arguments):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


# ---------------------------------------------------------------------------
# The real SWE-agent files


def test_there_are_three_real_traj_files():
    assert [p.name for p in TRAJ_FILES] == [
        "function_calling_simple.traj", "humanevalfix-python-0.traj", "networking_1.traj"
    ]


def _history(path):
    return json.loads(path.read_text(encoding="utf-8"))["history"]


@pytest.mark.parametrize("path", TRAJ_FILES, ids=lambda p: p.stem)
def test_real_traj_one_step_per_assistant_action_matching_the_files_actions(path):
    history = _history(path)
    assistant = [m for m in history if m["role"] == "assistant"]
    result = agent(history, action_format="raw")
    assert [s.action for s in result.steps] == [m["action"].strip() for m in assistant]
    assert [s.thought for s in result.steps] == [m["thought"].strip() for m in assistant]
    # The observation of each step is the message right after it (if any).
    following = []
    for index, message in enumerate(history):
        if message["role"] == "assistant":
            nxt = history[index + 1] if index + 1 < len(history) else None
            following.append(nxt["content"] if nxt is not None else None)
    assert [s.observation for s in result.steps] == following
    document = json.loads(path.read_text(encoding="utf-8"))
    if "trajectory" in document:  # the file's own step list agrees
        assert [s.action for s in result.steps] == [t["action"].strip() for t in document["trajectory"]]


def test_function_calling_traj_renders_its_tool_calls():
    history = _history(SWE_AGENT / "function_calling_simple.traj")
    result = agent(history)
    assert [s.action for s in result.steps] == [
        "<function=find_file><parameter=file_name>missing_colon.py</parameter></function>",
        '<function=open><parameter=path>tests/missing_colon.py</parameter></function>',
        "<function=edit><parameter=search>def division(a: float, b: float) -> float</parameter>"
        "<parameter=replace>def division(a: float, b: float) -> float:</parameter></function>",
        "<function=bash><parameter=command>python tests/missing_colon.py</parameter></function>",
        "<function=submit></function>",
    ]
    as_json = agent(history, action_format="json")
    first = json.loads(as_json.steps[0].action)
    assert first == {"name": "find_file", "arguments": {"file_name": "missing_colon.py"}}


def test_python_repr_tool_calls_read_like_json():
    history = _history(SWE_AGENT / "function_calling_simple.traj")
    messy = []
    for message in history:
        message = dict(message)
        for key in ("tool_calls", "tool_call_ids"):
            if key in message:
                message[key] = repr(message[key])  # as some SWE-agent versions store them
        messy.append(message)
    assert "'function'" in messy[2]["tool_calls"]  # really a Python repr, not JSON
    assert agent(messy).steps == agent(history).steps


@pytest.mark.parametrize("path", TRAJ_FILES, ids=lambda p: p.stem)
def test_real_traj_actions_hold_no_thought_or_observation(path):
    for fmt in ("function-xml", "json", "raw"):
        steps = agent(_history(path), action_format=fmt).steps
        for step in steps:
            for other in steps:
                assert other.thought.strip() not in step.action
                if other.observation and len(other.observation.strip()) > 3:
                    assert other.observation.strip() not in step.action


# ---------------------------------------------------------------------------
# OpenAI messages: parallel calls, <think>, a closing text answer


def example(index):
    return json.loads(EXAMPLE.read_text(encoding="utf-8").splitlines()[index])["messages"]


def test_parallel_calls_think_block_and_closing_answer():
    result = agent(example(0))
    assert [(s.action, s.thought, s.observation) for s in result.steps] == [
        (
            "<function=read_file><parameter=path>config/a.toml</parameter></function>\n"
            "<function=read_file><parameter=path>config/b.toml</parameter></function>",
            "Both files are small; reading them together saves a turn.\n\nI will read both config files at once.",
            "[server]\nrequest_timeout = 30\nretries = 2\n\n\n[server]\nrequest_timeout = 45\n",
        ),
        (
            "<function=bash><parameter=command>grep -rn request_timeout config/</parameter></function>",
            "Check no other file overrides the timeout.",
            "config/a.toml:2:request_timeout = 30\nconfig/b.toml:2:request_timeout = 45\n",
        ),
        (
            "config/b.toml sets the larger timeout: 45 seconds (config/a.toml sets 30).",
            "45 > 30 and nothing else sets it.",
            None,
        ),
    ]


def test_split_parallel_calls_gives_one_step_per_call_with_its_own_output():
    result = agent(example(0), split_parallel_calls=True)
    assert [(s.action, s.thought, s.observation) for s in result.steps[:2]] == [
        (
            "<function=read_file><parameter=path>config/a.toml</parameter></function>",
            "Both files are small; reading them together saves a turn.\n\nI will read both config files at once.",
            "[server]\nrequest_timeout = 30\nretries = 2\n",
        ),
        ("<function=read_file><parameter=path>config/b.toml</parameter></function>", None,
         "[server]\nrequest_timeout = 45\n"),
    ]
    assert len(result.steps) == 4


def test_split_parallel_calls_matches_outputs_by_id_not_order():
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call("x", "a", "{}"), call("y", "b", "{}")]},
        {"role": "tool", "tool_call_id": "y", "content": "from b"},
        {"role": "tool", "tool_call_id": "x", "content": "from a"},
    ]
    steps = agent(messages, split_parallel_calls=True).steps
    assert [(s.action, s.observation) for s in steps] == [
        ("<function=a></function>", "from a"), ("<function=b></function>", "from b")
    ]


def test_json_and_raw_formats_for_openai_calls():
    messages = example(1)
    as_json = agent(messages, action_format="json").steps
    assert json.loads(as_json[1].action) == {
        "name": "edit_file", "arguments": {"path": "src/pages.py", "line": 2, "text": "    return -(-items // per_page)"}
    }
    # No command string of its own: raw falls back to the JSON form.
    assert [s.action for s in agent(messages, action_format="raw").steps] == [s.action for s in as_json]
    xml = agent(messages).steps[1].action
    assert xml == ("<function=edit_file><parameter=path>src/pages.py</parameter><parameter=line>2</parameter>"
                   "<parameter=text>    return -(-items // per_page)</parameter></function>")


def test_arguments_as_object_empty_string_and_legacy_function_call():
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [call("1", "ls", {"path": "."})]},
        {"role": "tool", "tool_call_id": "1", "content": "a b"},
        {"role": "assistant", "content": "", "tool_calls": [call("2", "submit", "")]},
        {"role": "assistant", "content": None, "function_call": {"name": "done", "arguments": "{\"ok\": true}"}},
        {"role": "function", "name": "done", "content": "bye"},
    ]
    steps = agent(messages).steps
    assert [s.action for s in steps] == [
        "<function=ls><parameter=path>.</parameter></function>",
        "<function=submit></function>",
        "<function=done><parameter=ok>true</parameter></function>",
    ]
    assert steps[2].observation == "bye"


def test_content_as_text_parts_and_is_demo_messages():
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {"role": "user", "content": "demo task", "is_demo": True},
        {"role": "assistant", "content": "demo", "action": "ls", "thought": "demo", "is_demo": True},
        {"role": "user", "content": [{"type": "text", "text": "real "}, {"type": "text", "text": "task"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<think>hmm</think>answer"}]},
    ]
    result = agent(messages, )
    assert [(s.action, s.thought) for s in result.steps] == [("answer", "hmm")]
    conversation = parse_messages(messages)
    assert (conversation.system, conversation.task) == ("sys", "real task")


def test_think_blocks_never_reach_the_action_of_a_tool_turn():
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "<think>secret plan</think>visible plan",
         "tool_calls": [call("1", "bash", "{\"command\": \"ls\"}")]},
    ]
    step = agent(messages).steps[0]
    assert step.action == "<function=bash><parameter=command>ls</parameter></function>"
    assert step.thought == "secret plan\n\nvisible plan"


def test_user_messages_after_the_first_turn_are_observations():
    messages = [
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "try 1"},
        {"role": "user", "content": "wrong, try again"},
        {"role": "assistant", "content": "try 2"},
    ]
    steps = agent(messages).steps
    assert [(s.action, s.observation) for s in steps] == [("try 1", "wrong, try again"), ("try 2", None)]


# ---------------------------------------------------------------------------
# Bad input: a counted reject with a reason, never a crash


@pytest.mark.parametrize(
    ("messages", "reason", "detail"),
    [
        ([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "no_assistant_turn",
         "the messages hold no assistant turn (2 messages, roles: system, user)"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"},
          {"role": "tool", "tool_call_id": "nope", "content": "x"}], "orphan_tool_reply",
         "message 3: tool reply to call id 'nope', which no assistant turn made"),
        ([{"role": "user", "content": "u"}, {"role": "tool", "content": "x"}], "orphan_tool_reply",
         "message 2: a tool reply comes before any assistant turn"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "tool_calls": [call("1", "bash", "{command: ls}")]}],
         "bad_tool_arguments",
         "message 2: call 'bash': arguments are not JSON (Expecting property name enclosed in double quotes "
         "at column 2)"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "tool_calls": [call("1", "bash", "[1, 2]")]}],
         "bad_tool_arguments", "message 2: call 'bash': arguments are a JSON list, not an object"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "tool_calls": "not a list {"}],
         "bad_tool_call", "message 2: tool_calls is text that is neither JSON nor a Python literal"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}],
         "bad_tool_call", "message 2: a tool call has no function name"),
        ([{"role": "user", "content": "u"}, {"role": "robot", "content": "a"}], "bad_message",
         "message 2: unknown role 'robot'"),
        ([{"role": "user", "content": "u"}, "hello"], "bad_message", "message 2 is str, not an object"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "content": [{"type": "image_url"}]}],
         "bad_message", "message 2: content part of type 'image_url' is not text"),
        ([{"role": "user", "content": "u"}, {"role": "assistant", "content": "<think>only thinking</think>"}],
         "empty_action", "message 2: assistant turn has no tool call, no command and no text outside <think>"),
    ],
)
def test_bad_agent_input_is_a_counted_reject(messages, reason, detail):
    out = segment_or_reject(messages)
    assert isinstance(out, Reject)
    assert (out.reason, out.detail, out.location) == (reason, detail, "in.jsonl:3")


def test_agent_options_are_refused_for_text_segmenters():
    with pytest.raises(ConfigError) as err:
        Segmentation(SegmentOptions(segmenter="numbered", action_format="json"))
    assert str(err.value) == (
        "--action-format applies only to agent trajectories, not to segmenter 'numbered'. "
        "Use --segmenter agent (or --preset messages, swe-agent or react), or drop the option."
    )
    with pytest.raises(ConfigError, match="unknown --action-format 'xml'"):
        SegmentOptions(action_format="xml")


def test_messages_with_a_text_segmenter_say_to_use_agent():
    with pytest.raises(ConfigError, match="holds agent messages, which segmenter 'auto' cannot split"):
        Segmentation(SegmentOptions()).segment(Solution(id="t", problem="p", messages=example(0)))


def test_segmentation_carries_system_prompt_and_kind():
    fields = get_preset("swe-agent").fields
    row = next(iter(read_rows(SWE_AGENT / "networking_1.traj")))
    solution = to_solution(row, fields)
    trajectory = Segmentation(SegmentOptions(), preset="swe-agent").segment(solution)
    assert isinstance(trajectory, Trajectory)
    assert trajectory.kind == "agent" and trajectory.segmenter == "agent"
    assert trajectory.system.startswith("SETTING: You are a skilled cybersecurity professional")
    assert trajectory.problem.startswith("We're currently solving the following CTF challenge.")


# ---------------------------------------------------------------------------
# ReAct text


def test_react_text_thought_action_observation_and_final_answer():
    text = (
        "I will look this up.\n"
        "Thought 1: I need the capital of France.\n"
        "Action 1: search[capital of France]\n"
        "Observation 1: Paris is the capital.\nIt is large.\n"
        "Thought 2: Done.\n"
        "Final Answer: Paris\n"
    )
    result = agent(text=text)
    assert [(s.action, s.thought, s.observation) for s in result.steps] == [
        ("search[capital of France]", "I need the capital of France.", "Paris is the capital.\nIt is large."),
        ("Paris", "Done.", None),
    ]
    assert result.preamble == "I will look this up."


def test_react_action_input_is_a_tool_call():
    text = 'Thought: look\nAction: search\nAction Input: {"query": "srl"}\nObservation: found\n' \
           "Action: lookup\nAction Input: page 2\n"
    assert [s.action for s in agent(text=text).steps] == [
        "<function=search><parameter=query>srl</parameter></function>",
        "<function=lookup><parameter=input>page 2</parameter></function>",
    ]
    assert [s.action for s in agent(text=text, action_format="raw").steps] == [
        'search\nAction Input: {"query": "srl"}', "lookup\nAction Input: page 2"
    ]


def test_react_labels_inside_code_fences_are_text():
    text = "Action: run\nObservation: ```\nThought: not a label\n```\nFinal Answer: ok"
    steps = agent(text=text).steps
    assert [s.action for s in steps] == ["run", "ok"]
    assert steps[0].observation == "```\nThought: not a label\n```"


def test_react_without_action_is_a_reject():
    out = Segmentation(SegmentOptions(segmenter="agent", min_steps=1)).segment(
        Solution(id="t", problem="p", solution="Thought: hmm, nothing to do")
    )
    assert isinstance(out, Reject)
    assert (out.reason, out.detail) == ("no_action", "the ReAct text holds no 'Action:' or 'Final Answer:' line")


# ---------------------------------------------------------------------------
# Property: over generated trajectories, actions are exactly the calls (or the
# reply text), and never hold a thought or an observation.

SAFE = st.text(alphabet=string.ascii_lowercase + string.digits + " ./-_=", min_size=1, max_size=12)
NAMES = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8)
ARGUMENTS = st.dictionaries(NAMES, st.one_of(SAFE, st.integers(-5, 500), st.booleans()), max_size=3)


@st.composite
def trajectories(draw):
    """(messages, expected turns): each turn is (calls, reply text, thought marker, observation markers)."""
    messages = [{"role": "system", "content": "SYSTEM"}, {"role": "user", "content": "TASK"}]
    turns = []
    for t in range(draw(st.integers(1, 6))):
        thought = f"THOUGHT{t}X{draw(st.integers(0, 999))}"
        ncalls = draw(st.integers(0, 3))
        calls = [ToolCall(draw(NAMES), draw(ARGUMENTS), f"c{t}_{i}") for i in range(ncalls)]
        where = draw(st.sampled_from(["think", "content", "reasoning"]))
        message: dict = {"role": "assistant"}
        reply = None
        if not calls:
            reply = draw(SAFE).strip() or "done"
        body = reply or ""
        if where == "think":
            message["content"] = f"<think>{thought}</think>{body}"
        elif where == "reasoning" or not calls:
            message["content"] = body
            message["reasoning_content"] = thought
        else:
            message["content"] = thought
        if calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in calls
            ]
        messages.append(message)
        observations = []
        for i, c in enumerate(calls):
            obs = f"OBS{t}X{i}X{draw(st.integers(0, 999))}"
            observations.append(obs)
            messages.append({"role": "tool", "tool_call_id": c.id, "content": obs})
        if not calls and draw(st.booleans()):
            obs = f"OBS{t}XUSER"
            observations.append(obs)
            messages.append({"role": "user", "content": obs})
        turns.append((calls, reply, thought, observations))
    return messages, turns


MARKERS = ("THOUGHT", "OBS", "SYSTEM", "TASK")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trajectories(), st.sampled_from(["function-xml", "json", "raw"]), st.booleans())
def test_property_actions_are_the_calls_and_never_thoughts_or_observations(data, fmt, split):
    messages, turns = data
    steps = agent(messages, action_format=fmt, split_parallel_calls=split).steps
    render = function_xml if fmt == "function-xml" else json_calls
    expected = []
    for calls, reply, thought, observations in turns:
        if not calls:
            expected.append((reply, thought, "\n\n".join(observations) or None))
        elif split and len(calls) > 1:
            for i, c in enumerate(calls):
                expected.append((render([c], None), thought if i == 0 else None, observations[i]))
        else:
            expected.append((render(calls, None), thought, "\n\n".join(observations)))
    assert [(s.action, s.thought, s.observation) for s in steps] == expected
    for step in steps:
        assert not any(marker in step.action for marker in MARKERS)


# Property: whatever the messages hold, the segment stage gives a trajectory
# or a counted reject, never an exception.

LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                 st.sampled_from(["assistant", "tool", "user", "system", "function", "{}", "[1]", "{'a': 1}", "c1"]))
JSONISH = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                       max_leaves=12)
KEYS = st.sampled_from(["role", "content", "tool_calls", "tool_call_id", "tool_call_ids", "function_call", "action",
                        "thought", "reasoning_content", "is_demo", "function", "name", "arguments", "id", "type"])
MESSAGE = st.one_of(
    JSONISH,
    st.dictionaries(KEYS, JSONISH, max_size=5),
    st.fixed_dictionaries({"role": st.sampled_from(["assistant", "tool", "user"]), "content": JSONISH},
                          optional={"tool_calls": st.lists(st.dictionaries(KEYS, JSONISH, max_size=4), max_size=2),
                                    "tool_call_id": JSONISH}),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MESSAGE, max_size=6), st.booleans())
def test_property_any_messages_give_a_trajectory_or_a_reject(messages, split):
    out = segment_or_reject(messages, split_parallel_calls=split)
    assert isinstance(out, (Trajectory, Reject))
    if isinstance(out, Reject):
        assert out.reason and out.detail and "\n" not in out.reason


def test_deeply_nested_arguments_are_a_reject():
    messages = [{"role": "user", "content": "u"},
                {"role": "assistant", "tool_calls": [call("1", "f", "[" * 100000 + "]" * 100000)]}]
    out = segment_or_reject(messages)
    assert isinstance(out, Reject) and out.reason == "bad_tool_arguments"
