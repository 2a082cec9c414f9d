"""Faces a person should look at, and the answers coming back, in Label Studio's formats:
the import tasks (with the model's suggestion as a pre-annotation), the labelling config, and
the verdicts its CSV export holds. The audit writes tasks for the labels it distrusts, and
``glasses ingest --label-corrections`` reads their export (glasses.data.corrections); a scored
batch writes tasks for its uncertain faces, and ``glasses ingest --extra-labels`` reads theirs
(glasses.data.reviewed). One config serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# a reviewer's answer for a face: its label (0, 1) or DROP, leave it out of training
DROP = "drop"
# Label Studio choices, in the order the labelling interface shows them
VERDICTS = ("Glasses", "No glasses", "Drop")
_ANSWERS: dict[str, int | str] = {"glasses": 1, "no glasses": 0, "drop": DROP}

# one image, one choice; the "Drop" choice removes the face from training
LABEL_CONFIG = f"""<View>
  <Image name="image" value="$image"/>
  <Header value="Does this face wear glasses? Given label: $given_label"/>
  <Text name="reason" value="$reason"/>
  <Choices name="verdict" toName="image" choice="single" showInline="true">
{chr(10).join(f'    <Choice value="{v}"/>' for v in VERDICTS)}
  </Choices>
</View>
"""


UNLABELLED = "none (a new face)"  # what a scored face's "given label" says


def verdict_of(label: int | None) -> str:
    if label is None:
        return UNLABELLED
    return VERDICTS[0] if label == 1 else VERDICTS[1]


def answer_of(verdict: str) -> int | str | None:
    """The label (or DROP) a verdict means; None for anything else."""
    return _ANSWERS.get(verdict.strip().lower())


@dataclass(frozen=True)
class ReviewItem:
    """One face for a person: where it is, what the model makes of it, what it suggests."""

    face_id: int | str  # a labelled face's id, or a scored file's name in its batch
    uri: str
    p_glasses: float
    suggested_label: int
    given_label: int | None  # the label the face has now; None: a new face, unlabelled
    split: str  # the labelled face's split; "" for a new face
    # how well the given label fits the model's view, lower is worse; None without a label
    label_quality: float | None
    reason: str = ""  # why a person should look at it (shown beside the face)


def label_studio_task(item: ReviewItem, model_version: str) -> dict[str, Any]:
    """A Label Studio import task with the suggestion as a pre-annotation, its confidence as
    the score."""
    confidence = item.p_glasses if item.suggested_label == 1 else 1.0 - item.p_glasses
    data: dict[str, Any] = {
        "image": item.uri,
        "face_id": item.face_id,
        "given_label": verdict_of(item.given_label),
        "p_glasses": round(item.p_glasses, 4),
        "split": item.split,
        "reason": item.reason,
    }
    if item.given_label is None:  # a new face: its export goes to --extra-labels, by image
        del data["face_id"], data["split"]
        data["model_version"] = model_version
    return {
        "data": data,
        "predictions": [
            {
                "model_version": model_version,
                "score": round(confidence, 4),
                "result": [
                    {
                        "from_name": "verdict",
                        "to_name": "image",
                        "type": "choices",
                        "value": {"choices": [verdict_of(item.suggested_label)]},
                    }
                ],
            }
        ],
    }
