"""A scored batch's review queue: its uncertain faces, the most uncertain first, as Label Studio
tasks (with the labelling config) and a review page, in the formats the label audit uses
(glasses.data.review, glasses.pages.review): one implementation for both queues. What people
answer comes back through ``glasses ingest --extra-labels`` (glasses.data.reviewed)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from glasses import storage
from glasses.artifacts import LABEL_STUDIO_CONFIG, LABEL_STUDIO_TASKS, REVIEW_PAGE
from glasses.data.review import LABEL_CONFIG, ReviewItem, label_studio_task
from glasses.pages import review as review_page

REVIEW_DIR = "review"  # below a score run's output, unless review_output says elsewhere
# the page shows the most uncertain faces only: each thumbnail decodes its original image, and
# an untrained or drifted model can leave a whole batch uncertain (the tasks hold them all)
PAGE_FACES = 32


def review_queue(rows: Sequence[Sequence[str]], band: Sequence[float]) -> list[ReviewItem]:
    """A batch's uncertain faces, the most uncertain first: what a reviewer looks at."""
    low, high = band
    unsure = [r for r in rows if r[4] == "1"]
    unsure.sort(key=lambda r: abs(float(r[2]) - 0.5))  # stable: ties keep the input order
    reason = f"uncertain: the model's p(glasses) is inside the band [{low}, {high}]"
    return [ReviewItem(r[0], r[1], float(r[2]), int(r[3]), None, "", None, reason)
            for r in unsure]  # fmt: skip


def write(
    output: str, context: dict[str, Any], rows: Sequence[Sequence[str]], counts: dict[str, int]
) -> dict[str, Any]:
    """The uncertain faces as Label Studio tasks (with their config) and a review page."""
    where = context.get("review_output") or storage.join(output, REVIEW_DIR)
    queue = review_queue(rows, context["band"])
    version = context.get("model_version", "")
    tasks = [label_studio_task(item, version) for item in queue]
    storage.write_text(storage.join(where, LABEL_STUDIO_TASKS), json.dumps(tasks, indent=1) + "\n")
    storage.write_text(storage.join(where, LABEL_STUDIO_CONFIG), LABEL_CONFIG)
    summary = {"counts": counts, "uncertain_band": context["band"], "model_version": version}
    page = review_page.render_batch(queue[:PAGE_FACES], summary)
    storage.write_text(storage.join(where, REVIEW_PAGE), page)
    # "" when below the output, so K workers' output is byte for byte one worker's
    return {"review_output": context.get("review_output") or "", "tasks": len(tasks)}


def folder(output: str, report: dict[str, Any]) -> str:
    """Where a finished run's review files are (``report``: its score report)."""
    return str(report["review"]["review_output"]) or storage.join(output, REVIEW_DIR)
