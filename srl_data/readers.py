"""Reading rows from files, folders and Hub datasets, and turning them into
:class:`~srl_data.models.Solution` objects.

``read_rows(source)`` streams :class:`Row` objects (the row's dict plus where
it came from) from JSONL (``.jsonl``, ``.jsonl.gz``), a JSON array (or one JSON
object), Parquet, CSV, a folder written by ``datasets.save_to_disk``, a folder
of such files, or a Hub dataset id (needs the network). A new format is one
function registered in :data:`READERS`.

``to_solution(row, fields)`` maps a row onto a Solution, with one-line errors
naming the file, line and field.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, MissingDependencyError
from .manifest import SUFFIX as MANIFEST_SUFFIX
from .models import Solution
from .presets import FieldMap
from .conversations import system_and_task
from .text import join_thinking, split_thinking


@dataclass(frozen=True, slots=True)
class Row:
    """One input row and where it came from (``line`` is 1-based, or ``item N``)."""

    data: dict[str, Any]
    path: str
    line: int | str | None = None

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def error(self, message: str, *, field: str | None = None, hint: str | None = None) -> InputError:
        return InputError(message, path=self.path, line=self.line, field=field, hint=hint)


Reader = Callable[[Path], Iterator[Row]]


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    # utf-8-sig: files saved with a byte-order mark (common in Windows exports) read as plain UTF-8.
    return open(path, encoding="utf-8-sig", newline="")


def _not_an_object(path: Path, line: int | str, value: Any, hint: str) -> InputError:
    return InputError(
        f"expected a JSON object, got {type(value).__name__}", path=str(path), line=line, hint=hint
    )


# A JSON escape of a UTF-16 surrogate: paired ones decode to one character, a
# lone one to a str that cannot be encoded (the run would fail when writing).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


def _check_surrogates(row: Row) -> Row:
    """``row`` unless it holds a lone surrogate (a one-line error naming the field)."""
    for name, value in row.data.items():
        if _lone_surrogate(name) or _lone_surrogate(value):
            raise row.error(
                "holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), which is not a character",
                field=name.encode("utf-8", "backslashreplace").decode("utf-8"),
                hint="fix the text where this file was made (often a cut-off emoji)",
            )
    return row


def read_jsonl(path: Path) -> Iterator[Row]:
    with _open_text(path) as handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    # exc.colno counts from the line's own newline; the line is one record.
                    at = "the end of the line" if exc.pos >= len(text.rstrip()) else f"column {exc.pos + 1}"
                    raise InputError(
                        f"not valid JSON ({exc.msg.removesuffix(' at')} at {at})",
                        path=str(path),
                        line=number,
                        hint="each line must hold one complete JSON object; "
                        "a file holding one JSON array should end in .json",
                    ) from None
                if not isinstance(value, dict):
                    raise _not_an_object(path, number, value, "each line must hold one JSON object")
                row = Row(value, str(path), number)
                yield _check_surrogates(row) if _SURROGATE_ESCAPE.search(text) else row
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
            raise InputError(
                f"cannot be read as UTF-8 JSON Lines ({exc.__class__.__name__})",
                path=str(path),
                hint="check the file's extension and encoding",
            ) from None


def _load_document(path: Path, hint: str) -> tuple[Any, Callable[[Row], Row]]:
    """A whole-file JSON document, and the check its rows need (surrogates)."""
    with _open_text(path) as handle:
        try:
            text = handle.read()
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", path=str(path), line=exc.lineno, hint=hint) from None
        except UnicodeDecodeError:
            raise InputError("is not UTF-8 text", path=str(path)) from None
    return value, (_check_surrogates if _SURROGATE_ESCAPE.search(text) else (lambda row: row))


def read_json(path: Path) -> Iterator[Row]:
    value, check = _load_document(
        path, "a .json file must hold one JSON array of objects; for one object a line use a .jsonl file")
    if isinstance(value, dict):
        yield check(Row(value, str(path), None))
        return
    if not isinstance(value, list):
        raise _not_an_object(path, 1, value, "a .json file must hold an array of objects")
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise _not_an_object(path, f"item {index}", item, "every array item must be an object")
        yield check(Row(item, str(path), f"item {index}"))


def read_traj(path: Path) -> Iterator[Row]:
    """A SWE-agent ``.traj`` file: one JSON document (``history``, ``trajectory``, ``info``)."""
    hint = "A .traj file holds one SWE-agent trajectory as a JSON object"
    value, check = _load_document(path, hint)
    if not isinstance(value, dict):
        raise _not_an_object(path, 1, value, hint)
    yield check(Row(value, str(path), None))


_EXTRA_CELLS = object()  # DictReader's key for the cells of a row longer than the header


def read_csv(path: Path) -> Iterator[Row]:
    # One cell may hold a whole solution or thinking trace (s1K's run past csv's
    # default limit of 131,072 characters).
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    with _open_text(path) as handle:
        try:
            reader = csv.DictReader(handle, restkey=_EXTRA_CELLS)  # type: ignore[arg-type]
            if reader.fieldnames is None:
                return
            for record in reader:
                # reader.line_num is the physical line the record ended on.
                extra = record.pop(_EXTRA_CELLS, None)  # type: ignore[call-overload]
                if extra is not None:
                    raise InputError(
                        f"has {len(reader.fieldnames) + len(extra)} cells but the header names "
                        f"{len(reader.fieldnames)} columns",
                        path=str(path),
                        line=reader.line_num,
                        hint="quote cells that hold commas, or add the missing column names to the header",
                    )
                yield Row(dict(record), str(path), reader.line_num)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot be read as UTF-8 CSV ({exc.__class__.__name__})",
                path=str(path),
                hint="check the file's extension and encoding",
            ) from None


def read_parquet(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(
            f"cannot be read as Parquet ({exc})", path=str(path), hint="check that it is a Parquet file"
        ) from None
    number = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for item in batch.to_pylist():
            number += 1
            yield Row(item, str(path), f"row {number}")


def read_saved_dataset(path: Path, split: str | None = None) -> Iterator[Row]:
    """A folder written by ``datasets.save_to_disk`` (Dataset or DatasetDict)."""
    from datasets import DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except Exception as exc:
        raise InputError(f"cannot be loaded with datasets.load_from_disk ({exc})", path=str(path)) from None
    if isinstance(loaded, DatasetDict):
        loaded = _pick_split(loaded, split, str(path))
    for number, item in enumerate(loaded, start=1):
        yield Row(dict(item), str(path), f"row {number}")


def _pick_split(splits: Any, split: str | None, where: str) -> Any:
    names = list(splits.keys())
    if split is None:
        if len(names) == 1:
            return splits[names[0]]
        if "train" in names:
            return splits["train"]
        raise InputError(
            f"holds several splits ({', '.join(names)})", path=where, hint="choose one with --split"
        )
    if split not in names:
        raise InputError(
            f"has no split '{split}' (it has {', '.join(names)})", path=where, hint="fix --split"
        )
    return splits[split]


_HUB_ID = re.compile(r"^(?:hf://datasets/)?[A-Za-z0-9][\w.-]*/[\w.-]+$")


def read_hub(dataset_id: str, split: str | None = None, config: str | None = None) -> Iterator[Row]:
    """Stream a Hub dataset through ``datasets`` (needs the network)."""
    try:
        from datasets import load_dataset
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise MissingDependencyError("reading a Hub dataset needs 'datasets'", hint="pip install datasets") from None
    name = dataset_id.removeprefix("hf://datasets/")
    try:
        stream = load_dataset(name, config, split=split or "train", streaming=True)
    except Exception as exc:
        raise InputError(
            f"cannot load Hub dataset ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
            path=name,
            hint="check the dataset id, --split and your network; "
            "reading from the Hub is the only input that needs the network",
        ) from None
    for number, item in enumerate(stream, start=1):
        yield Row(dict(item), name, f"row {number}")


# Readers by file-name ending (longest ending wins). Add a format here.
READERS: dict[str, Reader] = {
    ".jsonl": read_jsonl,
    ".jsonl.gz": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".json.gz": read_json,
    ".csv": read_csv,
    ".csv.gz": read_csv,
    ".parquet": read_parquet,
    ".traj": read_traj,
    ".traj.gz": read_traj,
}


def reader_for(path: Path) -> Reader | None:
    name = path.name.lower()
    for ending in sorted(READERS, key=len, reverse=True):
        if name.endswith(ending):
            return READERS[ending]
    return None


def _known_endings() -> str:
    return ", ".join(sorted(READERS))


def read_rows(source: str | os.PathLike[str], *, split: str | None = None) -> Iterator[Row]:
    """Stream the rows of ``source``; raise :class:`InputError` when it holds none."""
    count = 0
    for row in _rows(source, split):
        count += 1
        yield row
    if count == 0:
        raise InputError("is empty: it holds no rows", path=str(source), hint="give an input with at least one row")


def _rows(source: str | os.PathLike[str], split: str | None) -> Iterator[Row]:
    path = Path(source)
    if path.is_dir():
        if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
            yield from read_saved_dataset(path, split)
            return
        # Run manifests (<output>.manifest.json) describe outputs; they are not rows.
        files = sorted(
            p for p in path.iterdir()
            if p.is_file() and reader_for(p) is not None and not p.name.endswith(MANIFEST_SUFFIX)
        )
        if not files:
            raise InputError(
                "folder holds no readable files",
                path=str(path),
                hint=f"expected files ending in {_known_endings()}, or a datasets.save_to_disk folder",
            )
        for file in files:
            yield from reader_for(file)(file)  # type: ignore[misc]
        return
    if path.is_file():
        reader = reader_for(path)
        if reader is None:
            raise InputError(
                "unknown file type",
                path=str(path),
                hint=f"use a file ending in {_known_endings()}",
            )
        if path.stat().st_size == 0:
            raise InputError("is empty: it holds no rows", path=str(path), hint="give an input with at least one row")
        yield from reader(path)
        return
    if _HUB_ID.match(str(source)) and not str(source).startswith((".", "/")):
        yield from read_hub(str(source), split)
        return
    raise InputError("no such file or folder", path=str(source), hint="check the input path")


# --------------------------------------------------------------------------
# Rows to solutions


def stable_id(data: dict[str, Any], prefix: str = "") -> str:
    """An id derived from the row's content: the same row gets the same id on every run."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return prefix + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _text_field(row: Row, name: str, *, required: bool, flag: str) -> str | None:
    if name not in row.data or row.data[name] is None:
        if not required:
            return None
        present = ", ".join(sorted(row.data)) or "none"
        raise row.error(
            "missing",
            field=name,
            hint=f"use {flag} to name the field that holds it (this row has: {present})",
        )
    value = row.data[name]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise row.error(
            f"expected text, got {type(value).__name__}",
            field=name,
            hint=f"point {flag} at a text field",
        )
    return str(value)


