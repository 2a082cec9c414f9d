"""The quality benchmark's plumbing on a tiny configuration: both styles, a noisy level under
both noise models, the independent evaluation set scored through glasses score (all faces and
the hard ones), and the summary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import quality

from glasses.model.hparams import HParams


@pytest.mark.slow  # trains six tiny models
def test_quality_benchmark_on_a_tiny_configuration() -> None:
    tiny = HParams(conv_blocks=1, filters=4, dense_units=8, batch_size=16, drop_noisy=0.0)
    results = quality.run(["classic", "portrait"], [0.0, 0.2], [0], tiny, count=60,
                          eval_count=24, size=32, resolution=16, epochs=1,
                          noise_models=("uniform", "instance"))  # fmt: skip
    # clean labels are trained once, whatever the noise models
    assert [(r.style, r.noise, r.noise_model) for r in results] == [
        ("classic", 0.0, "clean"), ("classic", 0.2, "uniform"), ("classic", 0.2, "instance"),
        ("portrait", 0.0, "clean"), ("portrait", 0.2, "uniform"),
        ("portrait", 0.2, "instance")]  # fmt: skip
    assert all(r.eval_faces == 24 and 0.0 <= r.eval_vs_true <= 1.0 for r in results)
    assert all(0 < r.hard_faces < r.eval_faces for r in results)
    assert all(0.0 <= r.eval_hard <= 1.0 for r in results)
    lines = quality.summary(results)
    assert len(lines) == 6 and lines[2].startswith("classic  noise 0.200 instance")
    assert "24 fresh faces" in lines[0] and "hard faces" in lines[0]


@pytest.mark.slow  # two tiny audits, four tiny models
def test_audit_benchmark_on_a_tiny_configuration() -> None:
    import audit_quality

    from glasses.audit.folds import Settings

    tiny = HParams(conv_blocks=1, filters=4, dense_units=8, batch_size=16, drop_noisy=0.0)
    results = audit_quality.run(["classic"], [0], [0], ("uniform", "instance"), noise=0.2,
                                count=80, eval_count=24, size=32, resolution=16,
                                settings=Settings(folds=2, rounds=2, epochs=1, hparams=tiny),
                                hparams=tiny, epochs=1)  # fmt: skip
    assert [r.noise_model for r in results] == ["uniform", "instance"]
    for r in results:
        assert 0 < r.flips < r.faces <= 80 and 0.0 <= r.precision_at_k <= 1.0
        assert set(r.flags) >= {"confident_learning", "prune_by_noise_rate"}
        assert all(0.0 <= f.precision <= 1.0 and 0.0 <= f.recall <= 1.0 for f in r.flags.values())
        assert [(t.labels, t.train_seed) for t in r.trained] == [
            ("given labels", 0), ("audit drop", 0)]  # fmt: skip
        text = audit_quality.lines(r)
        assert any(f"top {r.flips} of the ranking" in line for line in text)
        assert any("recall on hard flips" in line for line in text)
