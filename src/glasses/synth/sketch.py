"""The sketch hand, held out from tuning: ink or pencil lines on paper, a larger upright head,
hatched shading, and no filled shapes of skin, hair or glass at all. Defaults are never chosen
on it: it stands in for GAN faces nobody here has seen."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from glasses.synth.drawing import RGB, Eyes
from glasses.synth.truth import FaceTruth

INKS: list[RGB] = [(35, 35, 40), (70, 60, 55), (90, 55, 30), (25, 40, 95)]  # graphite..ballpoint


def _stroke(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    points: Sequence[tuple[float, float]],
    ink: tuple[int, int, int, int],
    width: int,
    wobble: float,
) -> None:
    """A hand-drawn line through ``points``: drawn twice, each pass a little off."""
    for _ in range(2):
        shaky = [(x + rng.normal(0, wobble), y + rng.normal(0, wobble)) for x, y in points]
        draw.line(shaky, fill=ink, width=width, joint="curve")


def _oval(cx: float, cy: float, rx: float, ry: float, n: int = 24) -> list[tuple[float, float]]:
    t = np.linspace(0, 2 * np.pi, n + 1)
    return [(cx + rx * float(np.cos(a)), cy + ry * float(np.sin(a))) for a in t]


def _hatch(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    box: Sequence[float],
    ink: tuple[int, int, int, int],
    spacing: float,
    width: int,
) -> None:
    """Diagonal pencil hatching over ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    x = x0 - h
    while x < x1:  # the line (x + t h, y1 - t h), t in [0, 1], kept inside the box
        lo, hi = max(0.0, (x0 - x) / h), min(1.0, (x1 - x) / h)
        if lo < hi:
            draw.line([(x + lo * h, y1 - lo * h), (x + hi * h, y1 - hi * h)], fill=ink, width=width)
        x += spacing * rng.uniform(0.7, 1.3)


