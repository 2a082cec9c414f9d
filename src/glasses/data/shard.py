"""Shard: decode, resize and pack the manifest's images into TFRecord shards.

The shard layout is a pure function of the manifest and ``shard_size``: each split's rows, in
manifest order, cut into runs of ``shard_size``. That is what makes fan-out simple: worker I of K
writes the shards whose global number is I modulo K, so K workers on K machines write exactly
the files one worker would, and a rerun rewrites identical bytes.

Each finished shard gets a small sidecar (``_parts/<shard>.json``: records, classes, rejections,
bytes), written after the shard itself, so a sidecar proves its shard is complete. A rerun skips
shards whose sidecar matches, and whichever worker finds every sidecar present writes
``metadata.json`` and ``shard_report.json`` (identical content, whoever writes it).

What the shards hold is glasses.data.shard_format's to say.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from glasses import defaults, parts, storage
from glasses.artifacts import SHARD_METADATA, SHARD_REPORT
from glasses.console import Progress
from glasses.data.images import ImageRejected, load_image
from glasses.data.manifest import SPLITS, ManifestRow, read_manifest
from glasses.data.shard_format import (
    COMPRESSIONS,
    FEATURES,
    FORMAT_VERSION,
    IMAGE_ENCODING,
    Compression,
    ShardMetadata,
    SplitInfo,
    encode_record,
    shard_name,
)
from glasses.data.tfrecord import TFRecordWriter
from glasses.errors import InputError, at_least, within

log = logging.getLogger(__name__)

STEP = "shard"


@dataclass(frozen=True)
class ShardPlan:
    split: str
    index: int
    count: int
    rows: tuple[ManifestRow, ...]
    compression: str

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index, self.count, self.compression)

    def digest(self, resolution: int, max_pixels: int) -> str:
        """Changes whenever anything that decides this shard's bytes changes."""
        h = hashlib.sha256(
            f"{FORMAT_VERSION}|{IMAGE_ENCODING}|{resolution}|{max_pixels}|{self.compression}".encode()
        )
        for r in self.rows:
            h.update(f"\n{r.id},{r.uri},{r.label}".encode())
        return h.hexdigest()


def plan_shards(
    rows: Sequence[ManifestRow], shard_size: int, compression: str = defaults.COMPRESSION
) -> list[ShardPlan]:
    """Every shard of every split, in a fixed global order (splits in SPLITS order)."""
    plans: list[ShardPlan] = []
    for split in SPLITS:
        members = [r for r in rows if r.split == split]
        count = parts.count(len(members), shard_size)
        plans.extend(
            ShardPlan(
                split,
                i,
                count,
                tuple(members[i * shard_size : (i + 1) * shard_size]),
                compression,
            )
            for i in range(count)
        )
    return plans


def _write_shard(plan: ShardPlan, output: str, resolution: int, max_pixels: int) -> dict[str, Any]:
    """Write one shard, then its sidecar; returns the sidecar. Runs in a worker process."""
    digest = plan.digest(resolution, max_pixels)
    shard_uri = storage.join(output, plan.name)
    previous = parts.finished(output, plan.name, digest, [shard_uri])
    if previous is not None:
        return dict(previous)  # finished by an earlier run: identical bytes, skip
    records, classes = 0, Counter[str]()
    rejected: list[dict[str, str]] = []
    with storage.open_write(shard_uri) as f:
        with TFRecordWriter(f, plan.compression) as writer:
            for row in plan.rows:
                try:
                    pixels = load_image(row.uri, resolution, max_pixels)
                except ImageRejected as err:
                    rejected.append({"id": str(row.id), "uri": row.uri, "reason": str(err)})
                    continue
                writer.write(encode_record(pixels, row.label, row.id))
                records += 1
                if row.label is not None:
                    classes[str(row.label)] += 1
        size = f.tell()
    part = {
        "shard": plan.name,
        "split": plan.split,
        "digest": digest,
        "rows": len(plan.rows),
        "records": records,
        "class_counts": dict(sorted(classes.items())),
        "bytes": size,
        "rejected": rejected,
    }
    parts.write_sidecar(output, plan.name, part)
    return part


@dataclass(frozen=True)
class ShardSummary:
    shards_written: int
    records: int
    rejected: int
    seconds: float
    complete: bool  # every worker's shards exist, metadata.json written


