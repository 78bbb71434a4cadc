"""Benchmark: teacher generation throughput and client CPU cost.

The fixture chat-completions server (tests/chat_server.py) runs in its own
process with a fixed latency per answer; at concurrency C and latency L the
ideal throughput is C / L requests per second. Measured in the same run:

- bare client: the openai async client alone, C requests in flight, no cache,
  limits or judging (the floor our machinery adds to);
- generate: the full fetch pass (rate limiter, retries, fsync-ed cache appends);
- whole run: plan + fetch + write (judging, segmenting, atomic output);
- rerun: everything from the cache (what resuming costs).

Goal: generate's fetch pass at >= 90% of the ideal rate.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY = 0.2
CONCURRENCY = 32
REQUESTS = 1280


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "chat_server.py"), "--latency", str(LATENCY)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    return process, url


async def bare_client(url: str, count: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="no-key", max_retries=0)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"Bare {i}: give back {i}."}]
            )

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - start
    await client.close()
    return elapsed


def main() -> int:
    from srl_data.generate import GenerateConfig, generate

    ideal = CONCURRENCY / LATENCY
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "problems.jsonl"
            with source.open("w") as handle:
                for i in range(REQUESTS):
                    handle.write(json.dumps({"id": f"p{i}", "problem": f"Problem {i}: give back {i}.",
                                             "answer": str(i)}) + "\n")
            # Warm up imports and the server's threads.
            asyncio.run(bare_client(url, CONCURRENCY))

            cpu = time.process_time()
            bare = asyncio.run(bare_client(url, REQUESTS))
            bare_cpu = (time.process_time() - cpu) / REQUESTS

            marks: dict[str, float] = {}

            def on_start(_progress: object) -> None:
                marks["fetch_start"] = time.perf_counter()
                marks["fetch_cpu"] = time.process_time()

            def on_progress(progress: object) -> None:
                marks["fetch_end"] = time.perf_counter()
                marks["fetch_cpu_end"] = time.process_time()

            config = GenerateConfig(input=str(source), output=str(Path(tmp) / "out.jsonl"), teacher="m",
                                    base_url=url, concurrency=CONCURRENCY)
            os.environ.pop("OPENAI_BASE_URL", None)
            start, cpu = time.perf_counter(), time.process_time()
            summary = generate(config, on_progress=on_progress, on_start=on_start)
            whole = time.perf_counter() - start
            whole_cpu = (time.process_time() - cpu) / REQUESTS
            assert summary.complete and summary.rows_written == REQUESTS, summary.outcomes
            fetch = marks["fetch_end"] - marks["fetch_start"]
            fetch_cpu = (marks["fetch_cpu_end"] - marks["fetch_cpu"]) / REQUESTS

            start = time.perf_counter()
            again = generate(config)
            rerun = time.perf_counter() - start
            assert again.from_cache == REQUESTS and again.answered == 0
    finally:
        server.terminate()
        server.wait()

    def rate(seconds: float) -> float:
        return REQUESTS / seconds

    print(f"{REQUESTS} requests, concurrency {CONCURRENCY}, server latency {LATENCY * 1000:.0f} ms: "
          f"ideal {ideal:.0f} req/s")
    print(f"  bare openai client   {rate(bare):7.1f} req/s  {rate(bare) / ideal:6.1%} of ideal  "
          f"CPU {bare_cpu * 1000:.2f} ms/request")
    print(f"  generate, fetch pass {rate(fetch):7.1f} req/s  {rate(fetch) / ideal:6.1%} of ideal  "
          f"CPU {fetch_cpu * 1000:.2f} ms/request  ({rate(fetch) / rate(bare):.2f}x the bare client)")
    print(f"  generate, whole run  {rate(whole):7.1f} req/s  {rate(whole) / ideal:6.1%} of ideal  "
          f"CPU {whole_cpu * 1000:.2f} ms/request (plan + fetch + judge + write)")
    print(f"  rerun from the cache {rerun:7.2f} s for {REQUESTS} rows ({rerun / REQUESTS * 1000:.2f} ms/row, "
          "nothing sent)")
    goal = rate(fetch) / ideal >= 0.9
    print(f"  goal (fetch >= 90% of ideal): {'met' if goal else 'NOT met (machine load? see bare client ratio)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
