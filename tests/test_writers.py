"""Writers: atomic (no output and no temporary file after a failure), streaming round trips."""

from __future__ import annotations

import gzip
import json
import os
import stat

import pytest

from srl_data.errors import OutputError
from srl_data.writers import atomic_write_text, open_writers, writer_for

ROWS = [
    {"id": "a", "n": 1, "tags": ["x", "y"], "nested": {"k": "v"}, "text": "héllo\nworld"},
    {"id": "b", "n": 2, "tags": [], "nested": {"k": None}, "text": None},
]


def _names(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "out.parquet"])
def test_exception_inside_the_block_leaves_no_file_and_no_temp_file(tmp_path, name):
    with pytest.raises(RuntimeError, match="boom"):
        with writer_for(tmp_path / name) as writer:
            writer.write(ROWS[0])
            assert len(_names(tmp_path)) == 1  # the temporary file exists while writing
            raise RuntimeError("boom")
    assert _names(tmp_path) == set()


def test_failure_keeps_an_existing_output_untouched(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text('{"old": true}\n')
    with pytest.raises(KeyboardInterrupt):
        with writer_for(target) as writer:
            writer.write(ROWS[0])
            raise KeyboardInterrupt
    assert target.read_text() == '{"old": true}\n'
    assert _names(tmp_path) == {"out.jsonl"}


def test_a_failure_while_finishing_leaves_nothing(tmp_path):
    # Parquet fixes its schema from the first batch; a later row with a new column fails at close.
    target = tmp_path / "out.parquet"
    with pytest.raises(OutputError, match="columns the first rows lacked: extra"):
        with writer_for(target) as writer:
            writer.write({"a": 1})
            writer.batch_size = 1  # the next write flushes a second batch ...
            writer.write({"a": 2})
            writer._buffer.append({"a": 3, "extra": "x"})  # ... and close flushes this one
    assert _names(tmp_path) == set()


def test_open_writers_is_all_or_nothing(tmp_path):
    with pytest.raises(ValueError):
        with open_writers(writer_for(tmp_path / "a.jsonl"), None, writer_for(tmp_path / "b.parquet")) as (a, none, b):
            assert none is None
            a.write(ROWS[0])
            b.write({"x": 1})
            raise ValueError
    assert _names(tmp_path) == set()
    with open_writers(writer_for(tmp_path / "a.jsonl"), writer_for(tmp_path / "b.jsonl")) as (a, b):
        a.write(ROWS[0])
        b.write(ROWS[1])
    assert _names(tmp_path) == {"a.jsonl", "b.jsonl"}


def test_output_gets_the_usual_file_mode_not_a_private_temp_mode(tmp_path):
    with writer_for(tmp_path / "out.jsonl") as writer:
        writer.write(ROWS[0])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o666 & ~mask


def test_jsonl_round_trip(tmp_path):
    with writer_for(tmp_path / "out.jsonl") as writer:
        assert writer.write_all(ROWS) == 2
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == ROWS
    assert "héllo" in lines[0]  # not escaped


def test_jsonl_gz_round_trip(tmp_path):
    with writer_for(tmp_path / "out.jsonl.gz") as writer:
        writer.write_all(ROWS)
    with gzip.open(tmp_path / "out.jsonl.gz", "rt", encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == ROWS


def test_parquet_round_trip_across_row_groups(tmp_path):
    import pyarrow.parquet as pq

    rows = [{"id": str(i), "n": i, "tags": ["t"] * (i % 3), "nested": {"k": str(i)}} for i in range(5000)]
    with writer_for(tmp_path / "out.parquet", metadata={"srl_data": "yes"}) as writer:
        writer.write_all(rows)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.to_pylist() == rows
    assert table.schema.metadata[b"srl_data"] == b"yes"


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "out.parquet"])
def test_a_model_row_or_an_encoded_row_is_written_as_its_model_dump(tmp_path, name):
    from srl_data.models import Reject

    row = Reject(id="a", reason="too_few_steps", detail="héllo\nworld")
    with writer_for(tmp_path / name) as writer:
        writer.write(row)
        writer.write(row.model_dump())  # a model and its dict give the same row
        writer.write_encoded(type(writer).encode(row))  # and so does a row encoded elsewhere (a worker)
        assert writer.count == 3
    expected = [row.model_dump()] * 3
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        assert pq.read_table(tmp_path / name).to_pylist() == expected
    else:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(tmp_path / name, "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        assert lines[0] == lines[1] == lines[2] and [json.loads(line) for line in lines] == expected


def test_parquet_columns_empty_in_the_first_batch_become_text(tmp_path):
    import pyarrow.parquet as pq

    with writer_for(tmp_path / "out.parquet") as writer:
        writer.write({"id": "a", "answer": None})
        writer.write({"id": "b", "answer": None})
    table = pq.read_table(tmp_path / "out.parquet")
    assert str(table.schema.field("answer").type) == "string"
    assert table.to_pylist() == [{"id": "a", "answer": None}, {"id": "b", "answer": None}]


def test_empty_parquet_output_is_a_valid_file(tmp_path):
    import pyarrow.parquet as pq

    with writer_for(tmp_path / "out.parquet"):
        pass
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 0


def test_unknown_extension_names_the_known_ones(tmp_path):
    with pytest.raises(OutputError) as info:
        writer_for(tmp_path / "out.csv")
    assert str(info.value) == f"{tmp_path / 'out.csv'}: unknown output type. End the output name in one of .jsonl, .jsonl.gz, .parquet."


def test_unwritable_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot be written"):
        with writer_for(blocker / "out.jsonl"):
            pass
    assert _names(tmp_path) == {"file"}


def test_atomic_write_text_writes_whole_file_with_the_usual_mode(tmp_path):
    target = tmp_path / "sub" / "run.manifest.json"
    atomic_write_text(target, '{"a": 1}\n')
    assert target.read_text() == '{"a": 1}\n'
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["run.manifest.json"]


def test_atomic_write_text_into_an_unwritable_place_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot be written"):
        atomic_write_text(blocker / "m.json", "{}")


def test_parquet_empty_objects_and_all_empty_columns_are_stored_as_text(tmp_path):
    import pyarrow.parquet as pq

    rows = [{"id": str(i), "meta": {}, "note": None} for i in range(3)]
    rows.append({"id": "3", "meta": {"a": [1, 2]}, "note": "text stays text"})
    with writer_for(tmp_path / "out.parquet") as writer:
        writer.batch_size = 3  # the schema comes from rows without any keys or notes
        for row in rows:
            writer.write(row)
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["meta"] for r in table] == ["{}", "{}", "{}", '{"a": [1, 2]}']
    assert [r["note"] for r in table] == [None, None, None, "text stays text"]


