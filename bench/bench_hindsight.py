"""Hindsight throughput, peak memory and output size.

1. 10,000 agent-length trajectories (27 steps, each an action of ~90 characters
   and an observation of ~130) through the real job (read JSONL -> plan ->
   goals -> leak guard -> render -> validate -> count tokens -> trl rows ->
   JSON) with ``future --k 4``, against a baseline measured in the same run: a
   naive loop over the same file that emits the same (i, j) pairs as plain
   dicts (state, goal, target) and serialises them, with no validation, prompt
   or token counting. Rows are serialised exactly as the JSONL writer does but
   only counted, not stored: 10k trajectories give ~1M pairs and several GB.
2. Peak memory (max RSS of a fresh process per run) for 250 and 10k
   trajectories: flat if memory does not grow with the input.
3. Output size per 1,000 trajectories for ``next``, ``future`` and ``all``
   (measured on 250 trajectories of the same shape and scaled: ``all`` alone
   would be ~3 GB for 1,000).

``BENCH_HINDSIGHT_TRAJECTORIES`` changes the 10,000 for a quick look.

Each measurement runs in its own interpreter so peak RSS is its own.
Runtime: about 3.5 minutes on 2 shared, busy cores.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

STEPS = 27
TRAJECTORIES = int(os.environ.get("BENCH_HINDSIGHT_TRAJECTORIES", "10000"))
SMALL = 250  # output sizes are measured on this many and scaled to 1,000
WORDS = ("src tests main util config parser token model data value index error file line return "
         "import class def self result output input check build write read path").split()


def _pools(rng: random.Random) -> tuple[list[str], list[str]]:
    actions, observations = [], []
    for _ in range(997):
        words = " ".join(rng.choice(WORDS) for _ in range(4))
        actions.append(f"<function=bash><parameter=command>grep -rn '{words}' src/</parameter></function>")
        lines = [f"src/{rng.choice(WORDS)}.py:{rng.randint(1, 900)}: {' '.join(rng.choice(WORDS) for _ in range(5))}"
                 for _ in range(2)]
        observations.append("\n".join(lines) + "\n(Current directory: /repo)\nbash-$")
    return actions, observations


def write_input(path: Path, count: int) -> None:
    """``count`` agent trajectories of STEPS steps (action ~90 chars, observation ~130)."""
    rng = random.Random(1234)
    actions, observations = _pools(rng)
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            steps = [{"action": actions[(n * 31 + k * 7) % 997], "observation": observations[(n * 17 + k * 13) % 997],
                      "thought": "look around"} for k in range(STEPS)]
            row = {"id": f"traj-{n:05d}", "kind": "agent", "problem": f"Fix issue {n}: the parser drops tokens.",
                   "segmenter": "agent", "steps": steps}
            handle.write(json.dumps(row) + "\n")


# --- workers (each in a fresh interpreter) ------------------------------------

def worker_pipeline(source: str, strategy: str, k: str) -> dict:
    from srl_data import writers
    from srl_data.hindsight import HindsightConfig, HindsightOptions, hindsight

    class CountingWriter(writers.JsonlWriter):
        """Serialises rows like the JSONL writer and counts their bytes (no disk)."""

        def _open(self, tmp: Path) -> None:
            self.bytes = 0

        def _write(self, row: dict) -> None:
            self.bytes += len((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))

        def _close(self) -> None:
            COUNTED["bytes"] = self.bytes

    COUNTED: dict[str, int] = {}
    writers.WRITERS[".count.jsonl"] = CountingWriter
    out = str(Path(source).with_suffix(f".{strategy}.count.jsonl"))
    options = HindsightOptions(strategy=strategy, k=int(k) if strategy == "future" else None, goal="result")
    start = time.perf_counter()
    summary = hindsight(HindsightConfig(input=source, output=out, options=options))
    seconds = time.perf_counter() - start
    Path(out).unlink(missing_ok=True)
    return {"pairs": summary.records_written, "seconds": seconds, "bytes": COUNTED["bytes"],
            "trajectories": summary.trajectories, "candidates": summary.pairs_by_strategy[strategy]}


def worker_baseline(source: str, strategy: str, k: str) -> dict:
    """Same pairs, plain dicts: no validation, prompts, tokens or leak guard."""
    from srl_data.hindsight.strategies import trajectory_rng

    assert strategy == "future"
    k_ = int(k)
    pairs = 0
    size = 0
    start = time.perf_counter()
    with open(source, encoding="utf-8") as handle:
        for line in handle:
            t = json.loads(line)
            steps = t["steps"]
            n = len(steps)
            actions = [s["action"] for s in steps]
            rng = trajectory_rng(0, t["id"])
            for i in range(n):
                choices = range(i + 1, n + 1)
                goals = choices if len(choices) <= k_ else sorted(rng.sample(choices, k_))
                for j in goals:
                    row = {"id": f"{t['id']}-h{i}-{j}", "trajectory_id": t["id"], "start_index": i,
                           "goal_index": j, "problem": t["problem"], "start_state": actions[:i],
                           "goal": steps[j - 1]["observation"].splitlines()[0] if steps[j - 1].get("observation")
                           else actions[j - 1],
                           "expert_action": actions[i]}
                    size += len((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
                    pairs += 1
    return {"pairs": pairs, "seconds": time.perf_counter() - start, "bytes": size}


def run_worker(name: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"worker {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _worker_main(name: str, args: list[str]) -> None:
    result = {"pipeline": worker_pipeline, "baseline": worker_baseline}[name](*args)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "traj_big.jsonl", Path(tmp) / "traj_small.jsonl"
        t0 = time.perf_counter()
        write_input(big, TRAJECTORIES)
        write_input(small, SMALL)
        print(f"input: {TRAJECTORIES:,} agent trajectories x {STEPS} steps, {big.stat().st_size / 1e6:.0f} MB JSONL "
              f"(written in {time.perf_counter() - t0:.1f} s)")

        base = run_worker("baseline", str(big), "future", "4")
        ours = run_worker("pipeline", str(big), "future", "4")
        assert base["pairs"] == ours["candidates"], "baseline and pipeline must make the same pairs"
        print(f"\nfuture --k 4, {TRAJECTORIES:,} trajectories (rows serialised as the JSONL writer does, not stored):")
        for label, r in (("baseline (plain dicts)", base), ("srl-data hindsight", ours)):
            print(f"  {label:24s} {r['pairs']:>9,} pairs  {r['seconds']:6.1f} s  {r['pairs'] / r['seconds']:>8,.0f} pairs/s"
                  f"  {r['bytes'] / 1e9:5.2f} GB ({r['bytes'] / r['seconds'] / 1e6:3.0f} MB/s)  peak RSS {r['peak_rss_mb']:4.0f} MB")
        print(f"  leak guard dropped {ours['candidates'] - ours['pairs']:,} of {ours['candidates']:,} candidates")
        ratio = (ours["pairs"] / ours["seconds"]) / (base["pairs"] / base["seconds"])
        print(f"  throughput hindsight / baseline: {ratio:.2f}x (the baseline skips validation, prompts, "
              "token counts and the leak guard)")

        print(f"\noutput per 1,000 trajectories (trl JSONL, goal result; measured on {SMALL}, x{1000 / SMALL:g}):")
        sizes = {}
        for strategy in ("next", "future", "all"):
            r = run_worker("pipeline", str(small), strategy, "4")
            sizes[strategy] = r
            scale = 1000 / r["trajectories"]
            print(f"  {strategy:7s} {r['pairs'] * scale:>9,.0f} pairs  {r['bytes'] * scale / 1e6:8.1f} MB  "
                  f"{r['bytes'] / max(r['pairs'], 1) / 1e3:5.1f} KB/pair  peak RSS {r['peak_rss_mb']:4.0f} MB")
        flat = ours["peak_rss_mb"] / sizes["future"]["peak_rss_mb"]
        print(f"\npeak RSS {TRAJECTORIES:,} vs {SMALL} trajectories (future): {ours['peak_rss_mb']:.0f} vs "
              f"{sizes['future']['peak_rss_mb']:.0f} MB = {flat:.2f}x for {TRAJECTORIES / SMALL:g}x the input")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        _worker_main(sys.argv[2], sys.argv[3:])
    else:
        main()