_GSM8K_ANSWER = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)


def gsm8k_final_answer(text: str) -> str | None:
    """The ``#### N`` final answer of a GSM8K-style solution, or None."""
    matches = _GSM8K_ANSWER.findall(text)
    return matches[-1].strip() if matches else None


def _messages_field(row: Row, name: str) -> list[Any]:
    value = row.data.get(name)
    if isinstance(value, list):
        return value
    hint = "Point --messages-field at a list of chat messages"
    if value is None and name == "history" and isinstance(row.data.get("trajectory"), list):
        hint = ("This looks like an older SWE-agent .traj that keeps only 'trajectory' steps: "
                "without 'history' it holds no task, so it cannot be used")
    raise row.error(
        "missing" if value is None else f"expected a list of messages, got {type(value).__name__}",
        field=name,
        hint=hint,
    )


def to_solution(row: Row, fields: FieldMap, *, required: Iterable[str] = ()) -> Solution:
    """Map one row onto a :class:`Solution`.

    ``required`` names optional FieldMap entries (``answer``, ``id``,
    ``thinking``) the user asked for explicitly: a row without them is an error.
    """
    required = set(required)
    messages = None
    system = None
    solution_text = None
    if fields.messages is not None:
        messages = _messages_field(row, fields.messages)
        system, task = system_and_task(messages)
    if messages is not None and row.data.get(fields.problem) is None and "problem" not in required:
        # The task is the conversation's own first user message(s).
        if task is None:
            raise row.error(
                "no task: the messages hold no user message before the first assistant turn",
                field=fields.messages,
                hint="Name the field holding the task with --problem-field",
            )
        problem: str | None = task
    else:
        problem = _text_field(row, fields.problem, required=True, flag="--problem-field")
    assert problem is not None
    if messages is None and fields.solution is not None:
        solution_text = _text_field(row, fields.solution, required=True, flag="--solution-field")
    answer = None
    if fields.answer is not None:
        answer = _text_field(row, fields.answer, required="answer" in required, flag="--answer-field")
    thinking = None
    if fields.thinking is not None:
        thinking = _text_field(row, fields.thinking, required="thinking" in required, flag="--thinking-field")
    if fields.id is not None and row.data.get(fields.id) is not None:
        row_id = _text_field(row, fields.id, required=True, flag="--id-field")
    elif fields.id is not None and "id" in required:
        raise row.error("missing", field=fields.id, hint="use --id-field to name the id field, or leave it out "
                        "to derive ids from the content")
    else:
        row_id = stable_id(row.data)
    if solution_text is not None:
        if fields.answer_from_solution and answer is None:
            answer = gsm8k_final_answer(solution_text)
        solution_text, inline_thinking = split_thinking(solution_text)
        thinking = join_thinking(thinking, inline_thinking)
    return Solution(
        id=str(row_id),
        problem=problem,
        solution=solution_text,
        messages=messages,
        system=system,
        answer=answer,
        thinking=thinking,
        source=row.path,
        location=row.location,
    )
