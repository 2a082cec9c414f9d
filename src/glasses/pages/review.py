"""The review page: faces a person should look at, in the order to look at them, each large
enough to judge (thin frames stay visible), with why it is there, what the model makes of it
and what it suggests."""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from glasses import storage
from glasses.data.images import ImageRejected, load_image
from glasses.data.review import ReviewItem, verdict_of
from glasses.pages.html import head

log = logging.getLogger(__name__)

THUMBNAIL = 192  # px: thin frames stay visible


def thumbnail(uri: str) -> str:
    """A JPEG data URI of the original image, or "" (with the reason logged)."""
    from PIL import Image

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


def cards(queue: Sequence[ReviewItem]) -> str:
    """The faces of a queue, in its order, each large enough to judge, with its reason and
    what the model makes of it: the part the audit's and a scored batch's pages share."""
    shown = []
    for rank, f in enumerate(queue, 1):
        src = thumbnail(f.uri)
        anchor = html.escape(str(f.face_id), quote=True)
        picture = (
            f'<img src="{src}" alt="face {anchor}" width="{THUMBNAIL}" height="{THUMBNAIL}">'
            if src
            else f'<div class="gone">image unavailable<br>{html.escape(f.uri or "no uri")}</div>'
        )
        where = f" ({html.escape(f.split)})" if f.split else ""
        quality = f"label quality {f.label_quality:.3f}<br>" if f.label_quality is not None else ""
        given = (
            f'given: <span class="given">{verdict_of(f.given_label)}</span><br>'
            if f.given_label is not None
            else ""
        )
        shown.append(
            f'<figure class="face" id="face-{anchor}">{picture}<figcaption>'
            f"<b>#{rank} {'face ' if f.split else ''}{html.escape(str(f.face_id))}</b>{where}<br>"
            f"{given}p(glasses) {f.p_glasses:.3f}<br>"
            f'suggested: <span class="suggested">{verdict_of(f.suggested_label)}</span><br>'
            f'{quality}<span class="why">{html.escape(f.reason)}</span></figcaption></figure>'
        )
    return f"""<section id="queue"><h2>Review queue</h2><div class="faces">
{chr(10).join(shown) or "<p>No face needs a look.</p>"}
</div></section>"""


STYLE = f"""<style>
.faces {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.face {{ margin: 0; width: {THUMBNAIL}px; font-size: 13px; overflow-wrap: anywhere; }}
.face img {{ display: block; border-radius: 4px; }}
.given {{ color: #c62828; }} .suggested {{ color: #2e7d32; font-weight: bold; }}
.gone {{ width: {THUMBNAIL}px; height: {THUMBNAIL}px; background: #eee; color: #777;
         display: flex; align-items: center; justify-content: center; text-align: center;
         font-size: 11px; overflow-wrap: anywhere; }}
.warn {{ color: #c62828; }} .why {{ color: #555; font-style: italic; }}
</style>"""


def render(queue: Sequence[ReviewItem], report: Mapping[str, Any]) -> str:
    """The audit's review queue (flagged and undecided faces, worst label first), each large
    enough to judge, with its reason and what the audit thinks (``report``: the audit's
    report)."""
    noise = report["estimated_noise_rate"]
    per_round = report["flagged_per_round"]
    rounds = (
        f"; {len(per_round)} rounds, each round's models trained without the faces the round "
        f"before flagged; flagged: {', then '.join(str(n) for n in per_round)}"
        if len(per_round) > 1
        else ""
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
    return f"""{head("glasses: label audit")}
{STYLE}
<h1>Label audit: {report["flagged"]} of {report["faces"]} labels look wrong,
{report["undecided"]} undecided</h1>
<p id="summary">Each face's probability comes from a model that never saw it
({report["settings"]["folds"]} folds{rounds}). cleanlab
(<code>{html.escape(report["filter_by"])}</code>) flagged
{report["flagged_share"]:.1%} of the labelled faces. Estimated share of wrong labels:
{noise["0"]:.1%} of faces labelled "no glasses", {noise["1"]:.1%} of faces labelled "glasses".
The {report["undecided"]} undecided faces (the models cannot tell, or lean against the label too
weakly to flag it) stay in training with their given label unless you correct them. Faces are
shown in the order to look at them: the worst-fitting label first, each with why it is here.
To fix them, import <code>label_studio_tasks.json</code> into Label Studio (labelling config:
<code>label_studio_config.xml</code>), or edit <code>corrections.csv</code>, and pass the
result to <code>glasses ingest --label-corrections</code>.</p>
{missing}
<table><tr><th>split</th><th>labelled faces</th><th>flagged</th></tr>{split_rows}</table>
{cards(queue)}
</body></html>
"""


def render_batch(queue: Sequence[ReviewItem], summary: Mapping[str, Any]) -> str:
    """A scored batch's review queue: its uncertain faces, the most uncertain first
    (``summary``: the run's counts, its model and band)."""
    counts = summary["counts"]
    low, high = summary["uncertain_band"]
    shown = (
        f" The page shows the {len(queue)} most uncertain; the tasks hold all "
        f"{counts['uncertain']}."
        if len(queue) < counts["uncertain"]
        else ""
    )
    return f"""{head("glasses: faces to review")}
{STYLE}
<h1>Scored batch: {counts["uncertain"]} of {counts["scored"]} faces uncertain</h1>
<p id="summary">Model <code>{html.escape(str(summary["model_version"]))}</code> gave these faces a
probability of glasses between {low} and {high}: it cannot tell, so they were not accepted.
They are shown the most uncertain first.{shown} Import <code>label_studio_tasks.json</code> into
Label Studio (labelling config: <code>label_studio_config.xml</code>); its CSV export, passed
to <code>glasses ingest --extra-labels</code> (or the training pipeline's
<code>extra_labels</code>), makes them training faces.</p>
{cards(queue)}
</body></html>
"""
