"""Reading agent trajectories: SWE-agent .traj files (a file, a folder, JSONL of
documents) and chat messages, with the task and system prompt taken from the
conversation itself."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from srl_data.errors import InputError
from srl_data.presets import get_preset
from srl_data.readers import Row, read_rows, to_solution
from srl_data.trajectories import ReadOptions, iter_solutions

SWE_AGENT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "swe-agent"
TRAJ_FILES = sorted(SWE_AGENT.glob("*.traj"))
SWE = get_preset("swe-agent").fields
MESSAGES = get_preset("messages").fields


def test_one_traj_file_is_one_row():
    rows = list(read_rows(SWE_AGENT / "humanevalfix-python-0.traj"))
    assert len(rows) == 1
    assert rows[0].location == str(SWE_AGENT / "humanevalfix-python-0.traj")
    assert set(rows[0].data) == {"environment", "trajectory", "history", "info"}


def test_a_folder_of_traj_files_and_a_gzipped_one(tmp_path):
    for path in TRAJ_FILES[:2]:
        shutil.copy(path, tmp_path / path.name)
    with gzip.open(tmp_path / "third.traj.gz", "wb") as handle:
        handle.write(TRAJ_FILES[2].read_bytes())
    rows = list(read_rows(tmp_path))
    assert [Path(r.path).name for r in rows] == [TRAJ_FILES[0].name, TRAJ_FILES[1].name, "third.traj.gz"]
    assert [r.data for r in rows] == [json.loads(p.read_text(encoding="utf-8")) for p in TRAJ_FILES]


def test_jsonl_of_traj_documents(tmp_path):
    path = tmp_path / "trajs.jsonl"
    path.write_text("".join(json.dumps(json.loads(p.read_text(encoding="utf-8"))) + "\n" for p in TRAJ_FILES),
                    encoding="utf-8")
    solutions = list(iter_solutions(str(path), ReadOptions(preset="swe-agent")))
    assert [s.location for s in solutions] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    from_files = [s for p in TRAJ_FILES for s in iter_solutions(str(p), ReadOptions(preset="swe-agent"))]
    assert [(s.id, s.problem, s.system) for s in solutions] == [(s.id, s.problem, s.system) for s in from_files]


def test_traj_task_and_system_come_from_the_history():
    for path in TRAJ_FILES:
        row = next(iter(read_rows(path)))
        history = row.data["history"]
        solution = to_solution(row, SWE)
        assert solution.system == history[0]["content"].strip()
        assert solution.problem == history[1]["content"].strip()
        assert solution.messages == history
        assert solution.solution is None and solution.answer is None
    ids = {to_solution(next(iter(read_rows(p))), SWE).id for p in TRAJ_FILES}
    assert len(ids) == 3  # content-derived, stable, distinct


def test_traj_that_is_not_json_or_not_an_object(tmp_path):
    bad = tmp_path / "bad.traj"
    bad.write_text('{"history": [', encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(read_rows(bad))
    assert str(err.value) == (
        f"{bad}:1: not valid JSON (Expecting value). A .traj file holds one SWE-agent trajectory as a JSON object."
    )
    listed = tmp_path / "list.traj"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(read_rows(listed))
    assert str(err.value) == (
        f"{listed}:1: expected a JSON object, got list. A .traj file holds one SWE-agent trajectory as a JSON object."
    )


def test_old_traj_without_history_says_why_it_cannot_be_used():
    row = Row({"trajectory": [{"action": "ls", "observation": "a"}]}, "old.traj")
    with pytest.raises(InputError) as err:
        to_solution(row, SWE)
    assert str(err.value) == (
        "old.traj: field 'history': missing. This looks like an older SWE-agent .traj that keeps only 'trajectory' "
        "steps: without 'history' it holds no task, so it cannot be used."
    )


def test_messages_that_are_not_a_list():
    row = Row({"messages": "hi"}, "in.jsonl", 4)
    with pytest.raises(InputError) as err:
        to_solution(row, MESSAGES)
    assert str(err.value) == (
        "in.jsonl:4: field 'messages': expected a list of messages, got str. "
        "Point --messages-field at a list of chat messages."
    )


def test_messages_without_a_task_and_the_problem_field_override():
    messages = [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]
    row = Row({"messages": messages}, "in.jsonl", 2)
    with pytest.raises(InputError) as err:
        to_solution(row, MESSAGES)
    assert str(err.value) == (
        "in.jsonl:2: field 'messages': no task: the messages hold no user message before the first assistant turn. "
        "Name the field holding the task with --problem-field."
    )
    # A row that has the problem field uses it; the system prompt still comes from the messages.
    solution = to_solution(Row({"messages": messages, "problem": "the task"}, "in.jsonl", 2), MESSAGES)
    assert (solution.problem, solution.system) == ("the task", "s")


def test_an_explicit_problem_field_is_required(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "u"}]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"in.jsonl:1: field 'task': missing"):
        list(iter_solutions(str(path), ReadOptions(preset="messages", problem_field="task")))


def test_messages_field_option(tmp_path):
    path = tmp_path / "in.jsonl"
    chat = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]
    path.write_text(json.dumps({"conversation": chat, "id": "x1"}) + "\n", encoding="utf-8")
    (solution,) = iter_solutions(str(path), ReadOptions(preset="messages", messages_field="conversation"))
    assert (solution.id, solution.problem, solution.messages) == ("x1", "u", chat)
