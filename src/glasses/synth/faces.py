"""One face in any of the drawing styles: the same people, labels and tables in each."""

from __future__ import annotations

from PIL import Image

from glasses.synth.classic import render as classic
from glasses.synth.portrait import render as portrait
from glasses.synth.sketch import render as sketch
from glasses.synth.truth import FaceTruth

STYLES = ("classic", "portrait", "sketch")
# the styles defaults are chosen on; "sketch" is held out: only ever measured, never tuned on, it
# stands for the GAN faces nobody here has seen (benchmarks/quality.py --styles sketch)
TUNING_STYLES = ("classic", "portrait")


def render_face(seed: int, truth: FaceTruth, size: int, style: str = "classic") -> Image.Image:
    """One RGB face, ``size`` pixels square, deterministic in (seed, truth.id, size, style).

    Three drawing styles of the same people (the labels do not depend on the style):
    "classic", flat shapes on a soft gradient; "portrait", a clearly different hand: a tilted
    head with a pointed jaw, radial shading, strands of hair, almond eyes, glasses with double
    rims and glare, a dark studio backdrop with bokeh and coarser grain; and "sketch", ink or
    pencil lines on paper, which defaults are never tuned on (TUNING_STYLES): it checks that
    what was chosen on the other two carries over (benchmarks/quality.py, benchmarks/health.py)."""
    if style == "portrait":
        return portrait(seed, truth, size)
    if style == "sketch":
        return sketch(seed, truth, size)
    return classic(seed, truth, size)
