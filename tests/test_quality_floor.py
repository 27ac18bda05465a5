"""The learner's precision and recall on the labeled corpus (benchmarks/quality_eval.py) is a test:
a change that drops findings or lets a trap through fails here, not only in a benchmark run."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.labeled import build
from benchmarks.quality_eval import run_pipeline
from benchmarks.quality_eval import score

FLOOR = 0.95


@pytest.mark.parametrize("seed", [pytest.param(7, id="seed-7"), pytest.param(3, id="seed-3")])
def test_precision_and_recall_stay_above_the_floor(tmp_path: Path, seed: int) -> None:
    labels = build(tmp_path, seed=seed, sessions=300, runs=30)
    s = score(labels, run_pipeline(labels))
    assert (s.total.precision or 0.0) >= FLOOR, s.false_positives
    assert (s.total.recall or 0.0) >= FLOOR, s.misses
    assert {lb.kind for lb in labels.labels} >= {"runner", "alternative", "variant", "prerequisite", "path", "scope",
                                                 "large_file", "permission", "loop"}
