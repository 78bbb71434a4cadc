from __future__ import annotations

import pytest

from srl_data.models import Solution
from srl_data.segmenters import Segmented, get_segmenter


@pytest.fixture
def segment():
    def run(text: str, name: str = "numbered", **options) -> Segmented:
        return get_segmenter(name, **options).segment(Solution(id="t", problem="p", solution=text))

    return run
