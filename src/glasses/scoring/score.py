"""Score: the probability of glasses for every face of a batch, flagging the uncertain ones.

Sources: a folder or ``gs://`` prefix of images (any names; files with an image extension are
the inputs, anything else is listed as ignored), a manifest (``.csv`` from ingest), or shards
(their ``split``, the unlabelled one by default). Raw images go through
``glasses.data.images.load_image``, the function ``shard`` used, so served pixels are training
pixels.

The work is cut into parts in a fixed order (``part_size`` images, or one shard each), exactly
like ``shard``: worker I of K takes parts I mod K; each finished part leaves its predictions
and a sidecar under ``_parts/`` whose digest names the model, the inputs and the settings; a
rerun skips parts whose sidecar matches; whoever sees every part finished writes
``predictions.csv`` (input order) and ``score_report.json``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, NamedTuple

import numpy as np

from glasses import defaults, parts, storage
from glasses.artifacts import (
    BATCH_PAGE,
    BATCH_REPORT,
    MODEL_FILE,
    PREDICTIONS,
    SCORE_REPORT,
    SHARD_METADATA,
)
from glasses.console import Progress
from glasses.data.dataset import local_shard_file, shard_file_batches
from glasses.data.images import ImageRejected, load_described
from glasses.data.manifest import SPLITS, read_manifest
from glasses.data.shard_format import ShardMetadata, read_metadata
from glasses.errors import InputError, SettingError, at_least
from glasses.model import reference, registry
from glasses.model.decision import check_band, predicted, uncertain
from glasses.model.predict import Predictor
from glasses.pages import batch as batch_page
from glasses.pages import plots
from glasses.scoring import health, ledger, review

log = logging.getLogger(__name__)

HEADER = ("id", "uri", "probability", "label", "uncertain")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
DECODE_CHUNK = 8  # images per task for a decoding process: small, so a part's tail is short
FORMAT_VERSION = 2  # 2: parts also hold each face's input statistics
STATS_SUFFIX = ".stats.csv"
LEDGER_DIR = "ledger"  # below a scoring pipeline's review_output


@dataclass(frozen=True)
class ScoreInput:
    """One image to score: its id in predictions.csv, its file, and its file name under
    ``accepted_output/<class>/``."""

    id: str
    uri: str
    name: str
    key: str = ""  # a folder's file as listed (glasses.scoring.ledger.key_of), for the ledger


@dataclass(frozen=True)
class Part:
    name: str
    faces: tuple[ScoreInput, ...] = ()  # raw images to decode, or
    shard: str = ""  # a shard file whose records are the faces


@dataclass(frozen=True)
class ScoreSummary:
    parts_written: int
    scored: int
    rejected: int
    uncertain: int
    seconds: float
    complete: bool
    healthy: bool | None = None  # the batch health verdict, once complete
    reasons: list[str] = field(default_factory=list)
    skipped: int = 0  # files the ledger says this model scored before


def _manifest_faces(manifest: str, split: str) -> list[ScoreInput]:
    rows = read_manifest(manifest)
    return [
        ScoreInput(str(r.id), r.uri, storage.basename(r.uri))
        for r in rows
        if split == "all" or r.split == split
    ]


def _folder_faces(source: str) -> tuple[list[ScoreInput], list[str]]:
    unreadable: list[tuple[str, str]] = []
    try:
        files = storage.list_files(source, unreadable)
    except FileNotFoundError as err:
        raise SettingError(f"source {source}: no files there", "source") from err
    faces: list[ScoreInput] = []
    ignored = [f"{storage.relative(path, source)} ({reason})" for path, reason in unreadable]
    for f in sorted(files, key=lambda f: f.uri):
        rel = storage.relative(f.uri, source)
        if rel.lower().endswith(IMAGE_EXTENSIONS):
            faces.append(ScoreInput(rel, f.uri, rel, ledger.key_of(f)))
        elif not rel.startswith(parts.PARTS_DIR + "/"):
            ignored.append(rel)
    return faces, ignored


def plan_parts(
    source: str, split: str, part_size: int, known: set[ledger.FileKey] | None = None
) -> tuple[list[Part], list[str], ShardMetadata | None, int]:
    """(every part in global order, ignored non-image files, shard metadata if shards, files
    skipped); with ``known`` (a folder's files already scored, from the ledger), the parts
    hold only the other files."""
    if storage.exists(storage.join(source, SHARD_METADATA)):
        metadata = read_metadata(source)
        if split not in metadata["splits"]:
            raise InputError(f"{source}: no split {split!r}; shards have {', '.join(SPLITS)}")
        names = metadata["splits"][split]["shards"]
        if known is not None:
            raise SettingError("ledger: only a folder of images can be scored a file at a time; "
                               f"{source} holds shards", "ledger")  # fmt: skip
        return [Part(n.split(".")[0], shard=n) for n in names], [], metadata, 0
    ignored: list[str] = []
    if source.endswith(".csv"):
        if known is not None:
            raise SettingError("ledger: only a folder of images can be scored a file at a time; "
                               f"{source} is a manifest", "ledger")  # fmt: skip
        faces = _manifest_faces(source, split)
    else:
        faces, ignored = _folder_faces(source)
    listed = len(faces)
    if known is not None:
        faces = [f for f, new in zip(faces, ledger.new_only([f.key for f in faces], known),
                                     strict=True) if new]  # fmt: skip
    count = parts.count(len(faces), part_size)
    planned = [
        Part(
            f"part-{i:05d}-of-{count:05d}",
            faces=tuple(faces[i * part_size : (i + 1) * part_size]),
        )
        for i in range(count)
    ]
    return planned, ignored, None, listed - len(faces)


Decoded = tuple[np.ndarray, str] | str  # (pixels, size and mode) or why it was rejected


def _decode_chunk(uris: Sequence[str], resolution: int, max_pixels: int) -> list[Decoded]:
    """Decode a few images in a worker process: pixels and size/mode, or the reason it was
    rejected."""
    out: list[Decoded] = []
    for uri in uris:
        try:
            out.append(load_described(uri, resolution, max_pixels))
        except ImageRejected as err:
            out.append(str(err))
    return out


class _Decoder:
    """Decodes raw images in worker processes, one part ahead of the model, so the cores never
    wait for the model or for the end of a part (small tasks keep the tail short)."""

    def __init__(self, workers: int, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        self.resolution = 0
        self.pending: dict[str, list[Any]] = {}
        self.pool = None
        if workers > 1:
            self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            # start the processes now: they import while the model loads
            for _ in range(workers):
                self.pool.submit(_decode_chunk, [], 8, max_pixels)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, part: Part) -> None:
        if part.shard or part.name in self.pending:
            return
        uris = [f.uri for f in part.faces]
        chunks = [uris[i : i + DECODE_CHUNK] for i in range(0, len(uris), DECODE_CHUNK)]
        if self.pool is None:
            self.pending[part.name] = chunks  # decoded lazily, in this process
        else:
            self.pending[part.name] = [
                self.pool.submit(_decode_chunk, c, self.resolution, self.max_pixels) for c in chunks
            ]

    def decoded(self, part: Part) -> Iterator[tuple[ScoreInput, Decoded]]:
        self.submit(part)
        k = 0
        for task in self.pending.pop(part.name):
            items = (
                _decode_chunk(task, self.resolution, self.max_pixels)
                if self.pool is None
                else task.result()
            )
            for item in items:
                yield part.faces[k], item
                k += 1


class Batch(NamedTuple):
    faces: list[ScoreInput]
    probabilities: np.ndarray
    rejected: list[tuple[ScoreInput, str]]
    stats: np.ndarray  # [len(faces), len(reference.INPUT_STATS)]
    sources: list[str]  # each face's file size and mode ("" for shards)


def _batch(predictor: Predictor, faces: list[ScoreInput], pixels: list[np.ndarray] | np.ndarray,
           rejected: list[tuple[ScoreInput, str]], sources: list[str]) -> Batch:  # fmt: skip
    if not len(pixels):
        empty = np.zeros((0, len(reference.INPUT_STATS)))
        return Batch(faces, np.zeros(0), rejected, empty, sources)
    images = np.stack(pixels) if isinstance(pixels, list) else pixels
    probs = predictor.predict(images)
    return Batch(faces, probs, rejected, reference.input_stats(images), sources)


def _image_batches(
    predictor: Predictor, decoded: Iterator[tuple[ScoreInput, Decoded]], batch_size: int
) -> Iterator[Batch]:
    """Probabilities and input statistics per batch of decoded images."""
    batch: list[ScoreInput] = []
    pixels: list[np.ndarray] = []
    sources: list[str] = []
    rejected: list[tuple[ScoreInput, str]] = []
    for face, item in decoded:
        if isinstance(item, str):
            rejected.append((face, item))
            continue
        batch.append(face)
        pixels.append(item[0])
        sources.append(item[1])
        if len(batch) == batch_size:
            yield _batch(predictor, batch, pixels, rejected, sources)
            batch, pixels, rejected, sources = [], [], [], []
    if batch or rejected:
        yield _batch(predictor, batch, pixels, rejected, sources)


def _shard_batches(
    predictor: Predictor, path: str, metadata: ShardMetadata, uris: dict[str, str], size: int
) -> Iterator[Batch]:
    for b in shard_file_batches(path, metadata, size):
        ids = [v.decode() for v in b["id"].numpy()]
        faces = [ScoreInput(i, uris.get(i, ""), storage.basename(uris.get(i, i))) for i in ids]
        yield _batch(predictor, faces, b["image"].numpy(), [], [""] * len(faces))


def score(
    model: str,
    source: str,
    output: str,
    uncertain_low: float = defaults.UNCERTAIN_LOW,
    uncertain_high: float = defaults.UNCERTAIN_HIGH,
    split: str = "unlabelled",
    accepted_output: str | None = None,
    batch_size: int = defaults.BATCH_SIZE,
    part_size: int = defaults.PART_SIZE,
    workers: int | None = None,
    num_workers: int = 1,
    worker_index: int = 0,
    max_pixels: int = defaults.MAX_PIXELS,
    thresholds: health.Thresholds | None = None,
    accept_only_healthy: bool = False,
    ledger: str | None = None,
    review_output: str | None = None,
) -> ScoreSummary:
    """Score this worker's parts of ``source``; write predictions.csv, the score report, the
    batch health report and the review queue when all parts are done.

    ``model``: a model folder, or a registry (its latest model). With ``accept_only_healthy``,
    confident faces are copied to ``accepted_output`` only once the whole batch is found
    healthy. With ``ledger`` (glasses.scoring.ledger), a folder's files this model scored in
    earlier runs are skipped, and this run's are recorded once it is complete. The uncertain
    faces go to ``review_output`` (default: ``output``/review) as Label Studio tasks and a
    review page."""
    thresholds = thresholds or health.Thresholds()
    check_band(uncertain_low, uncertain_high)
    parts.check_worker(num_workers, worker_index)
    at_least("batch_size", batch_size, 1)
    at_least("part_size", part_size, 1)
    if split != "all" and split not in SPLITS:
        raise SettingError(f"split must be one of {', '.join(SPLITS)} or all, got {split!r}",
                           "split")  # fmt: skip
    published = registry.resolve(model)  # before reading any source
    model = published.model
    start = time.perf_counter()
    known = ledger_entries(ledger, model) if ledger else None
    planned, ignored, metadata, skipped = plan_parts(source, split, part_size, known)
    decoders = 1 if metadata is not None else max(1, workers or os.cpu_count() or 1)
    decoder = _Decoder(decoders, max_pixels)  # its processes start while the model loads
    try:
        predictor = Predictor(model)
        decoder.resolution = predictor.resolution
        uris = _check_shards(source, metadata, predictor, split, accepted_output)
        settings = {
            "format": FORMAT_VERSION,
            "model": predictor.digest,
            "resolution": predictor.resolution,
            "band": [uncertain_low, uncertain_high],
            "max_pixels": max_pixels,
            "accepted_output": accepted_output or "",
            "accept_only_healthy": accept_only_healthy,
        }
        digests = {p.name: _part_digest(p, settings, metadata) for p in planned}
        context = {"source": source, "model": model, "band": settings["band"],
                   "accepted_output": accepted_output or "",
                   "accept_only_healthy": accept_only_healthy, "ignored": ignored,
                   "model_version": model_version(published, predictor.digest),
                   "model_digest": predictor.digest,
                   "ledger": ledger or "", "skipped": skipped,
                   "review_output": review_output or ""}  # fmt: skip
        parts.Plan("score", list(digests.items()), context).write(output)
        mine = parts.mine(planned, num_workers, worker_index)
        done = {p.name: parts.finished(output, p.name, digests[p.name], _data(output, p.name))
                for p in mine}  # fmt: skip
        todo = [p for p in mine if done[p.name] is None]
        log.info(
            "score: worker %d/%d scores %d of %d parts (%d done before), %d decoding process(es)",
            worker_index, num_workers, len(todo), len(planned), len(mine) - len(todo), decoders,
        )  # fmt: skip
        sidecars = [s for s in done.values() if s is not None]
        sizes = {p.name: _part_size(p, metadata, split) for p in todo}
        progress = Progress("score", sum(sizes.values()))
        for k, part in enumerate(todo):
            if k + 1 < len(todo):
                decoder.submit(todo[k + 1])  # decode ahead while this part is predicted
            if part.shard:
                assert metadata is not None
                path = local_shard_file(source, part.shard, metadata)  # only this part's shard
                batches = _shard_batches(predictor, path, metadata, uris, batch_size)
            else:
                batches = _image_batches(predictor, decoder.decoded(part), batch_size)
            sidecars.append(
                _write_part(part, batches, output, digests[part.name], settings, accepted_output)
            )
            progress.update(sizes[part.name])
        progress.close()
    finally:
        decoder.close()
    verdict = finish(output, thresholds)
    return ScoreSummary(
        parts_written=len(sidecars),
        scored=sum(s["counts"]["scored"] for s in sidecars),
        rejected=sum(s["counts"]["rejected"] for s in sidecars),
        uncertain=sum(s["counts"]["uncertain"] for s in sidecars),
        seconds=time.perf_counter() - start,
        complete=verdict is not None,
        healthy=None if verdict is None else verdict["healthy"],
        reasons=[] if verdict is None else list(verdict["reasons"]),
        skipped=skipped,
    )


def ledger_entries(ledger_uri: str, model: str) -> set[ledger.FileKey]:
    """The files the model in ``model`` already scored, by the digest of its weights."""
    digest = hashlib.sha256(storage.read_bytes(storage.join(model, MODEL_FILE))).hexdigest()
    return ledger.seen(ledger_uri, digest)


def model_version(published: registry.Published, digest: str) -> str:
    """What the review tasks and the run summary call the model: a registry's version (it
    ends in its weights' digest), or a model folder's name and its digest."""
    short = digest[:10]
    return published.version if published.version.endswith(short) else (
        f"{published.version}@{short}")  # fmt: skip


def _part_size(part: Part, metadata: ShardMetadata | None, split: str) -> int:
    """Faces in a part: its images, or its shard's share of the split's records."""
    if not part.shard or metadata is None:
        return len(part.faces)
    info = metadata["splits"][split]
    records, shards = int(info["records"]), max(1, len(info["shards"]))
    return round(records / shards)


def _manifest_uris(metadata: ShardMetadata, split: str) -> dict[str, str]:
    """id -> image file, from the manifest the shards were made from, when it is readable."""
    try:
        rows = read_manifest(str(metadata.get("manifest", "")))
    except (InputError, FileNotFoundError, OSError):
        return {}
    return {str(r.id): r.uri for r in rows if split == "all" or r.split == split}


def _part_digest(part: Part, settings: dict[str, Any], metadata: ShardMetadata | None) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    if part.shard:
        h.update(f"shard|{part.shard}|{json.dumps(metadata, sort_keys=True)}".encode())
    for f in part.faces:
        h.update(f"\n{f.id},{f.uri},{f.key}".encode())
    return h.hexdigest()


def _write_part(
    part: Part,
    batches: Iterator[Batch],
    output: str,
    digest: str,
    settings: dict[str, Any],
    accepted_output: str | None,
) -> dict[str, Any]:
    """Write one part's rows and copies, then its sidecar (the proof it is done)."""
    low, high = settings["band"]
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    counts = {"inputs": 0, "scored": 0, "glasses": 0, "no_glasses": 0, "uncertain": 0}
    counts.update(rejected=0, accepted=0)
    rejected: list[dict[str, str]] = []
    stats_buf = io.StringIO()
    stats_rows = csv.writer(stats_buf, lineterminator="\n")
    copy_now = accepted_output and not settings["accept_only_healthy"]
    for faces, probs, bad, stats, sources in batches:
        for face, reason in bad:
            rejected.append({"id": face.id, "uri": face.uri, "reason": reason})
        decisions, unsures = predicted(probs), uncertain(probs, low, high)
        for face, p, decision, unsure in zip(faces, probs, decisions, unsures, strict=True):
            label = int(decision)
            rows.writerow([face.id, face.uri, f"{p:.6f}", label, int(unsure)])
            counts["glasses" if label else "no_glasses"] += 1
            counts["uncertain"] += int(unsure)
            if copy_now and not unsure:
                _accept(face.uri, face.name, label, accepted_output)
                counts["accepted"] += 1
        for face, values, kind in zip(faces, stats, sources, strict=True):
            stats_rows.writerow([face.id, *(f"{v:.6f}" for v in values), kind])
        counts["scored"] += len(faces)
        counts["rejected"] += len(bad)
    counts["inputs"] = counts["scored"] + counts["rejected"]
    if not part.shard:
        assert counts["inputs"] == len(part.faces)
    rows_uri, stats_uri = _data(output, part.name)
    storage.write_text(rows_uri, buf.getvalue())
    storage.write_text(stats_uri, stats_buf.getvalue())
    sidecar = {"part": part.name, "digest": digest, "counts": counts, "rejected": rejected}
    if any(f.key for f in part.faces):  # what the ledger records once the run is complete
        sidecar["keys"] = [f.key for f in part.faces]
    parts.write_sidecar(output, part.name, sidecar)
    return sidecar


def _data(output: str, name: str) -> list[str]:
    """A part's data files: its prediction rows and its faces' input statistics."""
    base = parts.uri(output, name)
    return [base + ".csv", base + STATS_SUFFIX]


def _accept(uri: str, name: str, label: int, accepted_output: str | None) -> None:
    assert accepted_output
    folder = "glasses" if label else "no_glasses"
    storage.copy(uri, storage.join(accepted_output, folder, name))


def _check_shards(
    source: str,
    metadata: ShardMetadata | None,
    predictor: Predictor,
    split: str,
    accepted_output: str | None,
) -> dict[str, str]:
    """For a shards source: the resolution fits the model; id -> file from their manifest."""
    if metadata is None:
        return {}
    if metadata["resolution"] != predictor.resolution:
        raise InputError(
            f"{source} holds {metadata['resolution']} px images but the model takes "
            f"{predictor.resolution} px"
        )
    uris = _manifest_uris(metadata, split)
    if accepted_output and not uris:
        raise SettingError(
            f"accepted_output needs the images' files, but the manifest the shards in "
            f"{source} were made from ({metadata.get('manifest')}) cannot be read",
            "accepted_output",
        )
    return uris


def finish(
    output: str,
    thresholds: health.Thresholds | None = None,
    model: str | None = None,
    review_output: str | None = None,
) -> dict[str, Any] | None:
    """predictions.csv, score_report.json and the batch health report, once every part of the
    plan is done (None before). Built from the parts' rows alone, so K workers give what one
    gives, and a gathering step needs only ``output``: no source, no settings, no model loaded
    (``model`` only says where the reference profile is, if the workers' path is not valid
    here). ``thresholds`` judge the batch and may differ from the workers'; ``review_output``,
    if given, is where the review files go instead of where the workers said."""
    thresholds = thresholds or health.Thresholds()
    plan = parts.Plan.read(output, "score")
    sidecars = parts.collect(output, plan, lambda name: _data(output, name))
    if sidecars is None:
        return None
    context = plan.context
    if review_output:
        context = {**context, "review_output": review_output}
    names = [name for name, _ in plan.parts]
    model = model or context["model"]
    source, accepted_output = context["source"], context["accepted_output"] or None
    rows_text = [storage.read_text(_data(output, name)[0]) for name in names]
    with storage.open_write(storage.join(output, PREDICTIONS)) as f:
        f.write((",".join(HEADER) + "\n").encode())
        for text in rows_text:
            f.write(text.encode())
    keys = ("inputs", "scored", "glasses", "no_glasses", "uncertain", "rejected", "accepted")
    counts = {k: sum(s["counts"][k] for s in sidecars) for k in keys}
    assert counts["inputs"] == counts["scored"] + counts["rejected"]
    rows = _parse_rows(output, names, rows_text)
    probabilities = np.array([float(r[2]) for r in rows[0]])
    stats = np.array([[float(v) for v in r[1:-1]] for r in rows[1]]).reshape(
        -1, len(reference.INPUT_STATS)
    )
    band = (context["band"][0], context["band"][1])
    verdict = health.batch_report(
        probabilities, stats, [r[-1] for r in rows[1]], band, reference.read_reference(model),
        thresholds,
    )  # fmt: skip
    if context["accept_only_healthy"] and verdict["healthy"] and accepted_output:
        for face_id, uri, _, label, unsure in rows[0]:
            if unsure == "0":
                _accept(uri, storage.basename(uri) or face_id, int(label), accepted_output)
                counts["accepted"] += 1
    verdict = {"source": source, "model": model, **verdict}
    storage.write_text(storage.join(output, BATCH_REPORT), json.dumps(verdict, indent=1))
    page = batch_page.render(verdict, _batch_figures(verdict, rows[0]))
    storage.write_text(storage.join(output, BATCH_PAGE), page)
    skipped = int(context.get("skipped", 0))
    report = {
        "source": source,
        "model": model,
        "model_version": context.get("model_version", ""),
        "uncertain_band": context["band"],
        # listed = skipped (scored by this model in an earlier run) + inputs
        "counts": {"listed": counts["inputs"] + skipped, "skipped": skipped, **counts},
        "rejected": [r for s in sidecars for r in s["rejected"]],
        "ignored_files": context["ignored"],
        "healthy": verdict["healthy"],
        "review": review.write(output, context, rows[0], counts),
        "ledger": _record(context, sidecars, rows[0]),
    }
    storage.write_text(storage.join(output, SCORE_REPORT), json.dumps(report, indent=2) + "\n")
    return verdict


def _record(
    context: dict[str, Any], sidecars: list[dict[str, Any]], rows: Sequence[Sequence[str]]
) -> str | None:
    """This run's files in the ledger, once complete: each scored or rejected."""
    if not context.get("ledger"):
        return None
    rejected = {r["uri"] for s in sidecars for r in s["rejected"]}
    keys = [k for s in sidecars for k in s.get("keys", [])]
    entries = []
    for key in keys:
        file = ledger.parse_key(key)
        entries.append((file, "rejected" if file[0] in rejected else "scored"))
    assert len(entries) == len(rows) + len(rejected)
    return ledger.record(context["ledger"], context["model_digest"], entries)


def _parse_rows(
    output: str, names: Sequence[str], rows_text: Sequence[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """Every part's prediction rows (from their text, already read) and input-statistics
    rows, in input order."""
    predictions: list[list[str]] = []
    stats: list[list[str]] = []
    for name, text in zip(names, rows_text, strict=True):
        predictions += list(csv.reader(io.StringIO(text)))
        stats += list(csv.reader(io.StringIO(storage.read_text(_data(output, name)[1]))))
    assert [r[0] for r in predictions] == [r[0] for r in stats]
    return predictions, stats


GRID_UNCERTAIN, GRID_PER_CLASS, GRID_RESOLUTION = 16, 8, 96


def _batch_figures(verdict: dict[str, Any], rows: list[list[str]]) -> dict[str, bytes]:
    """The histogram against the reference, the most uncertain faces (what is discarded) and
    a sample of each class, read again from their files."""
    figures = {"histogram": plots.probability_histogram(
        verdict["histogram"], (verdict.get("reference") or {}).get("histogram"))}  # fmt: skip
    p = np.array([float(r[2]) for r in rows])
    if not len(p):
        return figures
    order = list(np.argsort(np.abs(p - 0.5), kind="stable")[:GRID_UNCERTAIN])
    rng = np.random.default_rng(0)
    for label in ("1", "0"):
        members = [k for k, r in enumerate(rows) if r[3] == label and k not in order]
        order += [int(k) for k in rng.permutation(members)[:GRID_PER_CLASS]]
    faces, shown = [], []
    for k in order:
        try:
            faces.append(load_described(rows[k][1], GRID_RESOLUTION)[0])
            shown.append(k)
        except (ImageRejected, OSError, ValueError):
            continue  # a shard-only face, or a file gone since: no picture
    if faces:
        figures["faces"] = plots.face_grid(
            faces, [float(p[k]) for k in shown], [int(rows[k][3]) for k in shown],
            wrong=[False] * len(shown), unsure=[rows[k][4] == "1" for k in shown],
            label_name="predicted",
        )  # fmt: skip
    return figures
