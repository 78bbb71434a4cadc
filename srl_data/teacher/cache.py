"""The answer cache: every paid answer, kept the moment it arrives.

A JSON Lines file beside the output. Each line is one answer, keyed by the hash
of its exact request (:attr:`TeacherRequest.key`), written with one ``write``
then flushed and ``fsync``-ed before the caller goes on: a ``kill -9`` at any
moment loses at most the answers still in flight. Opening the cache drops a
torn last line (a write the kill interrupted) and keeps the rest.

Only an index (key -> where its line is) stays in memory; answers are read
back from the file when needed, so memory does not grow with answer sizes.
The file is locked while open so two runs cannot write one cache. It never
holds the API key: only the request's hash, ids, the model and the answer.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import OutputError

CACHE_VERSION = 1


class AnswerCache:
    """Append-only, crash-tolerant store of answers by request key."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False, fsync: bool = True) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.fsync = fsync
        self._index: dict[str, tuple[int, int]] = {}
        self.torn_bytes = 0  # bytes of an interrupted last line that were dropped
        self.bad_lines = 0  # unreadable complete lines (skipped)
        self.added = 0
        self._fd: int | None = None
        if read_only:
            if self.path.exists():
                self._fd = os.open(self.path, os.O_RDONLY)
                self._scan(truncate=False)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise OutputError(
                f"the answer cache cannot be opened ({exc.strerror})",
                path=str(self.path),
                hint="choose a writable location with -o or --cache",
            ) from None
        self._lock()
        self._scan(truncate=True)

    # -- opening ---------------------------------------------------------
    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise OutputError(
                "the answer cache is in use by another srl-data generate run",
                path=str(self.path),
                hint="wait for that run to finish, or give this run another -o or --cache",
            ) from None

    def _scan(self, *, truncate: bool) -> None:
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        offset = 0
        good_end = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                start = offset
                offset += len(line)
                if not line.endswith(b"\n"):
                    break  # torn last line
                good_end = offset
                try:
                    record = json.loads(line)
                    key = record["key"]
                except (ValueError, KeyError, TypeError):
                    self.bad_lines += 1
                    continue
                self._index[key] = (start, len(line))
        if good_end < size:
            self.torn_bytes = size - good_end
            if truncate:
                os.ftruncate(self._fd, good_end)

    # -- use -------------------------------------------------------------
    def __contains__(self, key: str) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record for ``key`` (``reply`` holds the answer), or None."""
        where = self._index.get(key)
        if where is None or self._fd is None:
            return None
        data = os.pread(self._fd, where[1], where[0])
        return json.loads(data)

    def put(self, key: str, reply: dict[str, Any], **info: Any) -> None:
        """Append one answer and make it durable before returning."""
        if self.read_only or self._fd is None:
            raise OutputError("the answer cache is open read-only", path=str(self.path))
        record = {"v": CACHE_VERSION, "key": key, **info, "reply": reply,
                  "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        start = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, data)
            while written < len(data):  # regular files rarely write short, but be exact
                written += os.write(self._fd, data[written:])
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(
                f"cannot write to the answer cache ({exc.strerror})",
                path=str(self.path),
                hint="free some disk space; answers already cached are kept, rerun to resume",
            ) from None
        self._index[key] = (start, len(data))
        self.added += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the lock
            self._fd = None

    def __enter__(self) -> "AnswerCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
