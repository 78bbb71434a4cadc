"""Readers: every input format, field mapping, presets, stable ids and thinking extraction."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys

import pytest

from srl_data.errors import InputError
from srl_data.presets import FieldMap, get_preset
from srl_data.readers import Row, gsm8k_final_answer, read_rows, stable_id, to_solution
from srl_data.text import split_thinking

ROWS = [
    {"problem": "What is 1+1?", "solution": "1. Add.\n2. Get 2.", "answer": "2"},
    {"problem": "What is 2+2?", "solution": "1. Add.\n2. Get 4.", "answer": "4"},
]


def _data(rows):
    return [row.data for row in rows]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Formats


def test_jsonl_rows_and_line_numbers_skip_blank_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]) + "\n", encoding="utf-8")
    rows = list(read_rows(path))
    assert _data(rows) == ROWS
    assert [r.location for r in rows] == [f"{path}:1", f"{path}:3"]


def test_jsonl_gz(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in ROWS)
    assert _data(read_rows(path)) == ROWS


def test_json_array(tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(ROWS), encoding="utf-8")
    rows = list(read_rows(path))
    assert _data(rows) == ROWS
    assert rows[1].location == f"{path}:item 2"


def test_single_json_object(tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(ROWS[0], indent=2), encoding="utf-8")
    rows = list(read_rows(path))
    assert _data(rows) == [ROWS[0]]
    assert rows[0].location == str(path)


def test_json_array_of_non_objects_names_the_item(tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps([ROWS[0], 3]), encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read_rows(path))
    assert str(info.value) == f"{path}:item 2: expected a JSON object, got int. Every array item must be an object."


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), path)
    rows = list(read_rows(path))
    assert _data(rows) == ROWS
    assert rows[0].location == f"{path}:row 1"


def test_csv_field_longer_than_the_csv_module_default(tmp_path):
    # s1K thinking traces run past csv's default 131,072-character field limit.
    path = tmp_path / "in.csv"
    long = "x" * 300_000
    path.write_text(f"problem,solution\nq,{long}\n", encoding="utf-8")
    assert _data(read_rows(path)) == [{"problem": "q", "solution": long}]


@pytest.mark.parametrize(("content", "message"), [
    (b"problem,solution\nq,s,extra\n",
     "{path}:2: has 3 cells but the header names 2 columns. Quote cells that hold commas, "
     "or add the missing column names to the header."),
    (b"problem,solution\nq,\xff\n",
     "{path}: cannot be read as UTF-8 CSV (UnicodeDecodeError). Check the file's extension and encoding."),
])
def test_csv_bad_rows_are_input_errors(tmp_path, content, message):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        list(read_rows(path))
    assert str(err.value) == message.format(path=path)


def test_csv_with_a_multiline_field(tmp_path):
    path = tmp_path / "in.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["problem", "solution", "answer"])
        writer.writeheader()
        writer.writerows(ROWS)
    rows = list(read_rows(path))
    assert _data(rows) == ROWS
    # The first record spans physical lines 2-3 (its solution holds a newline).
    assert [r.line for r in rows] == [3, 5]


def test_saved_dataset_folder(tmp_path):
    from datasets import Dataset

    Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "ds"))
    assert _data(read_rows(tmp_path / "ds")) == ROWS


def test_saved_dataset_dict_and_split(tmp_path):
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "dd"
    DatasetDict({"train": Dataset.from_list(ROWS[:1]), "test": Dataset.from_list(ROWS[1:])}).save_to_disk(str(folder))
    assert _data(read_rows(folder)) == ROWS[:1]  # train by default
    assert _data(read_rows(folder, split="test")) == ROWS[1:]
    with pytest.raises(InputError) as info:
        list(read_rows(folder, split="dev"))
    assert str(info.value).startswith(f"{folder}: has no split 'dev' (it has ")
    assert str(info.value).endswith("). Fix --split.")


def test_saved_dataset_dict_without_train_needs_split(tmp_path):
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "dd"
    DatasetDict({"a": Dataset.from_list(ROWS[:1]), "b": Dataset.from_list(ROWS[1:])}).save_to_disk(str(folder))
    with pytest.raises(InputError, match=r"holds several splits \(a, b\)\. Choose one with --split\."):
        list(read_rows(folder))
    assert _data(read_rows(folder, split="b")) == ROWS[1:]


def test_folder_of_files_reads_them_in_name_order(tmp_path):
    _write_jsonl(tmp_path / "b.jsonl", ROWS[1:])
    _write_jsonl(tmp_path / "a.jsonl", ROWS[:1])
    (tmp_path / "notes.txt").write_text("ignored")
    assert _data(read_rows(tmp_path)) == ROWS


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty: it holds no rows. Give an input with at least one row."),
        ("\n\n", "is empty: it holds no rows. Give an input with at least one row."),
    ],
)
def test_empty_inputs(tmp_path, content, message):
    path = tmp_path / "in.jsonl"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        list(read_rows(path))
    assert str(info.value) == f"{path}: {message}"


def test_malformed_jsonl_line_names_the_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{oops\n")
    rows = read_rows(path)
    assert next(rows).data == ROWS[0]  # streaming: the good row comes first
    with pytest.raises(InputError) as info:
        next(rows)
    assert str(info.value).startswith(f"{path}:2: not valid JSON (")


def test_gzip_that_is_not_gzip(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    path.write_text(json.dumps(ROWS[0]))
    with pytest.raises(InputError) as info:
        list(read_rows(path))
    assert str(info.value) == f"{path}: cannot be read as UTF-8 JSON Lines (BadGzipFile). Check the file's extension and encoding."


def test_unknown_file_type_and_missing_path(tmp_path):
    (tmp_path / "in.txt").write_text("x")
    with pytest.raises(InputError, match=r"in\.txt: unknown file type\. Use a file ending in \.csv, "):
        list(read_rows(tmp_path / "in.txt"))
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file or folder\. Check the input path\."):
        list(read_rows(tmp_path / "nope.jsonl"))


# ---------------------------------------------------------------------------
# Rows to solutions: field mapping and presets


def _row(data, line=7):
    return Row(data, "in.jsonl", line)


def test_default_fields():
    solution = to_solution(_row({**ROWS[0], "id": 12, "thinking": "hmm"}), get_preset(None).fields)
    assert (solution.id, solution.problem, solution.answer, solution.thinking) == ("12", "What is 1+1?", "2", "hmm")
    assert solution.solution == "1. Add.\n2. Get 2."
    assert solution.location == "in.jsonl:7"


def test_field_mapping_overrides():
    fields = FieldMap().override(problem="q", solution="a", answer="final", id="key", thinking="scratch")
    data = {"q": "Q?", "a": "1. x\n2. y", "final": "7", "key": "k1", "scratch": "think"}
    solution = to_solution(_row(data), fields)
    assert (solution.id, solution.problem, solution.solution, solution.answer, solution.thinking) == (
        "k1", "Q?", "1. x\n2. y", "7", "think"
    )


def test_missing_field_lists_the_fields_present():
    with pytest.raises(InputError) as info:
        to_solution(_row({"question": "Q", "solution": "s"}), FieldMap())
    assert str(info.value) == (
        "in.jsonl:7: field 'problem': missing. Use --problem-field to name the field that holds it "
        "(this row has: question, solution)."
    )


def test_wrong_type():
    with pytest.raises(InputError) as info:
        to_solution(_row({"problem": "Q", "solution": {"steps": []}}), FieldMap())
    assert str(info.value) == "in.jsonl:7: field 'solution': expected text, got dict. Point --solution-field at a text field."


def test_optional_fields_may_be_absent_unless_asked_for():
    solution = to_solution(_row({"problem": "Q", "solution": "s"}), FieldMap(thinking="thinking"))
    assert solution.answer is None and solution.thinking is None
    with pytest.raises(InputError, match="field 'answer': missing"):
        to_solution(_row({"problem": "Q", "solution": "s"}), FieldMap(), required={"answer"})


def test_s1k_preset():
    data = {
        "question": "Q?",
        "deepseek_attempt": "<think>private</think>1. **A** x\n2. **B** y",
        "solution": "42",
        "deepseek_thinking_trajectory": "long thoughts",
        "cot_type": "math",
    }
    solution = to_solution(_row(data), get_preset("s1k").fields)
    assert solution.problem == "Q?"
    assert solution.solution == "1. **A** x\n2. **B** y"
    assert solution.answer == "42"
    assert solution.thinking == "long thoughts\n\nprivate"
    assert solution.id == stable_id(data)


def test_gsm8k_preset_answer_is_the_final_line():
    data = {"question": "Q?", "answer": "He has 2*3 = <<2*3=6>>6.\nThen 6+1 = <<6+1=7>>7.\n#### 7"}
    solution = to_solution(_row(data), get_preset("gsm8k").fields)
    assert solution.answer == "7"
    assert solution.solution == data["answer"]  # notes are the segmenter's job
    assert gsm8k_final_answer("a\n#### 1,000 \n") == "1,000"
    assert gsm8k_final_answer("no final line") is None


# ---------------------------------------------------------------------------
# Stable ids


def test_stable_id_depends_on_content_not_key_order():
    assert stable_id({"a": 1, "b": "x"}) == stable_id({"b": "x", "a": 1})
    assert stable_id({"a": 1}) != stable_id({"a": 2})
    assert len(stable_id({"a": 1})) == 16


def test_stable_id_is_identical_across_runs(tmp_path):
    path = _write_jsonl(tmp_path / "in.jsonl", ROWS)
    here = [to_solution(row, FieldMap()).id for row in read_rows(path)]
    code = (
        "import sys; from srl_data.readers import read_rows, to_solution; from srl_data.presets import FieldMap; "
        "print(' '.join(to_solution(r, FieldMap()).id for r in read_rows(sys.argv[1])))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == here
    assert len(set(here)) == 2


# ---------------------------------------------------------------------------
# <think> extraction


@pytest.mark.parametrize(
    "text, rest, thinking",
    [
        ("<think>plan</think>\n1. a\n2. b", "1. a\n2. b", "plan"),
        ("1. a <THINK>x</THINK>\n2. b", "1. a \n\n2. b", "x"),
        ("plan only closes</think>\n1. a", "1. a", "plan only closes"),
        ("1. a\n<think>never closed\n2. b", "1. a", "never closed\n2. b"),
        ("<think>one</think>1. a<think>two</think>2. b", "1. a\n2. b", "one\n\ntwo"),
        ("p</think>q</think>1. a", "1. a", "p\nq"),
        ("no thinking here", "no thinking here", None),
        ("<think></think>1. a", "1. a", None),
    ],
)
def test_split_thinking(text, rest, thinking):
    assert split_thinking(text) == (rest, thinking)


def test_thinking_tags_never_reach_the_solution():
    data = {"problem": "Q", "solution": "a</think>b<think>c</think>d<think>e", "thinking": "t"}
    solution = to_solution(_row(data), get_preset(None).fields)
    assert "think>" not in solution.solution
    assert solution.solution == "b\nd"
    assert solution.thinking == "t\n\na\n\nc\n\ne"


@pytest.mark.parametrize(
    "line, where",
    [('{"a": 1,}', "column 9"), ('{"a": tru}', "column 7"), ('{"a": 1,', "the end of the line"), ('{"a": "x', "the end of the line"),
     ('{"a" 1}', "column 6")],
)
def test_malformed_jsonl_column(tmp_path, line, where):
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InputError) as info:
        list(read_rows(path))
    assert f" at {where}). " in str(info.value)


@pytest.mark.parametrize("name, text", [
    ("in.jsonl", '{"problem": "p", "solution": "s"}\n'),
    ("in.json", '[{"problem": "p", "solution": "s"}]'),
    ("in.csv", "problem,solution\np,s\n"),
])
def test_a_utf8_byte_order_mark_is_not_part_of_the_first_field(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    rows = list(read_rows(path))
    assert [row.data for row in rows] == [{"problem": "p", "solution": "s"}]
