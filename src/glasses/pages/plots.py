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


def confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> bytes:
    """Counts with true labels as rows, as KFP's confusion-matrix view lays them out."""
    fig, ax = _figure(size=(4.6, 4.0))
    ax.imshow(matrix, cmap="Blues")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            colour = "white" if value > peak / 2 else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=14)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    return _png(fig)


def roc(fpr: Sequence[float], tpr: Sequence[float], area: float | None) -> bytes:
    fig, ax = _figure(size=(4.6, 4.0))
    ax.plot(fpr, tpr, lw=2, label=f"model (AUC {area:.3f})" if area is not None else "model")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _png(fig)


def reliability(bins: Sequence[Mapping[str, Any]], ece: float) -> bytes:
    """Mean predicted probability against the observed share of glasses, per bin."""
    fig, ax = _figure(size=(4.6, 4.6))
    filled = [b for b in bins if b["count"]]
    width = bins[0]["high"] - bins[0]["low"] if bins else 0.1
    ax.bar(
        [b["low"] for b in filled],
        [b["fraction_glasses"] for b in filled],
        width=width,
        align="edge",
        alpha=0.6,
        edgecolor="black",
        label="share with glasses",
    )
    ax.plot(
        [b["mean_probability"] for b in filled],
        [b["fraction_glasses"] for b in filled],
        marker="o",
        color="C1",
        label="bin mean p",
    )
    for b in filled:  # a bar of 2 faces says little: each bar shows how many it holds
        ax.annotate(f"n={b['count']}", (b["low"] + width / 2, b["fraction_glasses"]),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)  # fmt: skip
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    ax.set_xlabel("predicted probability of glasses")
    ax.set_ylabel("observed share with glasses")
    ax.set_title(f"Reliability (ECE {ece:.3f})")
    ax.set_ylim(0, 1.12)  # room for the counts above full bars
    # below the axes: inside, it would cover the bars and their counts
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=7)
    return _png(fig)


def face_grid(
    images: Sequence[Any],
    probabilities: Sequence[float],
    labels: Sequence[int],
    wrong: Sequence[bool],
    unsure: Sequence[bool],
    cols: int = 8,
    label_name: str = "label",
) -> bytes:
    """Faces with their probability of glasses (the paper's Fig. 12): orange frame = uncertain,
    red frame = misclassified, under each the face's label (or, for new faces, the predicted
    class: ``label_name``). The caller decides which is which (glasses.model.decision), so the rule
    lives in one place."""
    rows = max(1, -(-len(images) // cols))
    fig, axes = _figure(rows, cols, (cols * 1.5, rows * 1.75))
    for k, ax in enumerate(getattr(axes, "flat", [axes])):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.axis("off")
            continue
        p, y = float(probabilities[k]), int(labels[k])
        ax.imshow(images[k])
        colour = "red" if wrong[k] else ("orange" if unsure[k] else "green")
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(4 if (wrong[k] or unsure[k]) else 1.5)
        ax.set_title(f"p(glasses) {p:.2f}", fontsize=8, color=colour)
        ax.set_xlabel(f"{label_name}: " + ("glasses" if y == 1 else "no glasses"), fontsize=7)
    return _png(fig)


def feature_maps(image: Any, maps: Sequence[tuple[str, Any]], channels: int = 8) -> bytes:
    """The face and the first ``channels`` activation maps of each convolution block (Fig. 13)."""
    fig, axes = _figure(len(maps), channels + 1, ((channels + 1) * 1.3, len(maps) * 1.4))
    grid = axes if len(maps) > 1 else [axes]
    for row, (name, acts) in zip(grid, maps, strict=True):
        row[0].imshow(image)
        row[0].set_ylabel(name, fontsize=9)
        for c, ax in enumerate(row[1:]):
            if c < acts.shape[-1]:
                ax.imshow(acts[..., c], cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_xticks([])
        row[0].set_yticks([])
    return _png(fig)


def probability_histogram(batch: Sequence[int], reference: Sequence[int] | None) -> bytes:
    """The batch's probabilities of glasses against the reference's, as shares per bin."""
    fig, ax = _figure(size=(6.4, 3.4))
    bins = len(batch)
    edges = [k / bins for k in range(bins)]
    total = max(1, sum(batch))
    ax.bar(edges, [c / total for c in batch], width=1 / bins, align="edge", alpha=0.6,
           edgecolor="black", label=f"this batch ({sum(batch)} faces)")  # fmt: skip
    if reference:
        ref_total = max(1, sum(reference))
        ax.step([*edges, 1.0], [c / ref_total for c in reference] + [reference[-1] / ref_total],
                where="post", color="C1", linewidth=2,
                label=f"reference ({sum(reference)} validation faces)")  # fmt: skip
    ax.set_xlabel("probability of glasses")
    ax.set_ylabel("share of faces")
    ax.legend(fontsize=8)
    return _png(fig)


def study_chart(
    names: Sequence[str],
    measured: Sequence[Mapping[str, float] | None],
    paper: Sequence[float | None],
    label: str,
) -> bytes:
    """One bar per configuration: the mean over seeds, its range as an error bar, the paper's
    single run as a black diamond beside it."""
    fig, ax = _figure(size=(max(4.0, 1.3 * len(names) + 1.5), 3.4))
    xs = range(len(names))
    means = [m["mean"] if m else 0.0 for m in measured]
    low = [m["mean"] - m["min"] if m else 0.0 for m in measured]
    high = [m["max"] - m["mean"] if m else 0.0 for m in measured]
    ax.bar(xs, means, yerr=[low, high], capsize=4, alpha=0.7, label="measured (mean, range)")
    shown = [(x, p) for x, p in zip(xs, paper, strict=True) if p is not None]
    if shown:
        ax.plot([x for x, _ in shown], [p for _, p in shown], "kD", label="the paper (one run)")
    ax.set_xticks(list(xs), names, fontsize=8)
    ax.set_ylabel(label)
    values = [v for v in [*means, *(p for p in paper if p is not None)] if v]
    if values and "accuracy" in label:
        ax.set_ylim(max(0.0, min(values) - 0.1), min(1.0, max(values) + 0.05))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _png(fig)


def accuracy_curves(
    curves: Mapping[str, Sequence[Sequence[float]]], title: str, ylabel: str = "accuracy"
) -> bytes:
    """Per name, the mean curve over its runs and the band between the lowest and highest
    (the paper's Figures 10 and 11 show one run each)."""
    fig, ax = _figure(size=(7.5, 4.0))
    for name, runs in curves.items():
        length = min(len(r) for r in runs)
        if not length:
            continue
        epochs = list(range(1, length + 1))
        columns = [[r[e] for r in runs] for e in range(length)]
        mean = [sum(c) / len(c) for c in columns]
        runs_said = f"{len(runs)} run" + ("s" if len(runs) > 1 else "")
        (line,) = ax.plot(epochs, mean, marker="o", ms=3, label=f"{name} ({runs_said})")
        if len(runs) > 1:
            ax.fill_between(epochs, [min(c) for c in columns], [max(c) for c in columns],
                            color=line.get_color(), alpha=0.15)  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
