"""``srl-data split-steps`` on agent trajectories, through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_data.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SWE_AGENT = ROOT.parent / "shared" / "data" / "swe-agent"
EXAMPLE = ROOT / "examples" / "agent_messages.jsonl"


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"SRL_DATA_DEBUG": "", "COLUMNS": "200", "NO_COLOR": "1"})


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_swe_agent_folder_gives_one_record_per_assistant_action(tmp_path):
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", SWE_AGENT, "--preset", "swe-agent", "--action-format", "raw", "-o", out)
    assert result.exit_code == 0, result.output
    assert "agent 3" in result.stdout and "records written        │ 14" in result.stdout
    records = read_jsonl(out)
    expected = []
    for path in sorted(SWE_AGENT.glob("*.traj")):
        history = json.loads(path.read_text(encoding="utf-8"))["history"]
        expected += [m["action"].strip() for m in history if m["role"] == "assistant"]
    assert [r["expert_action"] for r in records] == expected
    assert {r["metadata"]["segmenter"] for r in records} == {"agent"}
    assert {r["metadata"]["template_id"] for r in records} == {"srl-agent-step-v1"}


def test_messages_history_window_one_leaves_the_task_and_the_latest_pair(tmp_path):
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", EXAMPLE, "--preset", "messages", "--history-window", "1", "-o", out)
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in read_jsonl(out)}
    last = records["fix-off-by-one-s4"]
    assert [(m["role"], m["content"]) for m in last["prompt"][1:]] == [
        ("user", "tests/test_pages.py fails: pages(10, 5) returns 3 instead of 2. Fix src/pages.py."),
        ("assistant", "<function=bash><parameter=command>python -m pytest -q tests/test_pages.py</parameter></function>"),
        ("tool", "3 passed in 0.02s\n"),
    ]
    assert last["prompt"][0]["role"] == "system"
    assert last["prompt"][0]["content"].startswith("You are a careful software agent.")
    assert last["expert_action"] == "Fixed: pages() now uses ceiling division, so pages(10, 5) == 2; the tests pass."
    first = records["cfg-timeout-s1"]
    assert first["thought"].startswith("Both files are small")
    assert "Both files are small" not in json.dumps(first["prompt"]) + first["expert_action"]


def test_split_parallel_calls_json_format_and_verl(tmp_path):
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", EXAMPLE, "--preset", "messages", "--split-parallel-calls", "--action-format",
                    "json", "--format", "verl", "-o", out)
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert len(rows) == 4 + 4
    assert {r["ability"] for r in rows} == {"agent"}
    truths = [r["reward_model"]["ground_truth"] for r in rows[:2]]
    assert [json.loads(t) for t in truths] == [
        {"name": "read_file", "arguments": {"path": "config/a.toml"}},
        {"name": "read_file", "arguments": {"path": "config/b.toml"}},
    ]


def test_max_observation_chars_marks_the_cut(tmp_path):
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", SWE_AGENT / "networking_1.traj", "--preset", "swe-agent",
                    "--max-observation-chars", "40", "--context-thoughts", "-o", out)
    assert result.exit_code == 0, result.output
    record = read_jsonl(out)[1]
    tool = record["prompt"][-1]
    assert tool["role"] == "tool"
    history = json.loads((SWE_AGENT / "networking_1.traj").read_text(encoding="utf-8"))["history"]
    full = history[3]["content"]
    assert tool["content"] == full[:40] + f"\n[... {len(full) - 40:,} more characters truncated ...]"
    assert full[:40] == 'Running as user "root" and group "root".'
    assert record["prompt"][-2]["content"].startswith("We have provided with a pcap file")  # --context-thoughts


def test_react_text_preset(tmp_path):
    src = tmp_path / "react.jsonl"
    text = "Thought: find it\nAction: search[srl]\nObservation: a paper\nThought: done\nFinal Answer: SRL"
    src.write_text(json.dumps({"problem": "What is it?", "solution": text}) + "\n", encoding="utf-8")
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", src, "--preset", "react", "-o", out)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [r["expert_action"] for r in records] == ["search[srl]", "SRL"]
    assert [(m["role"], m["content"]) for m in records[1]["prompt"][1:]] == [
        ("user", "What is it?"), ("assistant", "search[srl]"), ("tool", "a paper")
    ]


def test_bad_agent_rows_are_counted_rejects(tmp_path):
    good = json.loads(EXAMPLE.read_text(encoding="utf-8").splitlines()[1])
    bad_args = {"id": "bad-args", "messages": [
        {"role": "user", "content": "u"},
        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function",
                                              "function": {"name": "bash", "arguments": "ls -la"}}]},
        {"role": "assistant", "content": "done"}]}
    orphan = {"id": "orphan", "messages": [
        {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"},
        {"role": "tool", "tool_call_id": "zz", "content": "x"}, {"role": "assistant", "content": "b"}]}
    no_turn = {"id": "no-turn", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in (good, bad_args, orphan, no_turn)), encoding="utf-8")
    out, rejects = tmp_path / "steps.jsonl", tmp_path / "rejects.jsonl"
    result = invoke("split-steps", src, "--preset", "messages", "-o", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    assert "skipped                │ 3" in result.stdout
    for reason in ("bad_tool_arguments", "orphan_tool_reply", "no_assistant_turn"):
        assert f"  {reason}" in result.stdout
    assert len(read_jsonl(out)) == 4
    assert [(r["id"], r["reason"], r["detail"], r["location"]) for r in read_jsonl(rejects)] == [
        ("bad-args", "bad_tool_arguments",
         "message 2: call 'bash': arguments are not JSON (Expecting value at column 1)", f"{src}:2"),
        ("orphan", "orphan_tool_reply", "message 3: tool reply to call id 'zz', which no assistant turn made",
         f"{src}:3"),
        ("no-turn", "no_assistant_turn", "the messages hold no assistant turn (2 messages, roles: system, user)",
         f"{src}:4"),
    ]


def test_agent_options_apply_to_agent_trajectories_read_back(tmp_path):
    # The README's flow: render a --trajectories-out file again with other options.
    trajectories = tmp_path / "trajectories.jsonl"
    first = invoke("split-steps", EXAMPLE, "--preset", "messages", "-o", tmp_path / "all.jsonl",
                   "--trajectories-out", trajectories)
    assert first.exit_code == 0, first.output
    again = invoke("split-steps", trajectories, "--history-window", "1", "-o", tmp_path / "window.jsonl")
    direct = invoke("split-steps", EXAMPLE, "--preset", "messages", "--history-window", "1",
                    "-o", tmp_path / "direct.jsonl")
    assert again.exit_code == 0, again.output
    assert direct.exit_code == 0, direct.output
    window, expected = read_jsonl(tmp_path / "window.jsonl"), read_jsonl(tmp_path / "direct.jsonl")
    assert [r["prompt"] for r in window] == [r["prompt"] for r in expected]
    assert [r["prompt"] for r in window] != [r["prompt"] for r in read_jsonl(tmp_path / "all.jsonl")]


def test_agent_options_refused_for_text_trajectories_read_back(tmp_path):
    trajectories = tmp_path / "trajectories.jsonl"
    first = invoke("split-steps", ROOT / "examples" / "gsm8k_style.jsonl", "--preset", "gsm8k",
                   "-o", tmp_path / "steps.jsonl", "--trajectories-out", trajectories)
    assert first.exit_code == 0, first.output
    out = tmp_path / "again.jsonl"
    result = invoke("split-steps", trajectories, "--history-window", "1", "-o", out)
    assert result.exit_code == 2
    first_id = read_jsonl(trajectories)[0]["id"]
    assert result.stderr == ("Error: --history-window applies only to agent trajectories, not to text trajectories "
                             f"(segmenter 'lines', trajectory '{first_id}'). Drop the option for this input.\n")
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "messages", "--action-format", "xml"],
         "Error: unknown --action-format 'xml'. Choose one of: function-xml, json, raw.\n"),
        (["--preset", "gsm8k", "--split-parallel-calls"],
         "Error: --split-parallel-calls applies only to agent trajectories, not to segmenter 'lines'. "
         "Use --segmenter agent (or --preset messages, swe-agent or react), or drop the option.\n"),
        (["--preset", "s1k", "--history-window", "2", "--max-observation-chars", "9"],
         "Error: --history-window and --max-observation-chars apply only to agent trajectories, not to segmenter "
         "'auto'. Use --segmenter agent (or --preset messages, swe-agent or react), or drop the option.\n"),
        (["--preset", "messages", "--title-hint"],
         "Error: --title-hint applies to text solutions; agent steps have no titles. "
         "Drop --title-hint for agent trajectories.\n"),
        (["--messages-field", "messages"],
         "Error: the input holds agent messages, which segmenter 'auto' cannot split. Use --segmenter agent.\n"),
    ],
)
def test_option_errors_are_one_line(tmp_path, args, message):
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", EXAMPLE, *args, "-o", out)
    assert result.exit_code == 2
    assert result.stderr == message
    assert not out.exists()


def test_bad_input_errors_are_one_line(tmp_path):
    bad = tmp_path / "broken.traj"
    bad.write_text('{"history": [', encoding="utf-8")
    result = invoke("split-steps", bad, "--preset", "swe-agent", "-o", tmp_path / "o.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {bad}:1: not valid JSON (Expecting value). "
        "A .traj file holds one SWE-agent trajectory as a JSON object.\n"
    )
    no_task = tmp_path / "no_task.jsonl"
    no_task.write_text(json.dumps({"messages": [{"role": "assistant", "content": "hi"}]}) + "\n", encoding="utf-8")
    result = invoke("split-steps", no_task, "--preset", "messages", "-o", tmp_path / "o.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {no_task}:1: field 'messages': no task: the messages hold no user message before the first "
        "assistant turn. Name the field holding the task with --problem-field.\n"
    )
    assert not (tmp_path / "o.jsonl").exists()


def test_help_lists_the_agent_options():
    result = invoke("split-steps", "--help")
    assert result.exit_code == 0
    for flag in ("--action-format", "--split-parallel-calls", "--context-thoughts", "--history-window",
                 "--max-observation-chars", "--messages-field"):
        assert flag in result.stdout
