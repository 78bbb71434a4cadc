"""The SRL reward's speed against difflib, measured in the same run.

10,000 (action, expert action) pairs of 200-2,000 characters cut from real
text (GSM8K solutions and SWE-agent turns in ../shared/data; generated text
when that folder is missing): half are edited copies of the expert action (a
near miss, as a policy's step often is), half unrelated text. Times
difflib.SequenceMatcher(None, a, b).ratio() and srl_data.reward.sequence_similarity
on the same pairs, checks that every value is identical, and prints the ratio
(goal: at least 3x). Also times srl_reward on the same pairs wrapped as
responses. CPU time (time.process_time) is reported next to wall time because
the machine is shared; the speed-up uses CPU time. Exits non-zero when a value
differs or the speed-up is under 3x.
"""

from __future__ import annotations

import difflib
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from srl_data.reward import sequence_similarity, srl_reward  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
PAIRS = 10_000
GOAL = 3.0


def corpus() -> tuple[str, str]:
    texts: list[str] = []
    gsm8k = SHARED / "gsm8k" / "train_sample.jsonl"
    if gsm8k.exists():
        for line in gsm8k.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row["question"] + "\n" + row["answer"])
    for path in sorted((SHARED / "swe-agent").glob("*.traj")):
        for message in json.loads(path.read_text(encoding="utf-8")).get("history", []):
            for key in ("content", "thought", "action"):
                value = message.get(key)
                if isinstance(value, str) and len(value) > 40:
                    texts.append(value)
    if sum(map(len, texts)) > 50_000:
        return "\n".join(texts), "GSM8K + SWE-agent text from ../shared/data"
    rng = random.Random(0)
    words = ("the step total answer we compute so x = 3 * 4 + 5 ; therefore each of $ \\frac{1}{2} "
             "cd src && ls -la <function=bash> python test.py def return if").split()
    return " ".join(rng.choice(words) for _ in range(60_000)), "generated text (../shared/data not found)"


def make_pairs(text: str, rng: random.Random) -> list[tuple[str, str]]:
    def cut() -> str:
        # Stripped, as parse_response strips an action: srl_reward then sees the same pair.
        while True:
            n = rng.randint(200, 2000)
            start = rng.randrange(len(text) - n)
            piece = text[start:start + n].strip()
            if len(piece) >= 200:
                return piece

    def edit(s: str) -> str:
        chars = list(s)
        for _ in range(rng.randint(1, max(1, len(chars) // 10))):
            i = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.4:
                chars[i] = rng.choice("abcdefghij 0123456789=+\n")
            elif op < 0.7:
                del chars[i]
            else:
                chars.insert(i, rng.choice("xyz ,."))
        return "".join(chars)

    pairs = []
    for k in range(PAIRS):
        expert = cut()
        action = edit(expert).strip() if k % 2 else cut()
        if not action:
            action = cut()
        pairs.append((action, expert))
    return pairs


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    text, source = corpus()
    pairs = make_pairs(text, random.Random(42))
    lengths = sorted(len(a) + len(b) for a, b in pairs)
    print(f"{len(pairs):,} pairs from {source}; each side 200-2,000 characters "
          f"(median pair {lengths[len(lengths) // 2]:,} characters)")

    base, base_wall, base_cpu = timed(lambda: [difflib.SequenceMatcher(None, a, b).ratio() for a, b in pairs])
    ours, ours_wall, ours_cpu = timed(lambda: [sequence_similarity(a, b) for a, b in pairs])
    responses = [f"<think>plan the step</think>\n{a}" for a, _ in pairs]
    experts = [b for _, b in pairs]
    rewards, reward_wall, reward_cpu = timed(lambda: srl_reward(responses, experts))

    mismatches = sum(1 for x, y in zip(base, ours) if x != y)
    reward_mismatches = sum(1 for x, y in zip(base, rewards) if x != y)
    speedup = base_cpu / ours_cpu
    print(f"difflib.SequenceMatcher.ratio : {base_cpu:7.2f} s CPU ({base_wall:6.2f} s wall)  "
          f"{len(pairs) / base_cpu:8,.0f} pairs/s")
    print(f"sequence_similarity           : {ours_cpu:7.2f} s CPU ({ours_wall:6.2f} s wall)  "
          f"{len(pairs) / ours_cpu:8,.0f} pairs/s")
    print(f"srl_reward (parse + similarity): {reward_cpu:6.2f} s CPU ({reward_wall:6.2f} s wall)  "
          f"{len(pairs) / reward_cpu:8,.0f} pairs/s")
    print(f"speed-up vs difflib: {speedup:.2f}x CPU ({base_wall / ours_wall:.2f}x wall); goal >= {GOAL:.0f}x")
    print(f"values identical to difflib: {len(pairs) - mismatches:,}/{len(pairs):,} "
          f"(srl_reward: {len(pairs) - reward_mismatches:,}/{len(pairs):,})")
    if mismatches or reward_mismatches:
        print("FAIL: values differ from difflib", file=sys.stderr)
        return 1
    if speedup < GOAL:
        print(f"FAIL: speed-up {speedup:.2f}x is under the {GOAL:.0f}x goal", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
