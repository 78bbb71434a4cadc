"""The answer cache: durable appends, torn last lines, one writer at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srl_data.errors import OutputError
from srl_data.teacher.cache import AnswerCache

REPLY = {"content": "1. **A** b\n\\boxed{1}", "finish_reason": "stop", "usage": {"prompt_tokens": 3}}


def test_put_get_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with AnswerCache(path) as cache:
        cache.put("k1", REPLY, id="p1")
        cache.put("k2", {**REPLY, "content": "two"}, id="p2")
        assert "k1" in cache and len(cache) == 2
        assert cache.get("k2")["reply"]["content"] == "two"
        assert cache.get("missing") is None
    with AnswerCache(path) as cache:
        assert cache.get("k1")["reply"] == REPLY
        assert cache.get("k1")["id"] == "p1"
        assert cache.torn_bytes == 0


def test_torn_last_line_is_dropped_and_appends_continue(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with AnswerCache(path) as cache:
        cache.put("k1", REPLY)
    good = path.read_bytes()
    path.write_bytes(good + b'{"v": 1, "key": "k2", "reply": {"content": "half')  # kill -9 mid-write
    with AnswerCache(path) as cache:
        assert cache.torn_bytes > 0
        assert "k2" not in cache and "k1" in cache
        cache.put("k3", REPLY)
    lines = path.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["k1", "k3"]


def test_unreadable_complete_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('not json\n{"key": "k1", "reply": {}}\n')
    with AnswerCache(path) as cache:
        assert cache.bad_lines == 1
        assert "k1" in cache


def test_last_answer_for_a_key_wins(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with AnswerCache(path) as cache:
        cache.put("k", {"content": "old"})
        cache.put("k", {"content": "new"})
    with AnswerCache(path) as cache:
        assert cache.get("k")["reply"]["content"] == "new"


def test_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with AnswerCache(path):
        with pytest.raises(OutputError, match="in use by another srl-data generate run"):
            AnswerCache(path)
    with AnswerCache(path):  # released on close
        pass


def test_read_only_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with AnswerCache(path, read_only=True) as cache:
        assert len(cache) == 0
        with pytest.raises(OutputError):
            cache.put("k", REPLY)
    assert not path.exists()
