"""split-steps on agent trajectories: throughput and peak memory.

1. Agent-length OpenAI-messages trajectories (30 assistant turns, each a tool
   call with JSON arguments and a tool reply of ~1,500 characters, plus a
   system prompt and task) through the real job (read JSONL -> parse messages
   -> segment -> render chat prompts -> count tokens -> validate -> write
   JSONL), against a baseline measured in the same run: a naive loop over the
   same file that emits, per assistant turn, a plain dict (task, earlier
   action/observation pairs, target = the raw arguments string) and writes it,
   with no parsing of calls, prompt, validation or token counting.
2. The same job with ``--history-window 5 --max-observation-chars 500``: the
   prompts, and so the output, stop growing with the step index.
3. Peak memory (max RSS of a fresh process) for 100 and 400 trajectories:
   flat if memory does not grow with the number of input rows.

Each measurement runs in its own interpreter. Runtime: about 1-2 minutes.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TURNS = 30
WORDS = ("src tests main util config parser token model data value index error file line return "
         "import class def self result output input check build write read path").split()


def make_row(n: int, rng: random.Random) -> dict:
    messages = [
        {"role": "system", "content": "You are a software agent. Tools: bash(command), read_file(path). " * 8},
        {"role": "user", "content": f"Fix issue {n}: the parser drops tokens when a line ends in a comment."},
    ]
    for t in range(TURNS):
        words = " ".join(rng.choice(WORDS) for _ in range(6))
        call_id = f"c{n}_{t}"
        messages.append({
            "role": "assistant",
            "content": f"<think>look for {words}</think>Searching for {words}.",
            "tool_calls": [{"id": call_id, "type": "function", "function": {
                "name": "bash", "arguments": json.dumps({"command": f"grep -rn '{words}' src/"})}}],
        })
        lines = [f"src/{rng.choice(WORDS)}.py:{rng.randint(1, 900)}: {' '.join(rng.choice(WORDS) for _ in range(8))}"
                 for _ in range(25)]
        messages.append({"role": "tool", "tool_call_id": call_id, "content": "\n".join(lines)})
    return {"id": f"traj-{n:05d}", "messages": messages}


def write_input(path: Path, count: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps(make_row(n, rng)) + "\n")


# --- workers (each in a fresh interpreter) ------------------------------------

def worker_job(source: str, output: str, windowed: str) -> dict:
    from srl_data.records import StepRecordOptions
    from srl_data.split_steps import SplitStepsConfig, split_steps
    from srl_data.trajectories import ReadOptions

    records = StepRecordOptions(history_window=5, max_observation_chars=500) if windowed == "1" else StepRecordOptions()
    start = time.perf_counter()
    summary = split_steps(SplitStepsConfig(input=source, output=output, read=ReadOptions(preset="messages"),
                                           records=records))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "records": summary.records_written, "bytes": Path(output).stat().st_size,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_baseline(source: str, output: str) -> dict:
    start = time.perf_counter()
    written = 0
    with open(source, encoding="utf-8") as src, open(output, "w", encoding="utf-8") as out:
        for line in src:
            row = json.loads(line)
            messages = row["messages"]
            task = messages[1]["content"]
            pairs: list[tuple[str, str]] = []
            for index, message in enumerate(messages):
                if message["role"] != "assistant":
                    continue
                action = message["tool_calls"][0]["function"]["arguments"]
                out.write(json.dumps({"task": task, "history": pairs, "target": action}) + "\n")
                written += 1
                pairs = pairs + [(action, messages[index + 1]["content"])]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "records": written, "bytes": Path(output).stat().st_size,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_worker(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, big = folder / "small.jsonl", folder / "big.jsonl"
        write_input(small, 100)
        write_input(big, 400)
        print(f"input: 400 trajectories x {TURNS} turns, {big.stat().st_size / 1e6:.1f} MB")
        base = run_worker("baseline", str(big), str(folder / "base.jsonl"))
        job = run_worker("job", str(big), str(folder / "job.jsonl"), "0")
        windowed = run_worker("job", str(big), str(folder / "win.jsonl"), "1")
        for name, r in (("baseline (naive dicts)", base), ("split-steps", job),
                        ("split-steps --history-window 5 --max-observation-chars 500", windowed)):
            print(f"{name:58s} {r['records']:>7,} records  {r['seconds']:6.2f} s  "
                  f"{r['records'] / r['seconds']:>8,.0f} rec/s  {r['bytes'] / 1e6:8.1f} MB out")
        print(f"ratio split-steps / baseline time: {job['seconds'] / base['seconds']:.2f}x")
        print(f"ratio windowed / full output bytes: {windowed['bytes'] / job['bytes']:.3f}")
        mem_small = run_worker("job", str(small), str(folder / "m1.jsonl"), "0")
        print(f"peak RSS: 100 trajectories {mem_small['rss_mb']:.0f} MB, 400 trajectories {job['rss_mb']:.0f} MB "
              f"(ratio {job['rss_mb'] / mem_small['rss_mb']:.2f}; flat means memory does not grow with rows)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "job":
        print(json.dumps(worker_job(*sys.argv[2:5])))
    elif len(sys.argv) > 1 and sys.argv[1] == "baseline":
        print(json.dumps(worker_baseline(*sys.argv[2:4])))
    else:
        main()
