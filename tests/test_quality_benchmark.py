"""The quality benchmark's plumbing on a tiny configuration: both styles, a noisy level, the
independent evaluation set scored through glasses score, and the summary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import quality

from glasses.model.hparams import HParams


@pytest.mark.slow  # trains four tiny models
def test_quality_benchmark_on_a_tiny_configuration() -> None:
    tiny = HParams(conv_blocks=1, filters=4, dense_units=8, batch_size=16, drop_noisy=0.0)
    results = quality.run(["classic", "portrait"], [0.0, 0.2], [0], tiny, count=60,
                          eval_count=24, size=32, resolution=16, epochs=1)  # fmt: skip
    assert [(r.style, r.noise) for r in results] == [
        ("classic", 0.0), ("classic", 0.2), ("portrait", 0.0), ("portrait", 0.2)]  # fmt: skip
    assert all(r.eval_faces == 24 and 0.0 <= r.eval_vs_true <= 1.0 for r in results)
    lines = quality.summary(results)
    assert len(lines) == 4 and lines[1].startswith("classic  noise 0.200")
    assert "24 fresh faces" in lines[0]
