"""Audit: which labelled faces' labels look wrong? Out-of-fold probabilities + confident learning.

Every labelled face (train, val and test splits) gets a probability from a model that never saw
it: the faces are cut into ``folds`` by a stable hash of (seed, id), and fold k's model is
trained by ``glasses.train.fit`` (the loop ``glasses train`` runs, same hyperparameters) on the
other folds' train and test faces, early-stopping on their val faces, then predicts fold k.
cleanlab, the library the field uses for this, then flags the faces whose given label the
out-of-fold probabilities contradict with confidence, ranks every face by label quality and
estimates each class's noise rate from its confident joint.

The audit runs in ``rounds`` (2 by default): round r's fold models leave out of their training
(never out of their predictions) the faces round r - 1 flagged. Flags are only as precise as the
fold models are right about correctly labelled faces, and a model trained on the faces the first
round trusts is right far more often (measured: out-of-fold accuracy against the truth 0.936 ->
0.970 with 11.5 % flipped labels); the last round's probabilities decide.

Folds are parts of the ``glasses.parts`` protocol: ``--num-workers K --worker-index I`` spreads
them, a rerun skips finished folds, and whoever finds every fold done writes the result. A
round's folds wait for every fold of the round before: a worker that finds the earlier round
unfinished stops, and is run again once it is (in a DAG, each round is its own fan-out stage,
``through_round`` ending the first):

    AUDIT/label_issues.csv          every labelled face, worst label first
    AUDIT/audit_report.json         counts, flags, estimated noise rates, settings
    AUDIT/review.html               the flagged faces with thumbnails, for a person
    AUDIT/label_studio_tasks.json   the flagged faces as Label Studio tasks (+ its config)
    AUDIT/corrections.csv           id,label (drop, or the suggested label): ingest reads it
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import html
import io
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses import defaults, parts, storage
from glasses.artifacts import (
    AUDIT_PAGE,
    AUDIT_REPORT,
    CORRECTIONS,
    LABEL_ISSUES,
    LABEL_STUDIO_CONFIG,
    LABEL_STUDIO_TASKS,
)
from glasses.console import Progress
from glasses.corrections import DROP, VERDICTS, verdict_of
from glasses.errors import InputError
from glasses.ingest import read_manifest, split_fraction
from glasses.model import HParams

log = logging.getLogger(__name__)

STEP = "audit"
# cleanlab.filter.find_label_issues' methods; the default was chosen by measurement (README)
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
           "predicted_neq_given")  # fmt: skip
DEFAULT_FILTER = "confident_learning"
APPLY = ("drop", "relabel")
FOLD_COLUMNS = ("id", "split", "given_label", "p_glasses")
ISSUE_COLUMNS = ("id", "uri", "split", "given_label", "p_glasses", "label_quality", "flagged",
                 "suggested_label")  # fmt: skip
THUMBNAIL = 192  # px: thin frames stay visible
MODEL_VERSION = "glasses-audit"


@dataclass(frozen=True)
class Settings:
    """What decides the fold models' probabilities (and so every part's digest)."""

    folds: int = 5
    rounds: int = 2
    seed: int = defaults.SEED
    epochs: int = defaults.EPOCHS
    patience: int = defaults.PATIENCE
    monitor: str = defaults.MONITOR
    hparams: HParams = dataclasses.field(default_factory=HParams)


def fold_of(face_id: int, seed: int, folds: int) -> int:
    """The fold a face belongs to: stable, and independent of its split (another salt)."""
    return int(split_fraction(seed, face_id, salt="audit-fold") * folds)


def _fold_name(r: int, k: int) -> str:
    return f"round-{r}-fold-{k:03d}"


def _part_data(output: str, name: str) -> list[str]:
    """A fold part's data files, by the part's name (what parts.collect asks for)."""
    return [parts.uri(output, name) + ".csv"]


def _digest(
    shards: str, metadata: dict[str, Any], settings: Settings, r: int, k: int, filter_by: str
) -> str:
    """Everything that decides round r's fold k: a later round also depends on the flags of
    the round before, so on the filter; no round depends on how many rounds follow."""
    body = json.dumps(
        {"shards": shards, "metadata": metadata, "round": r, "fold": k,
         "filter_by": filter_by if r > 1 else None,
         "settings": {**dataclasses.asdict(settings), "rounds": None}},
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(body.encode()).hexdigest()


def _round_of(name: str) -> int:
    return int(name.split("-")[1])


def audit(
    shards: str,
    output: str,
    settings: Settings | None = None,
    *,
    filter_by: str = DEFAULT_FILTER,
    apply: str = "drop",
    num_workers: int = 1,
    worker_index: int = 0,
    through_round: int | None = None,
) -> dict[str, Any] | None:
    """Do this worker's folds of every round it can (up to ``through_round``); finish the
    audit if every fold of every round is done. Returns the report when this call finished it,
    None when other workers' folds are still to come."""
    from glasses.shard import read_metadata
    from glasses.train import check_settings

    s = settings or Settings()
    parts.check_worker(num_workers, worker_index)
    _check_options(filter_by, apply)
    if s.folds < 2:
        raise InputError(f"--folds must be at least 2, got {s.folds}")
    if s.rounds < 1:
        raise InputError(f"--rounds must be at least 1, got {s.rounds}")
    last = s.rounds if through_round is None else through_round
    if not 1 <= last <= s.rounds:
        raise InputError(f"--through-round must be in 1..{s.rounds} (--rounds), got {last}")
    # the fold models are trained by train's loop: the same checks of its settings
    check_settings(s.hparams, s.epochs, s.patience, s.monitor, None)
    metadata = read_metadata(shards)
    labelled = sum(metadata["splits"][split]["records"] for split in ("train", "val", "test"))
    if labelled < 2 * s.folds:
        raise InputError(f"{shards}: {labelled} labelled faces are too few for {s.folds} folds")
    plan = parts.Plan(
        STEP,
        [(_fold_name(r, k), _digest(shards, dict(metadata), s, r, k, filter_by))
         for r in range(1, s.rounds + 1) for k in range(s.folds)],
        {"shards": shards, "manifest": metadata["manifest"], "filter_by": filter_by,
         "apply": apply, "settings": {**dataclasses.asdict(s), "hparams": None},
         "hparams": dataclasses.asdict(s.hparams)},
    )  # fmt: skip
    plan.write(output)
    faces: _Faces | None = None
    for r in range(1, last + 1):
        untrusted: set[int] = set()
        if r > 1:
            before = _round_rows(output, plan, r - 1)
            if before is None:
                log.info("round %d waits for every fold of round %d; run this worker again "
                         "once the others are done", r, r - 1)  # fmt: skip
                return None
            untrusted = _flagged_ids(before, filter_by)
        mine = parts.mine(
            [(k, name, digest) for k, (name, digest) in enumerate(_round_parts(plan, r))],
            num_workers,
            worker_index,
        )
        todo = [
            (k, name, digest)
            for k, name, digest in mine
            if parts.finished(output, name, digest, _part_data(output, name)) is None
        ]
        if len(todo) < len(mine):
            log.info("round %d: %d of this worker's %d folds already done",
                     r, len(mine) - len(todo), len(mine))  # fmt: skip
        if todo:
            faces = faces or _Faces.read(shards, s)
            _run_folds(faces, int(metadata["resolution"]), output, s, r, untrusted, todo)
    if parts.collect(output, plan, lambda name: _part_data(output, name)) is None:
        log.info("this worker's folds are done; others are still to come")
        return None
    return finish(output)


