"""split-steps throughput, peak memory and cold start, against a naive baseline.

Generates s1K-style corpora (numbered, bold-titled solutions with 8 steps, a
thinking field, display math) of 10k and 100k solutions in a temporary folder,
then runs, each in its own process so peak memory (ru_maxrss) is per run:

- split-steps (library call: validation, prompt rendering and token counting on);
- a naive baseline: read JSONL, one regex split, write JSONL of the same step
  records (ids, indices, problem, previous steps, action), no validation, no
  prompt, no tokens.

Goals (issue 2): split-steps >= 0.5x the baseline's records/s; peak memory at
100k <= 1.3x that at 10k; cold `srl-data --help` < 0.5 s (median of several).
Timings on a shared machine are noisy; the ratios within one run are what count,
and rates per CPU second (user + system time of the worker process) are printed
beside wall-clock rates because they suffer less from other load.

    python bench/bench_split_steps.py [--sizes 10000,100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STEPS = 8

TITLES = ["Set up the equation", "Factor the expression", "Apply the zero-product rule", "Substitute back",
          "Simplify", "Check the constraint", "Count the cases", "Combine the results", "Use symmetry",
          "Bound the sum"]
WORDS = ("we have the value of so that then it follows since each term is positive and the sum equals "
         "hence by definition therefore both sides give").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def make_row(rng: random.Random, i: int) -> dict:
    steps = []
    for k in range(1, STEPS + 1):
        body = f"{_sentence(rng, 12)} $x_{k} = {rng.randint(1, 999)}$."
        if k % 3 == 0:
            body += f"\n$$\n{k + 1}. x_{k} + y_{k} = {rng.randint(1, 99)}\n$$"
        if k == 4:
            body += "\n   1. the first case\n   2. the second case"
        steps.append(f"{k}. **{rng.choice(TITLES)}** {body}")
    answer = str(rng.randint(1, 10_000))
    attempt = "We work step by step.\n\n" + "\n\n".join(steps) + f"\n\nFinal answer: $\\boxed{{{answer}}}$"
    return {
        "question": f"Problem {i}: {_sentence(rng, 25)}?",
        "solution": answer,
        "deepseek_thinking_trajectory": _sentence(rng, 80),
        "deepseek_attempt": attempt,
    }


def generate(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps(make_row(rng, i)) + "\n")


# ---------------------------------------------------------------------------
# Workers (run in a fresh process each; print one JSON line)


def run_split_steps(src: str, out: str) -> int:
    sys.path.insert(0, str(REPO))
    from srl_data.split_steps import SplitStepsConfig, split_steps
    from srl_data.trajectories import ReadOptions

    summary = split_steps(SplitStepsConfig(input=src, output=out, read=ReadOptions(preset="s1k")))
    return summary.records_written


def run_baseline(src: str, out: str) -> int:
    import hashlib
    import re

    split = re.compile(r"\n+(?=\d+\. \*\*)")
    count = 0
    with open(src, encoding="utf-8") as reader, open(out, "w", encoding="utf-8") as writer:
        for line in reader:
            row = json.loads(line)
            steps = split.split(row["deepseek_attempt"])[1:]
            tid = hashlib.sha256(line.encode()).hexdigest()[:16]
            for k, step in enumerate(steps, start=1):
                record = {"id": f"{tid}-s{k}", "trajectory_id": tid, "step_index": k, "num_steps": len(steps),
                          "problem": row["question"], "previous_steps": steps[: k - 1], "expert_action": step,
                          "answer": row["solution"]}
                writer.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    return count


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(kind: str, src: str, out: str) -> None:
    start, cpu = time.perf_counter(), _cpu()
    records = run_split_steps(src, out) if kind == "split" else run_baseline(src, out)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"records": records, "seconds": seconds, "cpu": cpu, "max_rss_mib": rss_kib / 1024}))


def measure(kind: str, src: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", kind, str(src), str(out)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rate"] = result["records"] / result["seconds"]
    result["cpu_rate"] = result["records"] / result["cpu"]
    result["out_mib"] = out.stat().st_size / 2**20
    out.unlink()
    return result


def cold_help(runs: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds of `srl-data --help` in a fresh process."""
    exe = Path(sys.executable).parent / "srl-data"
    command = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "srl_data", "--help"]
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--keep", help="keep the generated corpora in this folder")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "SRC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(args.keep or tempfile.mkdtemp(prefix="srl-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    ok = True
    try:
        results = {}
        for n in sizes:
            src = folder / f"s1k_{n}.jsonl"
            if not src.exists():
                start = time.perf_counter()
                generate(src, n)
                print(f"generated {n:,} solutions ({src.stat().st_size / 2**20:.0f} MiB) "
                      f"in {time.perf_counter() - start:.1f} s", flush=True)
            base = measure("baseline", src, folder / "baseline.jsonl")
            split = measure("split", src, folder / "steps.jsonl")
            results[n] = (base, split)
            ratio = split["rate"] / base["rate"]
            cpu_ratio = split["cpu_rate"] / base["cpu_rate"]
            for name, r in (("split-steps", split), ("baseline   ", base)):
                print(f"{n:>7,} solutions, {name}: {r['records']:,} records in {r['seconds']:.1f} s wall "
                      f"({r['cpu']:.1f} s CPU) = {r['rate']:,.0f} rec/s wall, {r['cpu_rate']:,.0f} rec/s CPU; "
                      f"peak {r['max_rss_mib']:.0f} MiB; output {r['out_mib']:.0f} MiB", flush=True)
            print(f"{'':>9}throughput ratio split-steps / baseline = {ratio:.2f} wall, {cpu_ratio:.2f} CPU "
                  "(goal >= 0.5)", flush=True)
            ok &= ratio >= 0.5
        if len(sizes) >= 2:
            small, large = results[sizes[0]][1], results[sizes[-1]][1]
            growth = large["max_rss_mib"] / small["max_rss_mib"]
            print(f"peak memory {sizes[-1]:,} vs {sizes[0]:,}: {large['max_rss_mib']:.0f} / "
                  f"{small['max_rss_mib']:.0f} MiB = {growth:.2f}x (goal <= 1.3x)")
            ok &= growth <= 1.3
        wall, cpu = cold_help()
        print(f"cold `srl-data --help`: median {wall:.3f} s wall, {cpu:.3f} s CPU over 5 runs (goal < 0.5 s)")
        ok &= wall < 0.5
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("all goals met" if ok else "some goals missed (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
