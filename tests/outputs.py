"""Real srl-data outputs for the publish, stats, card and pipeline tests, made
from the GSM8K sample by the library functions themselves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from srl_data.hindsight import HindsightConfig, HindsightOptions, hindsight
from srl_data.split_steps import SplitStepsConfig, split_steps
from srl_data.trajectories import ReadOptions

REPO = Path(__file__).resolve().parents[1]
GSM8K = REPO.parent / "shared" / "data" / "gsm8k" / "train_sample.jsonl"
# Must never appear in any file, card, log or message.
FAKE_TOKEN = "hf_TestTokenThatMustNeverLeak1234567890"


@dataclass
class Outputs:
    folder: Path
    steps: Path
    trajectories: Path
    rejects: Path
    hindsight: Path
    input_rows: int
    rejected: int


def gsm8k_with_rejects(folder: Path, rows: int = 60) -> tuple[Path, int]:
    """The first ``rows`` GSM8K rows plus two whose solution is one line (too few steps)."""
    lines = GSM8K.read_text(encoding="utf-8").splitlines()[:rows]
    lines.append(json.dumps({"question": "What is 1 + 1?", "answer": "1 + 1 = 2.\n#### 2"}))
    lines.append(json.dumps({"question": "What is 2 + 2?", "answer": "2 + 2 = 4.\n#### 4"}))
    path = folder / "gsm8k_small.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, 2


def make_outputs(folder: Path, rows: int = 60, steps_ext: str = ".parquet") -> Outputs:
    folder.mkdir(parents=True, exist_ok=True)
    source, rejected = gsm8k_with_rejects(folder, rows)
    steps = folder / f"steps{steps_ext}"
    trajectories = folder / "trajectories.jsonl"
    rejects = folder / "rejects.jsonl"
    split_steps(SplitStepsConfig(input=str(source), output=str(steps), read=ReadOptions(preset="gsm8k"),
                                 trajectories_out=str(trajectories), rejects=str(rejects)))
    pairs = folder / "hindsight.parquet"
    hindsight(HindsightConfig(input=str(trajectories), output=str(pairs),
                              options=HindsightOptions(strategy="all", goal="result", keep_leaky=True)))
    return Outputs(folder, steps, trajectories, rejects, pairs, rows + rejected, rejected)


def count_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def every_file_text(folder: Path) -> str:
    """All bytes under ``folder`` as text (for looking for a leaked token)."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())
