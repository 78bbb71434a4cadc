"""Reading problems (no solution yet): the input of ``generate``.

The same readers, presets and field options as for solutions
(:class:`~srl_data.trajectories.ReadOptions`), without requiring a solution
field. With a preset whose reference answer sits inside a worked solution
(GSM8K's ``#### N``), the answer is taken from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from .readers import Row, gsm8k_final_answer, read_rows, to_solution
from .trajectories import ReadOptions


@dataclass(frozen=True, slots=True)
class Problem:
    id: str
    problem: str
    answer: str | None
    location: str


def iter_problems(source: str, options: ReadOptions, on_row: Callable[[Row], None] | None = None) -> Iterator[Problem]:
    """Stream the problems of ``source`` with their ids and reference answers."""
    fields, required = options.field_map()
    worked = fields.solution if fields.answer_from_solution and fields.answer is None else None
    problem_fields = replace(fields, solution=None, messages=None, thinking=None, answer_from_solution=False)
    required = required - {"thinking"}
    for row in read_rows(source, split=options.split):
        if on_row is not None:
            on_row(row)
        solution = to_solution(row, problem_fields, required=required)
        answer = solution.answer
        if answer is None and worked is not None and isinstance(row.data.get(worked), str):
            answer = gsm8k_final_answer(row.data[worked])
        yield Problem(id=solution.id, problem=solution.problem, answer=answer, location=row.location)
