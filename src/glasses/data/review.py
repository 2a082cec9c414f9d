"""Faces a person should look at, and the answers coming back, in Label Studio's formats:
the import tasks (with the model's suggestion as a pre-annotation), the labelling config, and
the verdicts its CSV export holds. The audit writes tasks for the labels it distrusts;
``glasses ingest --label-corrections`` reads the export (glasses.data.corrections).
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


def verdict_of(label: int) -> str:
    return VERDICTS[0] if label == 1 else VERDICTS[1]


def answer_of(verdict: str) -> int | str | None:
    """The label (or DROP) a verdict means; None for anything else."""
    return _ANSWERS.get(verdict.strip().lower())


@dataclass(frozen=True)
class ReviewItem:
    """One face for a person: where it is, what the model makes of it, what it suggests."""

    face_id: int
    uri: str
    p_glasses: float
    suggested_label: int
    given_label: int  # the label the face has now
    split: str
    label_quality: float  # how well the given label fits the model's view; lower is worse
    reason: str = ""  # why a person should look at it (shown beside the face)


def label_studio_task(item: ReviewItem, model_version: str) -> dict[str, Any]:
    """A Label Studio import task with the suggestion as a pre-annotation, its confidence as
    the score."""
    confidence = item.p_glasses if item.suggested_label == 1 else 1.0 - item.p_glasses
    return {
        "data": {
            "image": item.uri,
            "face_id": item.face_id,
            "given_label": verdict_of(item.given_label),
            "p_glasses": round(item.p_glasses, 4),
            "split": item.split,
            "reason": item.reason,
        },
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
