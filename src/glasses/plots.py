"""Figures for people: training curves now, evaluation pictures later. PNG bytes out, so the
caller decides where they go (a file through storage, or inlined into an HTML report)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any


def _figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.4, 4.0)) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on build machines or pods
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=size)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def training_curves(history: Mapping[str, Sequence[float]]) -> bytes:
    """Accuracy and loss per epoch, training against validation (the paper's Fig. 10/11)."""
    fig, (acc_ax, loss_ax) = _figure(1, 2, (11, 4))
    epochs = range(1, len(history.get("loss", [])) + 1)
    for ax, metric in ((acc_ax, "accuracy"), (loss_ax, "loss")):
        if metric in history:
            ax.plot(epochs, history[metric], marker="o", ms=3, label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="o", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig)
