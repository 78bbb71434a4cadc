"""``srl-data split-steps`` through typer's runner: bad input gets one exact line
on stderr, exit code 2, no traceback and no output; good input gets its outputs
and a summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_data.cli import app
from srl_data.errors import InputError
from srl_data.readers import READERS
from srl_data.segmenters import SEGMENTERS

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
GOOD = {"problem": "What is 2+3?", "solution": "1. **Add** 2+3=5.\n2. **Answer** It is 5.", "answer": "5"}


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"SRL_DATA_DEBUG": "", "COLUMNS": "200", "NO_COLOR": "1"})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *rows: dict) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


def assert_clean_failure(result, message: str, folder: Path, keep: set[str]):
    """Exit 2, exactly one line on stderr, no traceback, nothing written."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert {p.name for p in folder.iterdir()} == keep


# ---------------------------------------------------------------------------
# Bad input: one line each.


def test_malformed_json_line(tmp_path):
    src = write(tmp_path / "in.jsonl", json.dumps(GOOD) + "\n{\"problem\": \"x\",\n")
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl", "--rejects", tmp_path / "rej.jsonl")
    assert_clean_failure(
        result,
        f"{src}:2: not valid JSON (Expecting property name enclosed in double quotes at the end of the line). "
        "Each line must hold one complete JSON object; a file holding one JSON array should end in .json.",
        tmp_path, {"in.jsonl"},
    )


@pytest.mark.parametrize("name, text, where", [
    ("in.jsonl", json.dumps(GOOD) + "\n" + '{"problem": "p\\ud800", "solution": "1. a\\n2. b"}\n', ":2"),
    ("in.json", '[{"problem": "p", "solution": "1. a\\n2. b", "id": "x\\udfff"}]', ":item 1"),
])
def test_lone_surrogate_escape(tmp_path, name, text, where):
    # Valid JSON, but "\ud800" alone is no character: it cannot be written as UTF-8.
    src = write(tmp_path / name, text)
    field = "problem" if name == "in.jsonl" else "id"
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result,
        f"{src}{where}: field '{field}': holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), "
        "which is not a character. Fix the text where this file was made (often a cut-off emoji).",
        tmp_path, {name},
    )


def test_surrogate_pairs_are_characters(tmp_path):
    src = write(tmp_path / "in.jsonl", '{"problem": "p \\ud83d\\ude00", "solution": "1. a\\n2. b"}\n')
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])["problem"] == "p \U0001f600"


def test_missing_field(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD, {"question": "q", "solution": "1. a\n2. b"})
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result,
        f"{src}:2: field 'problem': missing. Use --problem-field to name the field that holds it "
        "(this row has: question, solution).",
        tmp_path, {"in.jsonl"},
    )


def test_missing_field_with_a_preset_names_the_preset_field(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", {"question": "q", "attempt": "1. a\n2. b"})
    result = invoke("split-steps", src, "--preset", "s1k", "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result,
        f"{src}:1: field 'deepseek_attempt': missing. Use --solution-field to name the field that holds it "
        "(this row has: attempt, question).",
        tmp_path, {"in.jsonl"},
    )


def test_wrong_type(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", {"problem": "q", "solution": ["1. a", "2. b"]})
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result, f"{src}:1: field 'solution': expected text, got list. Point --solution-field at a text field.",
        tmp_path, {"in.jsonl"},
    )


def test_asked_for_field_missing(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "--id-field", "uid", "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result,
        f"{src}:1: field 'uid': missing. Use --id-field to name the id field, or leave it out to derive ids "
        "from the content.",
        tmp_path, {"in.jsonl"},
    )


def test_line_that_is_not_an_object(tmp_path):
    src = write(tmp_path / "in.jsonl", json.dumps(GOOD) + "\n[1, 2]\n")
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result, f"{src}:2: expected a JSON object, got list. Each line must hold one JSON object.",
        tmp_path, {"in.jsonl"},
    )


@pytest.mark.parametrize("content", ["", "\n \n"])
def test_empty_file(tmp_path, content):
    src = write(tmp_path / "in.jsonl", content)
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, f"{src}: is empty: it holds no rows. Give an input with at least one row.",
                         tmp_path, {"in.jsonl"})


