"""split-steps throughput, peak memory and cold start, against a naive baseline.

Generates s1K-style corpora (numbered, bold-titled solutions with 8 steps, a
thinking field, display math, a nested list) of 10k and 100k solutions in a
temporary folder, then runs, each in its own process so peak memory
(ru_maxrss) is per run:

- a naive baseline (the fair one): read JSONL, one regex split, and write the
  SAME records as split-steps (every field, including the rendered chat
  prompt of system + user messages, the user text built with a plain f-string
  of the same shape), one json.dumps per record; no validation, no
  segmentation rules, no thinking split, no token counting (counts written as 0);
- split-steps, 1 process (library call: pydantic validation of every record,
  the numbered segmenter's rules, exact cl100k token counts);
- split-steps --workers 2 (the same output; CPU time includes the workers').

Goals (issue 2): split-steps >= 0.5x the baseline's records/s; peak memory at
100k <= 1.3x that at 10k; cold `srl-data --help` < 0.5 s (median of several).
Timings on a shared machine are noisy; the ratios within one run are what count,
and rates per CPU second (user + system time of the run's processes) are
printed beside wall-clock rates because they suffer less from other load.

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
    return " ".join(rng.choices(WORDS, k=n)).capitalize()


def make_row(rng: random.Random, i: int) -> dict:
    steps = []
    for k in range(1, STEPS + 1):
        body = f"{_sentence(rng, 12)} $x_{k} = {rng.randrange(1, 1000)}$."
        if k % 3 == 0:
            body += f"\n$$\n{k + 1}. x_{k} + y_{k} = {rng.randrange(1, 100)}\n$$"
        if k == 4:
            body += "\n   1. the first case\n   2. the second case"
        steps.append(f"{k}. **{TITLES[rng.randrange(len(TITLES))]}** {body}")
    answer = str(rng.randrange(1, 10_000))
    attempt = "We work step by step.\n\n" + "\n\n".join(steps) + f"\n\nFinal answer: $\\boxed{{{answer}}}$"
    return {
        "question": f"Problem {i}: {_sentence(rng, 25)}?",
        "solution": answer,
        "deepseek_thinking_trajectory": _sentence(rng, 80),
        "deepseek_attempt": attempt,
    }


def generate(path: Path, n: int, seed: int = 0) -> None:
    """Every row differs (random words and numbers), so no cache sees repeats a real corpus would not have."""
    rng = random.Random(seed)
    encode = json.JSONEncoder().encode
    with open(path, "w", encoding="utf-8") as handle:
        for start in range(0, n, 1000):
            handle.write("".join(encode(make_row(rng, i)) + "\n" for i in range(start, min(n, start + 1000))))


# ---------------------------------------------------------------------------
# Workers (run in a fresh process each; print one JSON line)


def run_split_steps(src: str, out: str, workers: int = 1) -> int:
    sys.path.insert(0, str(REPO))
    from srl_data.split_steps import SplitStepsConfig, split_steps
    from srl_data.trajectories import ReadOptions

    summary = split_steps(SplitStepsConfig(input=src, output=out, read=ReadOptions(preset="s1k"), workers=workers))
    return summary.records_written


def run_baseline(src: str, out: str) -> int:
    """The naive job: the same record fields and prompt text as split-steps, by hand.

    One regex split per solution, the title cut from between the first two
    ``**``, the chat prompt (the template's system text, then the user text)
    rendered with a plain f-string, one ``json.dumps`` per record. No
    validation, no segmentation rules (nested lists, math, restarts), no
    thinking split, no token counting (the two count fields are written as 0).
    """
    import hashlib
    import re
    import tomllib

    text = (REPO / "prompts" / "srl_step.toml").read_text(encoding="utf-8")
    template, template_hash = tomllib.loads(text), hashlib.sha256(text.encode()).hexdigest()[:16]
    system = template["system"]
    split = re.compile(r"\n+(?=\d+\. \*\*)")
    count = 0
    with open(src, encoding="utf-8") as reader, open(out, "w", encoding="utf-8") as writer:
        for line in reader:
            row = json.loads(line)
            steps = split.split(row["deepseek_attempt"])[1:]
            tid = hashlib.sha256(line.encode()).hexdigest()[:16]
            problem = row["question"]
            metadata = {"segmenter": "numbered", "template_id": template["id"], "template_hash": template_hash,
                        "schema_version": "1", "source": src, "targets": "all", "title_hint": False}
            for k, step in enumerate(steps, start=1):
                done = "\n\n".join(steps[: k - 1]) or "(none yet)"
                user = f"Problem:\n{problem.strip()}\n\nSteps so far:\n{done}\n\nWrite step {k}.\n"
                record = {"id": f"{tid}-s{k}", "trajectory_id": tid, "step_index": k, "num_steps": len(steps),
                          "problem": problem, "previous_steps": steps[: k - 1], "expert_action": step,
                          "step_title": step.split("**", 2)[1], "thought": None, "answer": row["solution"],
                          "prompt": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                          "prompt_tokens": 0, "target_tokens": 0, "metadata": metadata}
                writer.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    return count


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


KINDS = {"baseline": "baseline", "split": "split-steps", "split2": "split-steps --workers 2"}


def worker(kind: str, src: str, out: str) -> None:
    start, cpu, children = time.perf_counter(), _cpu(), _cpu(resource.RUSAGE_CHILDREN)
    if kind == "baseline":
        records = run_baseline(src, out)
    else:
        records = run_split_steps(src, out, workers=2 if kind == "split2" else 1)
    seconds = time.perf_counter() - start
    # Worker processes have been joined by now, so their CPU time is in RUSAGE_CHILDREN.
    cpu = (_cpu() - cpu) + (_cpu(resource.RUSAGE_CHILDREN) - children)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"records": records, "seconds": seconds, "cpu": cpu, "max_rss_mib": rss_kib / 1024,
                      "child_rss_mib": child_kib / 1024}))


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
    met: dict[str, bool] = {}
    print("baseline = the same records (all fields, rendered system+user prompt) by one regex split, an f-string "
          "and json.dumps; no validation, no segmentation rules, no token counts", flush=True)
    try:
        results = {}
        for n in sizes:
            src = folder / f"s1k_{n}.jsonl"
            if not src.exists():
                start = time.perf_counter()
                generate(src, n)
                print(f"generated {n:,} solutions ({src.stat().st_size / 2**20:.0f} MiB) "
                      f"in {time.perf_counter() - start:.1f} s", flush=True)
            runs = {kind: measure(kind, src, folder / f"{kind}.jsonl") for kind in KINDS}
            results[n] = runs
            base = runs["baseline"]
            for kind, r in runs.items():
                peak = f"peak {r['max_rss_mib']:.0f} MiB" + (
                    f" (+ workers {r['child_rss_mib']:.0f} MiB each)" if kind == "split2" else "")
                print(f"{n:>7,} solutions, {KINDS[kind]:<23}: {r['records']:,} records in {r['seconds']:.1f} s wall "
                      f"({r['cpu']:.1f} s CPU) = {r['rate']:,.0f} rec/s wall, {r['cpu_rate']:,.0f} rec/s CPU; "
                      f"{peak}; output {r['out_mib']:.0f} MiB", flush=True)
            for kind in ("split", "split2"):
                r = runs[kind]
                ratio, cpu_ratio = r["rate"] / base["rate"], r["cpu_rate"] / base["cpu_rate"]
                print(f"{'':>9}{KINDS[kind]} / baseline = {ratio:.2f} wall, {cpu_ratio:.2f} CPU (goal >= 0.5)",
                      flush=True)
                met[f"throughput at {n:,}, {KINDS[kind]} (wall)"] = ratio >= 0.5
        if len(sizes) >= 2:
            small, large = results[sizes[0]]["split"], results[sizes[-1]]["split"]
            growth = large["max_rss_mib"] / small["max_rss_mib"]
            print(f"peak memory (split-steps, 1 process) {sizes[-1]:,} vs {sizes[0]:,}: {large['max_rss_mib']:.0f} / "
                  f"{small['max_rss_mib']:.0f} MiB = {growth:.2f}x (goal <= 1.3x)")
            met["peak memory"] = growth <= 1.3
        wall, cpu = cold_help()
        print(f"cold `srl-data --help`: median {wall:.3f} s wall, {cpu:.3f} s CPU over 5 runs (goal < 0.5 s)")
        met["cold --help"] = wall < 0.5
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for goal, ok in met.items():
        print(f"{'met   ' if ok else 'MISSED'} {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
