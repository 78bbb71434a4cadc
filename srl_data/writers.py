"""Atomic, streaming writers for JSONL (``.jsonl``, ``.jsonl.gz``) and Parquet.

Rows go to a temporary file beside the output and are renamed into place only
when the ``with`` block ends without an error and the file was finished: an
interrupted or failed run never leaves a half-written output.
A row is a dict or a pydantic model (written as its ``model_dump()``: JSONL
serialises the model directly, without the intermediate dict).
:func:`open_writers` does the same for several outputs at once (all or none). A new format is one class registered in
:data:`WRITERS`.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from .errors import OutputError

if TYPE_CHECKING:
    from pydantic import BaseModel


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Writer:
    """Base class: subclasses implement ``_open``, ``_write`` and ``_close``."""

    def __init__(self, path: str | os.PathLike[str], *, metadata: dict[str, str] | None = None,
                 json_columns: set[str] | frozenset[str] = frozenset()) -> None:
        self.path = Path(path)
        # Free-form object columns; formats with a schema (Parquet) store them as JSON text.
        self.json_columns = set(json_columns)
        self.count = 0
        self.metadata = metadata or {}
        self._tmp: Path | None = None
        self._closed = False

    # -- life cycle: open -> write ... -> finish -> publish (or discard) ----
    def open(self) -> "Writer":
        """Create the temporary file beside the output."""
        parent = self.path.parent
        if self.path.is_dir():
            raise OutputError("is a folder", path=str(self.path), hint="give a file name such as out.jsonl")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=parent)
        except OSError as exc:
            raise OutputError(
                f"cannot be written ({exc.strerror})",
                path=str(self.path),
                hint="choose a writable location with -o",
            ) from None
        os.close(fd)
        # mkstemp makes the file private (0600); the output gets the usual mode.
        os.chmod(tmp, 0o666 & ~_umask())
        self._tmp = Path(tmp)
        try:
            self._open(self._tmp)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
            raise
        return self

    def finish(self) -> None:
        """Flush and close the temporary file; on failure remove it and raise."""
        assert self._tmp is not None
        try:
            self._close()
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
            raise
        self._closed = True

    def publish(self) -> None:
        """Rename the finished temporary file onto the output path."""
        assert self._tmp is not None and self._closed
        os.replace(self._tmp, self.path)
        self._tmp = None

    def discard(self) -> None:
        """Close (ignoring errors) and remove the temporary file: no output is left."""
        if self._tmp is None:
            return
        if not self._closed:
            try:
                self._close()
            except Exception:
                pass
        self._tmp.unlink(missing_ok=True)
        self._tmp = None

    def __enter__(self) -> "Writer":
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()
            return
        self.finish()
        self.publish()

    def write(self, row: dict[str, Any] | BaseModel) -> None:
        self._write(row)
        self.count += 1

    # -- rows prepared elsewhere (another process) ----------------------
    @staticmethod
    def encode(row: dict[str, Any] | BaseModel) -> Any:
        """The row in the form :meth:`write_encoded` takes; a pure function of
        the row, so worker processes can do it (JSONL: the serialised bytes)."""
        return row

    def write_encoded(self, item: Any) -> None:
        """Write a row that :meth:`encode` prepared."""
        self._write_encoded(item)
        self.count += 1

    def _write_encoded(self, item: Any) -> None:
        self._write(item)

    def write_all(self, rows: Iterable[dict[str, Any] | BaseModel]) -> int:
        for row in rows:
            self.write(row)
        return self.count

    # -- subclass hooks --------------------------------------------------
    def _open(self, tmp: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write(self, row: dict[str, Any] | BaseModel) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class JsonlWriter(Writer):
    """One JSON object a line (UTF-8, not ASCII-escaped); gzip-compressed when
    the name ends in ``.gz``. Rows are serialised by pydantic-core's JSON encoder,
    several times faster than :func:`json.dumps` on large records."""

    _handle: IO[bytes]

    def _open(self, tmp: Path) -> None:
        from pydantic_core import to_json

        self._to_json = to_json
        if self.path.name.endswith(".gz"):
            self._handle = gzip.open(tmp, "wb", compresslevel=6)
        else:
            self._handle = open(tmp, "wb", buffering=1 << 20)

    def _write(self, row: dict[str, Any] | BaseModel) -> None:
        self._handle.write(self._to_json(row) + b"\n")

    @staticmethod
    def encode(row: dict[str, Any] | BaseModel) -> bytes:
        from pydantic_core import to_json

        return to_json(row)

    def _write_encoded(self, item: bytes) -> None:
        self._handle.write(item + b"\n")

    def _close(self) -> None:
        self._handle.close()


class ParquetWriter(Writer):
    """Parquet in row groups of ``batch_size`` rows; the schema comes from the
    first batch.

    A column whose type the first batch cannot tell (every value empty, or an
    empty object), and any column named in ``json_columns`` (free-form
    objects whose keys vary from row to row), is stored as text: JSON for
    values that are not text already. A later row with a column the schema
    lacks, or a value of another type, is an :class:`OutputError`, never a
    silent loss.
    """

    batch_size = 2048

    def _open(self, tmp: Path) -> None:
        self._tmp_path = tmp
        self._buffer: list[dict[str, Any]] = []
        self._writer: Any = None
        self._schema: Any = None
        self._names: frozenset[str] = frozenset()

    @staticmethod
    def encode(row: dict[str, Any] | BaseModel) -> dict[str, Any]:
        return row if isinstance(row, dict) else row.model_dump()

    def _write(self, row: dict[str, Any] | BaseModel) -> None:
        self._buffer.append(row if isinstance(row, dict) else row.model_dump())
        if len(self._buffer) >= self.batch_size:
            self._flush()

    def _as_text(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.json_columns:
            return rows
        out = []
        for row in rows:
            row = dict(row)
            for name in self.json_columns:
                value = row.get(name)
                if value is not None and not isinstance(value, str):
                    row[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
            out.append(row)
        return out

    def _flush(self) -> None:
        if not self._buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            inferred = pa.Table.from_pylist(self._buffer).schema
            self.json_columns |= {f.name for f in inferred if _unknowable(f.type)}
            rows = self._as_text(self._buffer)
            table = pa.Table.from_pylist(rows)
            self._schema = _fill_null_types(table.schema).with_metadata(
                {k.encode(): v.encode() for k, v in self.metadata.items()} or None
            )
            self._names = frozenset(self._schema.names)
            table = table.cast(self._schema)
            self._writer = pq.ParquetWriter(self._tmp_path, self._schema, compression="zstd")
        else:
            for row in self._buffer:
                unknown = row.keys() - self._names
                if unknown:
                    raise OutputError(
                        f"a row has columns the first rows lacked: {', '.join(sorted(unknown))}",
                        path=str(self.path),
                        hint="write JSONL for rows of varying shape",
                    )
            try:
                table = pa.Table.from_pylist(self._as_text(self._buffer), schema=self._schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise OutputError(
                    f"a row does not fit the column types of the first rows ({str(exc).splitlines()[0]})",
                    path=str(self.path),
                    hint="write JSONL for rows of varying shape",
                ) from None
        self._writer.write_table(table)
        self._buffer = []

    def _close(self) -> None:
        try:
            self._flush()
        finally:
            if self._writer is not None:
                self._writer.close()
            elif self.count == 0:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({}), self._tmp_path)


def _unknowable(kind: Any, top: bool = True) -> bool:
    """A column type the first batch cannot pin down: null at the top, or an
    object with no fields at any depth (nested nulls simply become text)."""
    import pyarrow as pa

    if pa.types.is_null(kind):
        return top
    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_unknowable(f.type, False) for f in kind)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _unknowable(kind.value_type, False)
    return False


def _fill_null_types(schema: Any) -> Any:
    """Replace columns typed ``null`` (all values empty in the first batch) by text."""
    import pyarrow as pa

    def fix(kind: Any) -> Any:
        if pa.types.is_null(kind):
            return pa.string()
        if pa.types.is_list(kind):
            return pa.list_(fix(kind.value_type))
        if pa.types.is_struct(kind):
            return pa.struct([pa.field(f.name, fix(f.type)) for f in kind])
        return kind

    return pa.schema([pa.field(f.name, fix(f.type)) for f in schema])


# Writers by file-name ending (longest ending wins). Add a format here.
WRITERS: dict[str, type[Writer]] = {
    ".jsonl": JsonlWriter,
    ".jsonl.gz": JsonlWriter,
    ".parquet": ParquetWriter,
}


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write a small text file atomically (temporary file, then rename), with
    the usual file mode; return its path."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot be written ({exc.strerror})", path=str(target),
                          hint="choose a writable location") from None
    return target


@contextmanager
def open_writers(*writers: Writer | None) -> Iterator[tuple[Writer | None, ...]]:
    """Open several writers as one atomic unit: every output appears only when
    the block ends without an error and every file was finished; otherwise none
    does. ``None`` entries (an output not asked for) pass through."""
    opened: list[Writer] = []
    try:
        for writer in writers:
            if writer is not None:
                opened.append(writer.open())
        yield writers
        for writer in opened:
            writer.finish()
    except BaseException:
        for writer in opened:
            writer.discard()
        raise
    for writer in opened:
        writer.publish()


def writer_for(path: str | os.PathLike[str], **kwargs: Any) -> Writer:
    """The writer for ``path``, chosen by its extension."""
    return writer_class(path)(path, **kwargs)


def writer_class(path: str | os.PathLike[str]) -> type[Writer]:
    """The writer class for ``path``, chosen by its extension."""
    name = Path(path).name.lower()
    for ending in sorted(WRITERS, key=len, reverse=True):
        if name.endswith(ending):
            return WRITERS[ending]
    raise OutputError(
        "unknown output type",
        path=str(path),
        hint=f"end the output name in one of {', '.join(sorted(WRITERS))}",
    )