def test_unknown_preset(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "--preset", "s1K-1.1", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown preset 's1K-1.1'. Choose one of: ")
    assert "gsm8k" in result.stderr and "s1k" in result.stderr and result.stderr.count("\n") == 1
    assert {p.name for p in tmp_path.iterdir()} == {"in.jsonl"}


def test_unknown_segmenter(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "--segmenter", "sentences", "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result, f"unknown segmenter 'sentences'. Choose one of: {', '.join(sorted(SEGMENTERS))}.",
        tmp_path, {"in.jsonl"},
    )


def test_unknown_targets(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "--targets", "n-1", "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, "unknown --targets 'n-1'. Choose one of: all, skip-first, skip-last.",
                         tmp_path, {"in.jsonl"})


def test_unknown_format(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "--format", "openrlhf", "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, "unknown --format 'openrlhf'. Choose one of: trl, verl.", tmp_path, {"in.jsonl"})


def test_unwritable_output(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    blocker = write(tmp_path / "blocker", "a file, not a folder")
    out = blocker / "out.jsonl"
    result = invoke("split-steps", src, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {out}: cannot be written (")
    assert result.stderr.endswith("). Choose a writable location with -o.\n")
    assert {p.name for p in tmp_path.iterdir()} == {"in.jsonl", "blocker"}


def test_output_is_a_folder(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    (tmp_path / "out.jsonl").mkdir()
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, f"{tmp_path / 'out.jsonl'}: is a folder. Give a file name such as out.jsonl.",
                         tmp_path, {"in.jsonl", "out.jsonl"})


def test_unknown_output_type(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "-o", tmp_path / "out.csv")
    assert_clean_failure(
        result, f"{tmp_path / 'out.csv'}: unknown output type. End the output name in one of .jsonl, .jsonl.gz, .parquet.",
        tmp_path, {"in.jsonl"},
    )


def test_unknown_input_file_type(tmp_path):
    src = write(tmp_path / "in.txt", "1. a\n2. b\n")
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result,
        f"{src}: unknown file type. Use a file ending in {', '.join(sorted(READERS))}.",
        tmp_path, {"in.txt"},
    )


def test_nonexistent_input(tmp_path):
    result = invoke("split-steps", tmp_path / "missing.jsonl", "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, f"{tmp_path / 'missing.jsonl'}: no such file or folder. Check the input path.",
                         tmp_path, set())


def test_same_path_for_output_and_rejects(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    out = tmp_path / "out.jsonl"
    result = invoke("split-steps", src, "-o", out, "--rejects", out)
    assert_clean_failure(result, f"-o and --rejects name the same file '{out}'. Give each output its own path.",
                         tmp_path, {"in.jsonl"})


def test_output_over_the_input(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "-o", src)
    assert_clean_failure(result, f"input and -o name the same file '{src}'. Give each output its own path.",
                         tmp_path, {"in.jsonl"})
    assert json.loads(src.read_text()) == GOOD


def test_unknown_template(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "--prompt-template", "fancy", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no prompt template 'fancy'. Use a template file path or one of: ")
    assert "srl_step, srl_step_title_hint" in result.stderr and result.stderr.count("\n") == 1
    assert {p.name for p in tmp_path.iterdir()} == {"in.jsonl"}


def test_template_with_an_unknown_placeholder(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    template = write(tmp_path / "t.toml", 'id = "t1"\nuser = "{problem} then {next_step}"\n')
    result = invoke("split-steps", src, "--prompt-template", template, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(
        result,
        f"{template}: template uses an unknown placeholder {{next_step}}. Use only: {{next_step_number}}, "
        "{next_step_title}, {previous_steps}, {problem}.",
        tmp_path, {"in.jsonl", "t.toml"},
    )


def test_template_without_id(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    template = write(tmp_path / "t.toml", 'user = "{problem}"\n')
    result = invoke("split-steps", src, "--prompt-template", template, "-o", tmp_path / "out.jsonl")
    assert_clean_failure(result, f"{template}: template has no 'id'. Add a line such as id = \"my-template-v1\".",
                         tmp_path, {"in.jsonl", "t.toml"})


def test_bad_row_after_good_ones_leaves_no_outputs(tmp_path):
    src = write(tmp_path / "in.jsonl", (json.dumps(GOOD) + "\n") * 50 + '{"problem": "p", "solution": 3.5e}\n')
    result = invoke("split-steps", src, "-o", tmp_path / "out.parquet", "--trajectories-out", tmp_path / "t.jsonl",
                    "--rejects", tmp_path / "r.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {src}:51: not valid JSON (")
    assert {p.name for p in tmp_path.iterdir()} == {"in.jsonl"}


# ---------------------------------------------------------------------------
# --debug shows the traceback.


def test_debug_flag_raises_the_error_for_a_traceback(tmp_path):
    src = write(tmp_path / "in.jsonl", "{oops\n")
    result = runner.invoke(app, ["--debug", "split-steps", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert {p.name for p in tmp_path.iterdir()} == {"in.jsonl"}
    # The next run without --debug is back to one line.
    assert invoke("split-steps", src, "-o", tmp_path / "out.jsonl").exit_code == 2


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_prints_a_traceback_in_a_real_process(tmp_path, how):
    src = write(tmp_path / "in.jsonl", "{oops\n")
    args = [sys.executable, "-m", "srl_data", "split-steps", str(src), "-o", str(tmp_path / "out.jsonl")]
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "120", "NO_COLOR": "1"}
    if how == "flag":
        args.insert(3, "--debug")
    else:
        env["SRL_DATA_DEBUG"] = "1"
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "InputError" in done.stderr
    quiet = subprocess.run(args[:3] + args[4:] if how == "flag" else args, capture_output=True, text=True,
                           env={**env, "SRL_DATA_DEBUG": ""}, timeout=120)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr and quiet.stderr.count("\n") == 1


# ---------------------------------------------------------------------------
# Good input.


def test_trl_output_and_summary(tmp_path):
    out, traj, rej = tmp_path / "steps.jsonl", tmp_path / "traj.jsonl", tmp_path / "rejects.jsonl"
    result = invoke("split-steps", EXAMPLES / "s1k_style.jsonl", "--preset", "s1k", "-o", out,
                    "--trajectories-out", traj, "--rejects", rej)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    trajectories = [json.loads(line) for line in traj.read_text().splitlines()]
    rejects = [json.loads(line) for line in rej.read_text().splitlines()]
    assert records and {"id", "trajectory_id", "step_index", "num_steps", "problem", "previous_steps",
                        "expert_action", "step_title", "answer", "prompt", "metadata"} <= set(records[0])
    assert records[0]["prompt"][-1]["role"] == "user"
    text = result.stdout
    for line in (
        f"rows read              │ {len(trajectories) + len(rejects)}",
        f"trajectories segmented │ {len(trajectories)}",
        f"skipped                │ {len(rejects)}",
        f"  too_few_steps        │ {len(rejects)}",
        f"records written        │ {len(records)}",
        f"output                 │ {out}",
        f"trajectories           │ {traj}",
        f"rejects                │ {rej}",
    ):
        assert line in text, text
    steps = sorted(len(t["steps"]) for t in trajectories)
    assert f"steps per trajectory   │ min {steps[0]} / median " in text
    tokens = sorted(r["prompt_tokens"] for r in records)
    assert f"/ max {tokens[-1]}" in text and "prompt tokens" in text


def test_verl_columns(tmp_path):
    out = tmp_path / "steps.parquet"
    result = invoke("split-steps", EXAMPLES / "gsm8k_style.jsonl", "--preset", "gsm8k", "-o", out, "--format", "verl")
    assert result.exit_code == 0, result.stderr
    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    assert rows and list(rows[0]) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    for row in rows:
        assert row["ability"] == "math"
        assert row["reward_model"]["style"] == "rule"
        assert row["reward_model"]["ground_truth"] and "<<" not in row["reward_model"]["ground_truth"]
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        info = row["extra_info"]
        assert info["id"] == f"{info['trajectory_id']}-s{info['step_index']}"
        assert 1 <= info["step_index"] <= info["num_steps"]


def test_max_prompt_tokens_is_reported(tmp_path):
    out = tmp_path / "steps.jsonl"
    result = invoke("split-steps", EXAMPLES / "s1k_style.jsonl", "--preset", "s1k", "-o", out,
                    "--max-prompt-tokens", "150")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["prompt_tokens"] <= 150 for r in records)
    assert "records dropped: prompt_too_long" in result.stdout


def test_help_lists_the_options():
    result = invoke("split-steps", "--help")
    assert result.exit_code == 0
    for option in ("--preset", "--problem-field", "--solution-field", "--answer-field", "--id-field",
                   "--thinking-field", "--segmenter", "--min-steps", "--targets", "--title-hint", "--format",
                   "--max-prompt-tokens", "--trajectories-out", "--rejects", "--split"):
        assert option in result.stdout


# ---------------------------------------------------------------------------
# --workers


def test_workers_give_the_same_output_and_summary(tmp_path):
    runs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"steps{workers}.jsonl"
        result = invoke("split-steps", EXAMPLES / "s1k_style.jsonl", "--preset", "s1k", "-o", out,
                        "--max-prompt-tokens", "150", "--workers", workers)
        assert result.exit_code == 0, result.stderr
        runs[workers] = (out.read_bytes(), result.stdout.replace(str(out), "OUT"))
    assert runs["2"] == runs["1"]
    assert runs["1"][0] and "records dropped: prompt_too_long" in runs["1"][1]


def test_a_template_error_in_a_worker_is_one_line(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD, GOOD)
    template = write(tmp_path / "t.toml", 'id = "t1"\nuser = "{problem} then {next_step}"\n')
    result = invoke("split-steps", src, "--prompt-template", template, "-o", tmp_path / "out.jsonl",
                    "--workers", "2")
    assert_clean_failure(
        result,
        f"{template}: template uses an unknown placeholder {{next_step}}. Use only: {{next_step_number}}, "
        "{next_step_title}, {previous_steps}, {problem}.",
        tmp_path, {"in.jsonl", "t.toml"},
    )


def test_workers_below_one_are_refused(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    result = invoke("split-steps", src, "-o", tmp_path / "out.jsonl", "--workers", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--workers': Input should be greater than or equal to 1" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"in.jsonl"}