def render(seed: int, truth: FaceTruth, size: int) -> Image.Image:
    """A third hand, held out from tuning: an ink or pencil line drawing on paper, a larger and
    upright head, hatched shading; no filled shapes of skin, hair or glass at all."""
    rng = np.random.default_rng([seed, truth.id, 5])
    canvas = max(size, min(512, 4 * size))
    s = float(canvas)
    paper = np.array([rng.uniform(232, 250), rng.uniform(226, 246), rng.uniform(210, 238)])
    coarse = rng.normal(0, 1, (canvas // 8 + 1, canvas // 8 + 1))
    fibres = np.kron(coarse, np.ones((8, 8)))[:canvas, :canvas, None]
    back = np.clip(paper + fibres * rng.uniform(2, 5), 0, 255).astype(np.uint8)
    img = Image.fromarray(back, "RGB").filter(ImageFilter.GaussianBlur(radius=s * 0.004))
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    base = INKS[int(rng.integers(len(INKS)))]
    ink = (*base, int(rng.uniform(190, 240)))
    light = (*base, int(rng.uniform(45, 80)))
    pen = max(1, round(s * rng.uniform(0.004, 0.007)))
    wobble = s * 0.0015
    cx, cy = s * rng.uniform(0.46, 0.54), s * rng.uniform(0.46, 0.52)
    fw = s * rng.uniform(0.26, 0.33)
    fh = fw * rng.uniform(1.2, 1.4)
    # shoulders and neck, then the head: an egg, narrower at the chin
    _stroke(draw, rng, [(cx - fw * 2.2, s), (cx - fw * 1.2, cy + fh * 1.35),
                        (cx - fw * 0.4, cy + fh * 1.1)], ink, pen, wobble)  # fmt: skip
    _stroke(draw, rng, [(cx + fw * 2.2, s), (cx + fw * 1.2, cy + fh * 1.35),
                        (cx + fw * 0.4, cy + fh * 1.1)], ink, pen, wobble)  # fmt: skip
    egg = [(x, y + (y - cy) * 0.12 * (y > cy)) for x, y in _oval(cx, cy, fw, fh)]
    egg = [(cx + (x - cx) * (1 - 0.25 * max(0.0, (y - cy) / fh)), y) for x, y in egg]
    _stroke(draw, rng, egg, ink, pen, wobble)
    # shading: hatching down one cheek
    side = -1 if rng.random() < 0.5 else 1
    _hatch(draw, rng, (cx + side * fw * 0.55 - fw * 0.2, cy - fh * 0.2,
                       cx + side * fw * 0.55 + fw * 0.2, cy + fh * 0.6),
           light, s * 0.018, max(1, pen // 2))  # fmt: skip
    # hair: loose strokes from the crown, short or long
    long_hair = rng.random() < 0.45
    for _ in range(int(rng.integers(25, 60))):
        a = rng.uniform(np.pi * 1.05, np.pi * 1.95)
        x0, y0 = cx + fw * 1.02 * np.cos(a), cy + fh * 1.02 * np.sin(a)
        at_the_side = abs(np.cos(a)) > 0.6  # long strands fall beside the face, not across it
        reach = fh * (rng.uniform(0.6, 1.6) if long_hair and at_the_side else rng.uniform(0.1, 0.4))
        bend = np.sign(np.cos(a)) * fw * rng.uniform(0.05, 0.3)
        draw.line([(x0, y0), (x0 + bend, y0 + reach * 0.5), (x0 + bend * 1.4, y0 + reach)],
                  fill=ink if rng.random() < 0.6 else light, width=max(1, pen - 1),
                  joint="curve")  # fmt: skip
    # eyes: outlined almonds with dark pupils; brows as strokes
    eye_y = cy - fh * rng.uniform(0.0, 0.1)
    eye_dx, eye_r = fw * rng.uniform(0.36, 0.45), fw * rng.uniform(0.09, 0.12)
    thick = truth.distractor == "thick_brows"
    for sd in (-1, 1):
        ex = cx + sd * eye_dx
        if truth.distractor == "eye_shadow":  # dense hatching around the eye: dark like a lens
            _hatch(draw, rng, (ex - eye_r * 1.9, eye_y - eye_r * 1.4, ex + eye_r * 1.9,
                               eye_y + eye_r * 1.1), ink, s * 0.007, max(1, pen // 2))  # fmt: skip
        _stroke(draw, rng, [(ex - eye_r * 1.4, eye_y), (ex, eye_y - eye_r * 0.8),
                            (ex + eye_r * 1.4, eye_y)], ink, pen, wobble)  # fmt: skip
        _stroke(draw, rng, [(ex - eye_r * 1.4, eye_y), (ex, eye_y + eye_r * 0.55),
                            (ex + eye_r * 1.4, eye_y)], ink, max(1, pen - 1), wobble)  # fmt: skip
        r = eye_r * rng.uniform(0.3, 0.42)
        draw.ellipse([ex - r, eye_y - r * 1.1, ex + r, eye_y + r * 0.9], fill=ink)
        by = eye_y - fh * rng.uniform(0.15, 0.21)
        for k in range(int(rng.integers(5, 9)) if thick else 1):
            dy = (k - 3) * s * 0.003 if thick else 0.0
            brow = [(ex - eye_r * 1.6, by + eye_r * 0.3 + dy), (ex, by - eye_r * 0.2 + dy),
                    (ex + eye_r * 1.5, by + eye_r * 0.2 + dy)]  # fmt: skip
            _stroke(draw, rng, brow, ink, pen + (1 if thick else 0), wobble)
    # nose and mouth: single lines
    ny = cy + fh * rng.uniform(0.22, 0.3)
    _stroke(draw, rng, [(cx + side * fw * 0.05, eye_y + eye_r * 1.2),
                        (cx + side * fw * 0.1, ny), (cx - side * fw * 0.06, ny + fh * 0.03)],
            ink, max(1, pen - 1), wobble)  # fmt: skip
    my, mw = cy + fh * rng.uniform(0.5, 0.6), fw * rng.uniform(0.25, 0.38)
    smile = fh * rng.uniform(-0.02, 0.08)
    _stroke(draw, rng, [(cx - mw, my), (cx, my + smile), (cx + mw, my)], ink, pen, wobble)
    if truth.glasses:
        glasses_rng = np.random.default_rng([seed, truth.id, 6])
        _draw_glasses(glasses_rng, draw, truth, s, Eyes(cx, eye_y, eye_dx, eye_r, fw), ink)
    layer = layer.rotate(rng.uniform(-5, 5), resample=Image.Resampling.BICUBIC, center=(cx, cy))
    img = Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
    img = img.filter(ImageFilter.GaussianBlur(radius=s * 0.0012))
    if canvas != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    grain = rng.normal(0.0, rng.uniform(1.5, 3.0), size=(size, size, 1))
    return Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).astype(np.uint8))


def _draw_glasses(
    rng: np.random.Generator,
    draw: ImageDraw.ImageDraw,
    truth: FaceTruth,
    s: float,
    eyes: Eyes,
    ink: tuple[int, int, int, int],
) -> None:
    """The six frame styles as ink outlines; tinted lenses hatched, rimless ones faint."""
    cx, eye_y, eye_dx, eye_r, fw = eyes
    width = max(1, round(truth.frame_width * s))
    line = ink if truth.frame_style != "rimless" else (*ink[:3], 90)
    lw, lh = eye_r * rng.uniform(1.9, 2.5), eye_r * rng.uniform(1.3, 1.9)
    wobble = s * 0.001
    for side in (-1, 1):
        ex = cx + side * eye_dx
        x0, y0, x1, y1 = ex - lw, eye_y - lh, ex + lw, eye_y + lh
        if truth.tinted:
            _hatch(draw, rng, (x0 + lw * 0.3, y0 + lh * 0.3, x1 - lw * 0.3, y1 - lh * 0.3),
                   (*ink[:3], 120), s * 0.008, 1)  # fmt: skip
        style = truth.frame_style
        if style in ("round", "rimless"):
            outline = _oval(ex, eye_y, lw, lh)
        elif style == "aviator":  # flat top, a drop below
            outline = [(x0, y0), (x1, y0), (x1, eye_y), (ex + lw * 0.4, y1),
                       (ex - lw * 0.4, y1), (x0, eye_y), (x0, y0)]  # fmt: skip
        elif style == "cat_eye":
            outline = [(ex - side * lw, eye_y - lh * 0.4), (ex + side * lw * 1.15, y0 - lh * 0.3),
                       (ex + side * lw, eye_y + lh * 0.5), (ex - side * lw * 0.6, y1),
                       (ex - side * lw, eye_y - lh * 0.4)]  # fmt: skip
        elif style == "half_rim":
            outline = [(x0, y0 + lh * 0.2), (ex, y0), (x1, y0 + lh * 0.2)]
        else:
            outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        _stroke(draw, rng, outline, line, width, wobble)
        temple = [(ex + side * lw, eye_y - lh * 0.4), (cx + side * fw, eye_y - lh * 0.2)]
        _stroke(draw, rng, temple, line, width, wobble)
    _stroke(draw, rng, [(cx - eye_dx + lw, eye_y - lh * 0.3), (cx, eye_y - lh * 0.55),
                        (cx + eye_dx - lw, eye_y - lh * 0.3)], line, width, wobble)  # fmt: skip