def _round_parts(plan: parts.Plan, r: int) -> list[tuple[str, str]]:
    return [(name, digest) for name, digest in plan.parts if _round_of(name) == r]


def _round_rows(output: str, plan: parts.Plan, r: int) -> list[dict[str, str]] | None:
    """Every labelled face's row of round r (its out-of-fold probability), or None while a
    fold of that round is unfinished."""
    round_plan = parts.Plan(plan.step, _round_parts(plan, r), plan.context)
    if parts.collect(output, round_plan, lambda name: _part_data(output, name)) is None:
        return None
    return _read_rows(output, round_plan.parts)


def _read_rows(output: str, round_parts: list[tuple[str, str]]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name, _ in round_parts:
        rows.extend(csv.DictReader(io.StringIO(storage.read_text(_part_data(output, name)[0]))))
    return rows


def _given_and_probabilities(rows: list[dict[str, str]]) -> tuple[Any, Any]:
    labels = np.array([int(r["given_label"]) for r in rows])
    p = np.array([float(r["p_glasses"]) for r in rows])
    return labels, np.stack([1.0 - p, p], axis=1)


def _flagged_ids(rows: list[dict[str, str]], filter_by: str) -> set[int]:
    from cleanlab.filter import find_label_issues

    labels, pred_probs = _given_and_probabilities(rows)
    if len(set(labels.tolist())) < 2:
        return set()
    flagged = find_label_issues(labels, pred_probs, filter_by=filter_by)
    return {int(r["id"]) for r, f in zip(rows, flagged, strict=True) if f}


def pipeline_worker(
    shards: str,
    output: str,
    folds: int,
    epochs: int,
    seed: int,
    num_workers: int,
    worker_index: int,
    through_round: int,
    previous: str = "",
) -> None:
    """One task of a pipeline's audit fan-out: this worker's folds through ``through_round``;
    ``previous``, the earlier rounds' folds gathered from every worker, is copied in first."""
    if previous:
        storage.copy_tree(previous, output)
    audit(shards, output, Settings(folds=folds, seed=seed, epochs=epochs),
          num_workers=num_workers, worker_index=worker_index,
          through_round=through_round)  # fmt: skip


def _check_options(filter_by: str, apply: str) -> None:
    if filter_by not in FILTERS:
        raise InputError(f"--filter-by must be one of {', '.join(FILTERS)}, got {filter_by!r}")
    if apply not in APPLY:
        raise InputError(f"--apply must be one of {', '.join(APPLY)}, got {apply!r}")


@dataclass(frozen=True)
class _Faces:
    """Every labelled face of the shards, in memory once for all of a worker's folds."""

    images: Any
    labels: Any
    ids: Any
    splits: Any
    folds: Any

    @classmethod
    def read(cls, shards: str, s: Settings) -> _Faces:
        from glasses.dataset import read_arrays

        arrays = {split: read_arrays(shards, split) for split in ("train", "val", "test")}
        ids = np.array([i for split in arrays for i in arrays[split][2]])
        return cls(
            images=np.concatenate([arrays[split][0] for split in arrays]),
            labels=np.concatenate([arrays[split][1] for split in arrays]),
            ids=ids,
            splits=np.array([split for split in arrays for _ in arrays[split][2]]),
            folds=np.array([fold_of(int(i), s.seed, s.folds) for i in ids]),
        )


def _run_folds(
    faces: _Faces,
    resolution: int,
    output: str,
    s: Settings,
    r: int,
    untrusted: set[int],
    todo: list[tuple[int, str, str]],
) -> None:
    from glasses.dataset import from_arrays
    from glasses.train import Inputs, fit, seeded_strategy

    trusted = np.array([int(i) not in untrusted for i in faces.ids], dtype=bool)
    progress = Progress(f"audit round {r}", len(todo), unit="folds")
    for k, name, digest in todo:
        start = time.perf_counter()
        held = faces.folds == k
        fit_on = ~held & (faces.splits != "val") & trusted
        check = ~held & (faces.splits == "val") & trusted
        if not check.any() or not fit_on.any() or not held.any():
            raise InputError(
                f"fold {k} leaves no faces to train on, validate on or predict "
                f"({int(fit_on.sum())}, {int(check.sum())}, {int(held.sum())}); use fewer folds"
            )
        # each round's models start from their own seeds
        strategy, replicas = seeded_strategy(s.seed + k + (r - 1) * s.folds)
        batch = s.hparams.batch_size * replicas
        inputs = Inputs(
            strategy=strategy,
            replicas=replicas,
            train=from_arrays(faces.images[fit_on], faces.labels[fit_on], batch, shuffle=True,
                              seed=s.seed + k),
            val=from_arrays(faces.images[check], faces.labels[check], batch, shuffle=False,
                            seed=0),
            resolution=resolution,
            class_counts=(int((faces.labels[fit_on] < 0.5).sum()),
                          int((faces.labels[fit_on] >= 0.5).sum())),
            val_faces=int(check.sum()),
        )  # fmt: skip
        fitted = fit(inputs, s.hparams, epochs=s.epochs, patience=s.patience, monitor=s.monitor)
        p = _predict_both_ways(fitted.model, faces.images[held])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(FOLD_COLUMNS)
        for face_id, split, label, prob in zip(
            faces.ids[held], faces.splits[held], faces.labels[held], p, strict=True
        ):
            writer.writerow([face_id, split, int(label), f"{float(prob):.6f}"])
        storage.write_text(_part_data(output, name)[0], buf.getvalue())
        accuracy = float(np.mean((p >= 0.5) == (faces.labels[held] >= 0.5)))
        seconds = time.perf_counter() - start
        parts.write_sidecar(
            output,
            name,
            {"digest": digest, "round": r, "fold": k, "faces": int(held.sum()),
             "trained_on": int(fit_on.sum()), "validated_on": int(check.sum()),
             "left_out_as_flagged": int((~held & ~trusted).sum()),
             "epochs_run": len(fitted.history["loss"]), "epoch_kept": fitted.epoch_kept + 1,
             "accuracy_vs_given": accuracy, "seconds": round(seconds, 1)},
        )  # fmt: skip
        log.info(
            "round %d fold %d: %d faces held out, %.3f agree with their given labels "
            "(%d epochs, %.0fs)",
            r, k, int(held.sum()), accuracy, len(fitted.history["loss"]), seconds,
        )  # fmt: skip
        progress.update(1)
    progress.close()


def _predict_both_ways(model: Any, images: Any) -> Any:
    """The mean probability of each face and its mirror image: faces are left-right symmetric
    and glasses stay glasses, so the two are two looks at one face, and their mean is a
    steadier out-of-fold probability than either."""
    from glasses.predict import probabilities

    return (probabilities(model, images) + probabilities(model, images[:, :, ::-1, :])) / 2.0


@dataclass(frozen=True)
class Face:
    id: int
    uri: str
    split: str
    given_label: int
    p_glasses: float
    label_quality: float
    flagged: bool
    suggested_label: int


def finish(output: str) -> dict[str, Any]:
    """Flag and rank from the finished folds' probabilities; write every audit output. Needs
    only the output folder (the plan names the manifest), so a gathering step can call it."""
    import cleanlab
    from cleanlab.count import estimate_py_and_noise_matrices_from_probabilities
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    plan = parts.Plan.read(output, STEP)
    sidecars = parts.collect(output, plan, lambda name: _part_data(output, name))
    if sidecars is None:
        raise InputError(f"{output}: not every fold of the audit is done; run its workers first")
    context = plan.context
    rounds = max(_round_of(name) for name, _ in plan.parts)
    # every part is done (collected above): read each round's rows without checking again
    per_round = [_read_rows(output, _round_parts(plan, r)) for r in range(1, rounds + 1)]
    rows = per_round[-1]  # the last round's models are the strongest: they decide
    labels, pred_probs = _given_and_probabilities(rows)
    p = pred_probs[:, 1]
    if len(set(labels.tolist())) < 2:
        raise InputError(f"{output}: every labelled face has the same label; nothing to audit")
    flagged = find_label_issues(labels, pred_probs, filter_by=context["filter_by"])
    quality = get_label_quality_scores(labels, pred_probs)
    _, _, inverse_noise, confident_joint = estimate_py_and_noise_matrices_from_probabilities(
        labels, pred_probs
    )
    uris, missing = _uris(context["manifest"])
    faces = sorted(
        (
            Face(int(r["id"]), uris.get(int(r["id"]), ""), r["split"], int(lab), float(pi),
                 float(q), bool(f), int(pi >= 0.5) if f else int(lab))
            for r, lab, pi, q, f in zip(rows, labels, p, quality, flagged, strict=True)
        ),
        key=lambda face: (face.label_quality, face.id),
    )  # fmt: skip
    report = _report(faces, context, sidecars, inverse_noise, confident_joint, missing)
    report["flagged_per_round"] = [
        len(_flagged_ids(r_rows, context["filter_by"])) for r_rows in per_round[:-1]
    ] + [report["flagged"]]
    report["cleanlab"] = cleanlab.__version__
    _write(output, faces, report, context["apply"])
    return report


def _uris(manifest: str) -> tuple[dict[int, str], str]:
    """Each face's original image, for thumbnails and review tasks; an unreadable manifest
    leaves them empty and says why, rather than failing the audit."""
    try:
        return {r.id: r.uri for r in read_manifest(manifest)}, ""
    except (FileNotFoundError, InputError) as err:
        log.warning("no image locations for the review (%s)", err)
        return {}, f"manifest {manifest} unreadable: {err}"


def _report(
    faces: list[Face],
    context: dict[str, Any],
    sidecars: list[dict[str, Any]],
    inverse_noise: Any,
    confident_joint: Any,
    missing: str,
) -> dict[str, Any]:
    def counts(selected: list[Face]) -> dict[str, Any]:
        per = Counter((f.split, str(f.given_label)) for f in selected)
        return {
            split: {label: per.get((split, label), 0) for label in ("0", "1")}
            for split in ("train", "val", "test")
        }

    flagged = [f for f in faces if f.flagged]
    return {
        "faces": len(faces),
        "flagged": len(flagged),
        "flagged_share": len(flagged) / len(faces),
        "counts": counts(faces),
        "flagged_counts": counts(flagged),
        # P(true label differs | given label), from cleanlab's confident joint
        "estimated_noise_rate": {str(c): float(1.0 - inverse_noise[c][c]) for c in (0, 1)},
        "confident_joint": np.asarray(confident_joint).astype(int).tolist(),
        "folds": sidecars,
        "filter_by": context["filter_by"],
        "apply": context["apply"],
        "settings": {**context["settings"], "hparams": context["hparams"]},
        "shards": context["shards"],
        "images_missing": missing,
    }


def _write(output: str, faces: list[Face], report: dict[str, Any], apply: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ISSUE_COLUMNS)
    for f in faces:
        writer.writerow([f.id, f.uri, f.split, f.given_label, f"{f.p_glasses:.6f}",
                         f"{f.label_quality:.6f}", int(f.flagged), f.suggested_label])  # fmt: skip
    storage.write_text(storage.join(output, LABEL_ISSUES), buf.getvalue())

    flagged = [f for f in faces if f.flagged]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("id", "label"))
    for f in sorted(flagged, key=lambda f: f.id):
        writer.writerow([f.id, DROP if apply == "drop" else f.suggested_label])
    storage.write_text(storage.join(output, CORRECTIONS), buf.getvalue())

    storage.write_text(
        storage.join(output, LABEL_STUDIO_TASKS),
        json.dumps([label_studio_task(f) for f in flagged], indent=1) + "\n",
    )
    storage.write_text(storage.join(output, LABEL_STUDIO_CONFIG), LABEL_CONFIG)
    storage.write_text(storage.join(output, AUDIT_REPORT), json.dumps(report, indent=1) + "\n")
    storage.write_text(storage.join(output, AUDIT_PAGE), review_page(flagged, report))
    log.info(
        "audit: %d of %d labelled faces flagged (%.1f %%); estimated noise: %.1f %% of 'no "
        "glasses' labels, %.1f %% of 'glasses' labels; review page %s",
        len(flagged), len(faces), 100 * report["flagged_share"],
        100 * report["estimated_noise_rate"]["0"], 100 * report["estimated_noise_rate"]["1"],
        storage.join(output, AUDIT_PAGE),
    )  # fmt: skip