def test_parquet_json_columns_keep_varying_keys(tmp_path):
    import pyarrow.parquet as pq

    rows = [{"id": "1", "metadata": {"a": 1}}, {"id": "2", "metadata": {"b": "x"}}]
    with writer_for(tmp_path / "out.parquet", json_columns={"metadata"}) as writer:
        writer.batch_size = 1
        writer.write_all(rows)
    assert [json.loads(r["metadata"]) for r in pq.read_table(tmp_path / "out.parquet").to_pylist()] == [
        {"a": 1}, {"b": "x"}]


def test_parquet_row_of_another_type_is_an_output_error_and_leaves_nothing(tmp_path):
    with pytest.raises(OutputError, match=r"out\.parquet: a row does not fit the column types of the first rows"):
        with writer_for(tmp_path / "out.parquet") as writer:
            writer.batch_size = 1
            writer.write({"id": "1", "steps": ["a"]})
            writer.write({"id": "2", "steps": 5})
            writer.write({"id": "3", "steps": ["b"]})
    assert list(tmp_path.iterdir()) == []


def test_parquet_later_row_with_a_new_column_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="a row has columns the first rows lacked: extra"):
        with writer_for(tmp_path / "out.parquet") as writer:
            writer.batch_size = 2
            writer.write_all([{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4", "extra": 1}])