def shard(
    manifest: str,
    output: str,
    resolution: int = defaults.RESOLUTION,
    shard_size: int = defaults.SHARD_SIZE,
    compression: Compression = defaults.COMPRESSION,
    workers: int | None = None,
    num_workers: int = 1,
    worker_index: int = 0,
    max_pixels: int = defaults.MAX_PIXELS,
) -> ShardSummary:
    """Write this worker's shards of ``manifest`` under ``output``; finish metadata if all done."""
    within("resolution", resolution, 8, 1024)
    at_least("shard_size", shard_size, 1)
    COMPRESSIONS.check("compression", compression)
    parts.check_worker(num_workers, worker_index)
    start = time.perf_counter()
    every = read_manifest(manifest)
    # rows a label review dropped stay in the manifest (so nothing goes missing unseen) but
    # are not training data
    rows = [r for r in every if r.label_source != "dropped"]
    if not rows:
        raise InputError(f"{manifest}: no rows to shard ({len(every)} rows, all dropped)")
    plans = plan_shards(rows, shard_size, compression)
    context = {"manifest": manifest, "resolution": resolution, "shard_size": shard_size,
               "compression": compression, "dropped_by_review": len(every) - len(rows)}  # fmt: skip
    digests = [(p.name, p.digest(resolution, max_pixels)) for p in plans]
    parts.Plan(STEP, digests, context).write(output)
    mine = parts.mine(plans, num_workers, worker_index)
    workers = max(1, min(workers or os.cpu_count() or 1, len(mine)))
    log.info(
        "shard: worker %d/%d writes %d of %d shards with %d processes",
        worker_index, num_workers, len(mine), len(plans), workers,
    )  # fmt: skip
    written: list[dict[str, Any]] = []
    with Progress("shard", sum(len(p.rows) for p in mine)) as progress:
        if workers == 1:
            for plan in mine:
                written.append(_write_shard(plan, output, resolution, max_pixels))
                progress.update(len(plan.rows))
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                futures = {
                    pool.submit(_write_shard, p, output, resolution, max_pixels): p for p in mine
                }
                for future in as_completed(futures):
                    written.append(future.result())
                    progress.update(len(futures[future].rows))
    return ShardSummary(
        shards_written=len(written),
        records=sum(p["records"] for p in written),
        rejected=sum(len(p["rejected"]) for p in written),
        seconds=time.perf_counter() - start,
        complete=finish(output) is not None,
    )


def finish(output: str) -> ShardMetadata | None:
    """Write ``metadata.json`` and ``shard_report.json`` once every shard of the plan is done,
    and return the metadata (None before): gathers what the workers wrote and needs nothing
    but ``output``."""
    plan = parts.Plan.read(output, STEP)
    found = parts.collect(output, plan, lambda name: [storage.join(output, name)])
    if found is None:
        return None
    context = plan.context
    splits: dict[str, SplitInfo] = {}
    for split in SPLITS:
        mine = [p for p in found if p["split"] == split]
        classes: Counter[str] = Counter()
        for p in mine:
            classes.update(p["class_counts"])
        splits[split] = {
            "records": sum(p["records"] for p in mine),
            "class_counts": dict(sorted(classes.items())),
            "shards": [p["shard"] for p in mine],
        }
    rejected = [r for p in found for r in p["rejected"]]
    records = sum(p["records"] for p in found)
    rows = sum(p["rows"] for p in found)
    assert rows == records + len(rejected)
    metadata: ShardMetadata = {
        "format_version": FORMAT_VERSION,
        "manifest": context["manifest"],
        "resolution": context["resolution"],
        "image_shape": [context["resolution"], context["resolution"], 3],
        "image_encoding": IMAGE_ENCODING,
        "image_dtype": "uint8",
        "features": dict(FEATURES),
        "compression": context["compression"],
        "shard_size": context["shard_size"],
        "splits": splits,
        "records": records,
        "total_bytes": sum(p["bytes"] for p in found),
    }
    dropped = int(context.get("dropped_by_review", 0))
    report = {"manifest_rows": rows + dropped, "records_written": records,
              "dropped_by_review": dropped, "rejected": rejected}  # fmt: skip
    storage.write_text(storage.join(output, SHARD_REPORT), json.dumps(report, indent=2) + "\n")
    storage.write_text(storage.join(output, SHARD_METADATA), json.dumps(metadata, indent=2) + "\n")
    return metadata