# Label Studio: one image, one choice; the "Drop" choice removes the face from training
LABEL_CONFIG = f"""<View>
  <Image name="image" value="$image"/>
  <Header value="Does this face wear glasses? Given label: $given_label"/>
  <Choices name="verdict" toName="image" choice="single" showInline="true">
{chr(10).join(f'    <Choice value="{v}"/>' for v in VERDICTS)}
  </Choices>
</View>
"""


def label_studio_task(face: Face) -> dict[str, Any]:
    """A Label Studio import task with the audit's suggestion as a pre-annotation."""
    confidence = face.p_glasses if face.suggested_label == 1 else 1.0 - face.p_glasses
    return {
        "data": {
            "image": face.uri,
            "face_id": face.id,
            "given_label": verdict_of(face.given_label),
            "p_glasses": round(face.p_glasses, 4),
            "split": face.split,
        },
        "predictions": [
            {
                "model_version": MODEL_VERSION,
                "score": round(confidence, 4),
                "result": [
                    {
                        "from_name": "verdict",
                        "to_name": "image",
                        "type": "choices",
                        "value": {"choices": [verdict_of(face.suggested_label)]},
                    }
                ],
            }
        ],
    }


def _thumbnail(uri: str) -> str:
    """A JPEG data URI of the original image, or "" (with the reason logged)."""
    from PIL import Image

    from glasses.images import ImageRejected, load_image

    if not uri:
        return ""
    try:
        pixels = load_image(uri, THUMBNAIL)
    except (ImageRejected, OSError, storage.StorageError) as err:
        log.warning("no thumbnail for %s: %s", uri, err)
        return ""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def review_page(flagged: list[Face], report: dict[str, Any]) -> str:
    """The flagged faces, worst first, each large enough to judge, with what the audit thinks."""
    from glasses.report import _head

    noise = report["estimated_noise_rate"]
    per_round = report["flagged_per_round"]
    rounds = (
        f"; {len(per_round)} rounds, each round's models trained without the faces the round "
        f"before flagged; flagged: {', then '.join(str(n) for n in per_round)}"
        if len(per_round) > 1
        else ""
    )
    cards = []
    for rank, f in enumerate(flagged, 1):
        src = _thumbnail(f.uri)
        picture = (
            f'<img src="{src}" alt="face {f.id}" width="{THUMBNAIL}" height="{THUMBNAIL}">'
            if src
            else f'<div class="gone">image unavailable<br>{html.escape(f.uri or "no uri")}</div>'
        )
        cards.append(
            f'<figure class="face" id="face-{f.id}">{picture}<figcaption>'
            f"<b>#{rank} face {f.id}</b> ({html.escape(f.split)})<br>"
            f'given: <span class="given">{verdict_of(f.given_label)}</span><br>'
            f"p(glasses) {f.p_glasses:.3f}<br>"
            f'suggested: <span class="suggested">{verdict_of(f.suggested_label)}</span><br>'
            f"label quality {f.label_quality:.3f}</figcaption></figure>"
        )
    split_rows = "".join(
        f"<tr><th>{split}</th><td>{sum(report['counts'][split].values())}</td>"
        f"<td>{sum(report['flagged_counts'][split].values())}</td></tr>"
        for split in ("train", "val", "test")
    )
    missing = (
        f'<p class="warn">{html.escape(report["images_missing"])}</p>'
        if report["images_missing"]
        else ""
    )
    return f"""{_head("glasses: label audit")}
<style>
.faces {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.face {{ margin: 0; width: {THUMBNAIL}px; font-size: 13px; }}
.face img {{ display: block; border-radius: 4px; }}
.given {{ color: #c62828; }} .suggested {{ color: #2e7d32; font-weight: bold; }}
.gone {{ width: {THUMBNAIL}px; height: {THUMBNAIL}px; background: #eee; color: #777;
         display: flex; align-items: center; justify-content: center; text-align: center;
         font-size: 11px; overflow-wrap: anywhere; }}
.warn {{ color: #c62828; }}
</style>
<h1>Label audit: {report["flagged"]} of {report["faces"]} labels look wrong</h1>
<p id="summary">Each face's probability comes from a model that never saw it
({report["settings"]["folds"]} folds{rounds}). cleanlab
(<code>{html.escape(report["filter_by"])}</code>) flagged
{report["flagged_share"]:.1%} of the labelled faces. Estimated share of wrong labels:
{noise["0"]:.1%} of faces labelled "no glasses", {noise["1"]:.1%} of faces labelled "glasses".
Faces are shown worst first. To fix them, import <code>label_studio_tasks.json</code> into Label
Studio (labelling config: <code>label_studio_config.xml</code>), or edit
<code>corrections.csv</code>, and pass the result to <code>glasses ingest
--label-corrections</code>.</p>
{missing}
<table><tr><th>split</th><th>labelled faces</th><th>flagged</th></tr>{split_rows}</table>
<section id="flagged"><h2>Flagged faces</h2><div class="faces">
{chr(10).join(cards) or "<p>No face was flagged.</p>"}
</div></section>
</body></html>
"""
