"""A synthetic stand-in for Kaggle's "Glasses or No Glasses" set, in its exact layout.

The real data cannot be downloaded here, so tests, benchmarks and ``make run`` use faces drawn
from seeded random parameters: skin, hair, pose, lighting and background vary, and glasses vary
in shape, frame thickness, colour and tint. Hard cases are planted on purpose (thin pale frames
that nearly vanish at 32 px, rimless lenses, eyebrows and eye shadow that look like frames) so
that a model's accuracy here says something. Photo-like sensor noise makes the PNGs cost what
the real 1024 px PNGs cost to decode (about 1.2 MB each).

Every face depends only on (seed, id), so any number of workers produce the same bytes.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from glasses import storage
from glasses.artifacts import GROUND_TRUTH, LABELLED_CSV, UNLABELLED_CSV
from glasses.errors import InputError

log = logging.getLogger(__name__)

IMAGE_DIR = "faces-spring-2020/faces-spring-2020"
LATENT_DIM = 512
GLASSES_FRACTION = 0.635  # the real data's share of "glasses" labels

RGB = tuple[int, int, int]

SKIN_TONES: list[RGB] = [
    (255, 224, 196), (241, 194, 163), (224, 172, 138), (198, 144, 108),
    (170, 118, 84), (141, 92, 62), (110, 70, 46), (84, 52, 34),
]  # fmt: skip
HAIR_COLOURS: list[RGB] = [
    (20, 17, 15), (45, 32, 24), (84, 58, 38), (128, 88, 55), (181, 136, 84),
    (222, 190, 140), (150, 60, 35), (170, 170, 170), (235, 235, 230),
]  # fmt: skip
FRAME_COLOURS: list[RGB] = [
    (15, 15, 15), (60, 40, 25), (110, 75, 45), (200, 170, 90), (190, 190, 195),
    (140, 20, 30), (25, 45, 110), (120, 120, 125),
]  # fmt: skip
LENS_TINTS: list[RGB] = [(20, 20, 20), (60, 45, 30), (30, 60, 40), (40, 50, 90), (110, 60, 90)]
FRAME_STYLES = ("round", "rectangle", "aviator", "cat_eye", "half_rim", "rimless")


@dataclass(frozen=True)
class FaceTruth:
    """What was drawn: the true label and how hard the face is meant to be."""

    id: int
    glasses: int
    frame_style: str  # "" when there are no glasses
    frame_width: float  # frame thickness as a fraction of image size
    tinted: bool
    distractor: str  # "", "thick_brows" or "eye_shadow"


def face_truth(seed: int, face_id: int, glasses: int) -> FaceTruth:
    """Draws the labelled attributes; :func:`render_face` draws the rest from the same stream."""
    rng = np.random.default_rng([seed, face_id])
    r = rng.random()
    distractor = "thick_brows" if r < 0.18 else "eye_shadow" if r < 0.26 else ""
    style, width, tinted = "", 0.0, False
    if glasses:
        style = str(rng.choice(FRAME_STYLES, p=[0.25, 0.25, 0.15, 0.12, 0.13, 0.10]))
        # a quarter of frames are hair-thin: 2-4 px at 1024, well under a pixel at 32
        thin = rng.random() < 0.25
        width = float(rng.uniform(0.002, 0.004) if thin else rng.uniform(0.006, 0.016))
        tinted = bool(rng.random() < 0.22)
    return FaceTruth(face_id, glasses, style, width, tinted, distractor)


class Eyes(NamedTuple):
    """Where a face's eyes are, which is where its glasses go."""

    cx: float  # the face's centre line
    y: float  # the eyes' height
    dx: float  # each eye's distance from the centre line
    r: float  # an eye's radius
    face_half_width: float


def _jitter(rng: np.random.Generator, colour: RGB, amount: int) -> RGB:
    c = np.clip(np.array(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def _shade(colour: RGB, factor: float) -> RGB:
    return (
        int(min(255, colour[0] * factor)),
        int(min(255, colour[1] * factor)),
        int(min(255, colour[2] * factor)),
    )


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
        return _render_portrait(seed, truth, size)
    if style == "sketch":
        return _render_sketch(seed, truth, size)
    # a second stream beside face_truth's, so that drawing details never shift the labels
    rng = np.random.default_rng([seed, truth.id, 1])
    # draw small faces at up to 4x and downsample: anti-aliased edges, as a camera would give
    canvas = max(size, min(512, 4 * size))
    s = float(canvas)

    background = _background(rng, canvas)
    img = Image.fromarray(background, "RGB")
    draw = ImageDraw.Draw(img)

    skin = _jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 10)
    hair = _jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 12)
    cx = s * (0.5 + rng.uniform(-0.04, 0.04))
    cy = s * (0.47 + rng.uniform(-0.03, 0.03))
    fw = s * rng.uniform(0.25, 0.31)  # half width of the face
    fh = fw * rng.uniform(1.22, 1.38)  # half height
    hair_style = int(rng.integers(4))  # 0 short, 1 long, 2 bald, 3 bun/volume

    # shoulders and neck
    r, g, b = (int(v) for v in rng.integers(20, 230, 3))
    cloth = (r, g, b)
    draw.ellipse([cx - fw * 2.1, cy + fh * 1.05, cx + fw * 2.1, cy + fh * 2.9], fill=cloth)
    draw.rectangle(
        [cx - fw * 0.45, cy + fh * 0.6, cx + fw * 0.45, cy + fh * 1.25], fill=_shade(skin, 0.85)
    )
    if hair_style == 1:  # long hair falls behind the shoulders
        draw.rounded_rectangle(
            [cx - fw * 1.25, cy - fh * 1.0, cx + fw * 1.25, cy + fh * 1.35],
            radius=fw * 0.6,
            fill=hair,
        )
    if hair_style == 3:
        draw.ellipse([cx - fw * 1.2, cy - fh * 1.35, cx + fw * 1.2, cy + fh * 0.2], fill=hair)
    # ears, then the face
    ear_y = cy + fh * rng.uniform(-0.05, 0.08)
    for side in (-1, 1):
        ex = cx + side * fw * 0.98
        draw.ellipse(
            [ex - fw * 0.13, ear_y - fh * 0.16, ex + fw * 0.13, ear_y + fh * 0.16],
            fill=_shade(skin, 0.92),
        )
    draw.ellipse([cx - fw, cy - fh, cx + fw, cy + fh], fill=skin)
    if hair_style != 2:  # hair cap over the forehead
        fringe = rng.uniform(0.45, 0.75)
        draw.chord(
            [cx - fw * 1.06, cy - fh * 1.12, cx + fw * 1.06, cy + fh * fringe - fh * 0.2],
            180,
            360,
            fill=hair,
        )

    # eyes
    eye_y = cy - fh * rng.uniform(0.02, 0.12)
    eye_dx = fw * rng.uniform(0.38, 0.46)
    eye_r = fw * rng.uniform(0.085, 0.11)
    iris = _jitter(
        rng, [(70, 50, 30), (40, 80, 120), (60, 110, 70), (30, 25, 20)][int(rng.integers(4))], 15
    )
    brow_thick = fh * (
        rng.uniform(0.055, 0.08) if truth.distractor == "thick_brows" else rng.uniform(0.015, 0.035)
    )
    brow_colour = hair if rng.random() < 0.7 else _shade(hair, 0.6)
    brow_y = eye_y - fh * rng.uniform(0.16, 0.22)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        if truth.distractor == "eye_shadow":
            shadow = _shade(skin, rng.uniform(0.45, 0.65))
            draw.ellipse(
                [ex - eye_r * 2.0, eye_y - eye_r * 1.5, ex + eye_r * 2.0, eye_y + eye_r * 1.6],
                fill=shadow,
            )
            draw.ellipse(
                [ex - eye_r * 1.6, eye_y - eye_r * 1.1, ex + eye_r * 1.6, eye_y + eye_r * 1.2],
                fill=_shade(skin, 0.9),
            )
        draw.ellipse(
            [ex - eye_r * 1.35, eye_y - eye_r * 0.7, ex + eye_r * 1.35, eye_y + eye_r * 0.7],
            fill=(245, 245, 240),
        )
        draw.ellipse(
            [ex - eye_r * 0.6, eye_y - eye_r * 0.6, ex + eye_r * 0.6, eye_y + eye_r * 0.6],
            fill=iris,
        )
        draw.ellipse(
            [ex - eye_r * 0.28, eye_y - eye_r * 0.28, ex + eye_r * 0.28, eye_y + eye_r * 0.28],
            fill=(10, 10, 10),
        )
        brow = [
            (ex - eye_r * 1.5, brow_y + brow_thick * 0.3),
            (ex, brow_y - brow_thick * 0.2),
            (ex + eye_r * 1.5, brow_y + brow_thick * 0.3),
        ]
        draw.line(brow, fill=brow_colour, width=max(1, int(brow_thick)), joint="curve")
    # nose and mouth
    nose_y = cy + fh * rng.uniform(0.22, 0.3)
    draw.line(
        [(cx, eye_y + eye_r), (cx - fw * 0.06, nose_y), (cx + fw * 0.06, nose_y)],
        fill=_shade(skin, 0.75),
        width=max(1, int(s * 0.004)),
    )
    mouth_y = cy + fh * rng.uniform(0.5, 0.58)
    mouth_w = fw * rng.uniform(0.28, 0.4)
    lips = _jitter(rng, (170, 80, 80), 25)
    smile = rng.uniform(0.02, 0.12) * fh
    draw.chord([cx - mouth_w, mouth_y - smile, cx + mouth_w, mouth_y + smile], 0, 180, fill=lips)

    if truth.glasses:
        # own stream: the same person with and without glasses differs only by the glasses
        glasses_rng = np.random.default_rng([seed, truth.id, 2])
        _draw_glasses(glasses_rng, img, truth, s, Eyes(cx, eye_y, eye_dx, eye_r, fw))

    img = _light_and_soften(rng, img, canvas)
    if canvas != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return _sensor_noise(rng, img)


def _render_portrait(seed: int, truth: FaceTruth, size: int) -> Image.Image:
    rng = np.random.default_rng([seed, truth.id, 3])  # its own stream: another hand
    canvas = max(size, min(512, 4 * size))
    s = float(canvas)
    # studio backdrop: dark, vignetted, with out-of-focus lights
    base = rng.integers(15, 90, 3).astype(np.float32)
    yy, xx = np.mgrid[0:canvas, 0:canvas].astype(np.float32) / canvas
    vignette = 1.0 - 0.8 * ((xx - 0.5) ** 2 + (yy - 0.45) ** 2)
    back = Image.fromarray(np.clip(base * vignette[..., None] * 1.6, 0, 255).astype(np.uint8))
    bokeh = ImageDraw.Draw(back)
    for _ in range(int(rng.integers(4, 10))):
        bx, by, br = rng.uniform(0, s), rng.uniform(0, s * 0.6), rng.uniform(0.03, 0.08) * s
        colour = tuple(int(v) for v in rng.integers(120, 255, 3))
        bokeh.ellipse([bx - br, by - br, bx + br, by + br], fill=colour)
    img = back.filter(ImageFilter.GaussianBlur(radius=s * 0.03))

    head = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(head)
    skin = _jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 18)
    hair = _jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 18)
    cx, cy = s * rng.uniform(0.44, 0.56), s * rng.uniform(0.44, 0.52)
    fw = s * rng.uniform(0.2, 0.26)
    fh = fw * rng.uniform(1.3, 1.5)
    # body: a V-neck top
    top = tuple(int(v) for v in rng.integers(10, 120, 3))
    draw.polygon(
        [
            (cx - fw * 2.4, s),
            (cx - fw * 1.6, cy + fh * 1.15),
            (cx, cy + fh * 1.7),
            (cx + fw * 1.6, cy + fh * 1.15),
            (cx + fw * 2.4, s),
        ],
        fill=(*top, 255),
    )
    draw.rectangle(
        [cx - fw * 0.38, cy + fh * 0.5, cx + fw * 0.38, cy + fh * 1.3],
        fill=(*_shade(skin, 0.8), 255),
    )
    # hair behind: strands
    for _ in range(220):
        x0 = cx + rng.uniform(-1.15, 1.15) * fw
        y0 = cy - fh * rng.uniform(0.7, 1.15)
        length = fh * rng.uniform(0.4, 1.6 if rng.random() < 0.5 else 0.8)
        strand = _shade(hair, rng.uniform(0.7, 1.2))
        draw.line(
            [(x0, y0), (x0 + rng.uniform(-0.3, 0.3) * fw, y0 + length)],
            fill=(*strand, 255),
            width=max(1, int(s * 0.006)),
        )
    # face: an oval crown over a pointed jaw
    jaw = [
        (cx - fw, cy - fh * 0.1),
        (cx - fw * 0.8, cy + fh * 0.55),
        (cx, cy + fh),
        (cx + fw * 0.8, cy + fh * 0.55),
        (cx + fw, cy - fh * 0.1),
    ]
    draw.polygon(jaw, fill=(*skin, 255))
    draw.ellipse([cx - fw, cy - fh, cx + fw, cy + fh * 0.4], fill=(*skin, 255))
    # a side part of the hair over the forehead
    draw.polygon(
        [
            (cx - fw * 1.05, cy - fh * 0.25),
            (cx - fw * 0.9, cy - fh * 1.05),
            (cx + fw * 0.9, cy - fh * 1.05),
            (cx + fw * 1.05, cy - fh * 0.3),
            (cx + fw * rng.uniform(-0.3, 0.4), cy - fh * rng.uniform(0.55, 0.75)),
        ],
        fill=(*hair, 255),
    )
    # almond eyes, filled brows, a shadowed nose, two-tone lips
    eye_y = cy - fh * rng.uniform(0.05, 0.12)
    eye_dx, eye_r = fw * rng.uniform(0.36, 0.44), fw * rng.uniform(0.1, 0.13)
    brow_h = fh * (0.07 if truth.distractor == "thick_brows" else rng.uniform(0.02, 0.035))
    for side in (-1, 1):
        ex = cx + side * eye_dx
        if truth.distractor == "eye_shadow":
            draw.ellipse(
                [ex - eye_r * 1.9, eye_y - eye_r * 1.3, ex + eye_r * 1.9, eye_y + eye_r],
                fill=(*_shade(skin, 0.5), 255),
            )
        draw.polygon(
            [
                (ex - eye_r * 1.5, eye_y),
                (ex, eye_y - eye_r * 0.75),
                (ex + eye_r * 1.5, eye_y),
                (ex, eye_y + eye_r * 0.6),
            ],
            fill=(235, 230, 225, 255),
        )
        draw.ellipse(
            [ex - eye_r * 0.55, eye_y - eye_r * 0.55, ex + eye_r * 0.55, eye_y + eye_r * 0.55],
            fill=(*_jitter(rng, (90, 70, 50), 40), 255),
        )
        draw.ellipse(
            [ex - eye_r * 0.22, eye_y - eye_r * 0.22, ex + eye_r * 0.22, eye_y + eye_r * 0.22],
            fill=(5, 5, 5, 255),
        )
        by = eye_y - fh * rng.uniform(0.15, 0.2)
        draw.polygon(
            [
                (ex - eye_r * 1.6, by + brow_h),
                (ex - eye_r * 0.2, by - brow_h * 0.5),
                (ex + eye_r * 1.6, by + brow_h * 0.4),
                (ex + eye_r * 1.5, by + brow_h * 1.2),
                (ex - eye_r * 0.2, by + brow_h * 0.6),
            ],
            fill=(*_shade(hair, 0.8), 255),
        )
    draw.polygon(
        [(cx, eye_y + eye_r), (cx - fw * 0.09, cy + fh * 0.28), (cx + fw * 0.05, cy + fh * 0.3)],
        fill=(*_shade(skin, 0.82), 255),
    )
    mouth_y, mouth_w = cy + fh * rng.uniform(0.5, 0.6), fw * rng.uniform(0.25, 0.36)
    lip = _jitter(rng, (150, 60, 70), 30)
    draw.ellipse(
        [cx - mouth_w, mouth_y - fh * 0.05, cx + mouth_w, mouth_y], fill=(*_shade(lip, 0.8), 255)
    )
    draw.ellipse(
        [cx - mouth_w * 0.9, mouth_y - fh * 0.01, cx + mouth_w * 0.9, mouth_y + fh * 0.06],
        fill=(*lip, 255),
    )
    if truth.glasses:
        glasses_rng = np.random.default_rng([seed, truth.id, 4])
        _draw_portrait_glasses(glasses_rng, draw, truth, s, Eyes(cx, eye_y, eye_dx, eye_r, fw))
    # radial shading of the whole head, then a tilt
    shade = 1.05 - 0.5 * np.clip(
        ((xx - cx / s) ** 2 + (yy - cy / s) ** 2) / (fw / s) ** 2 / 4, 0, 1
    )
    arr = np.asarray(head, dtype=np.float32)
    arr[..., :3] *= shade[..., None]
    head = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGBA")
    head = head.rotate(rng.uniform(-9, 9), resample=Image.Resampling.BICUBIC, center=(cx, cy))
    img = Image.alpha_composite(img.convert("RGBA"), head).convert("RGB")
    # warm or cold key light from one side, coarse grain
    side = np.clip(0.75 + rng.uniform(0.3, 0.6) * (xx if rng.random() < 0.5 else 1 - xx), 0, 1.4)
    cast = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.08, 0.08, 3)
    arr = np.asarray(img, dtype=np.float32) * side[..., None] * cast
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    if canvas != size:
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    grain = rng.normal(0.0, rng.uniform(4, 7), size=(size // 2 + 1, size // 2 + 1, 1))
    grain = np.repeat(np.repeat(grain, 2, axis=0), 2, axis=1)[:size, :size]
    out = np.asarray(img, dtype=np.float32) + grain
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def _draw_portrait_glasses(
    rng: np.random.Generator,
    draw: ImageDraw.ImageDraw,
    truth: FaceTruth,
    s: float,
    eyes: Eyes,
) -> None:
    """The same frame styles as the classic hand, drawn as double rims with lens glare."""
    cx, eye_y, eye_dx, eye_r, fw = eyes
    frame = _jitter(rng, FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))], 20)
    width = max(1, round(truth.frame_width * s))
    inner = (*_shade(frame, 1.6), 255)
    outer = (*frame, 255 if truth.frame_style != "rimless" else 110)
    lw, lh = eye_r * rng.uniform(1.9, 2.4), eye_r * rng.uniform(1.4, 1.9)
    tint = (*LENS_TINTS[int(rng.integers(len(LENS_TINTS)))], int(rng.uniform(110, 220)))
    for side in (-1, 1):
        ex = cx + side * eye_dx
        box = [ex - lw, eye_y - lh, ex + lw, eye_y + lh]
        if truth.frame_style in ("round", "rimless"):
            shape = "ellipse"
        elif truth.frame_style == "aviator":
            shape = "polygon"
            pts = [
                (box[0], box[1]),
                (box[2], box[1]),
                (ex + side * lw * 0.6, box[3]),
                (ex - side * lw * 0.9, box[3] - lh * 0.3),
            ]
        elif truth.frame_style == "cat_eye":
            shape = "polygon"
            pts = [
                (ex - side * lw, eye_y - lh * 0.4),
                (ex + side * lw * 1.15, box[1] - lh * 0.3),
                (ex + side * lw, eye_y + lh * 0.5),
                (ex - side * lw * 0.6, box[3]),
            ]
        else:
            shape = "rectangle"
        fill = tint if truth.tinted else None
        if shape == "ellipse":
            draw.ellipse(box, fill=fill, outline=outer, width=width)
        elif shape == "polygon":
            draw.polygon(pts, fill=fill, outline=outer, width=width)
        elif truth.frame_style == "half_rim":
            draw.line([(box[0], box[1]), (box[2], box[1])], fill=outer, width=width * 2)
        else:
            draw.rectangle(box, fill=fill, outline=outer, width=width)
        if truth.frame_style not in ("half_rim", "rimless") and width > 2:
            draw.rectangle(
                [box[0] + width, box[1] + width, box[2] - width, box[1] + width * 1.5], fill=inner
            )
        # glare: a pale streak across the lens
        draw.line(
            [(ex - lw * 0.5, eye_y - lh * 0.6), (ex + lw * 0.1, eye_y + lh * 0.2)],
            fill=(255, 255, 255, 70),
            width=max(1, int(lw * 0.15)),
        )
        draw.line(
            [(ex + side * lw, eye_y - lh * 0.3), (cx + side * fw * 1.02, eye_y - lh * 0.1)],
            fill=outer,
            width=width,
        )
    draw.arc(
        [cx - eye_dx + lw * 0.8, eye_y - lh * 0.9, cx + eye_dx - lw * 0.8, eye_y + lh * 0.2],
        200,
        340,
        fill=outer,
        width=width,
    )


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


def _render_sketch(seed: int, truth: FaceTruth, size: int) -> Image.Image:
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
        _draw_sketch_glasses(glasses_rng, draw, truth, s, Eyes(cx, eye_y, eye_dx, eye_r, fw), ink)
    layer = layer.rotate(rng.uniform(-5, 5), resample=Image.Resampling.BICUBIC, center=(cx, cy))
    img = Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
    img = img.filter(ImageFilter.GaussianBlur(radius=s * 0.0012))
    if canvas != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    grain = rng.normal(0.0, rng.uniform(1.5, 3.0), size=(size, size, 1))
    return Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).astype(np.uint8))


def _draw_sketch_glasses(
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


def _background(rng: np.random.Generator, canvas: int) -> np.ndarray:
    """A soft two-colour gradient, like the out-of-focus backdrops of GAN portraits."""
    a = rng.integers(30, 235, 3).astype(np.float32)
    b = rng.integers(30, 235, 3).astype(np.float32)
    angle = rng.uniform(0, np.pi)
    ramp = np.linspace(0.0, 1.0, canvas, dtype=np.float32)
    t = np.clip(np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None], 0, 1)
    gradient: np.ndarray = (a + (b - a) * t[..., None]).astype(np.uint8)
    return gradient


def _draw_glasses(
    rng: np.random.Generator,
    img: Image.Image,
    truth: FaceTruth,
    s: float,
    eyes: Eyes,
) -> None:
    cx, eye_y, eye_dx, eye_r, fw = eyes
    frame = _jitter(rng, FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))], 12)
    width = max(1, round(truth.frame_width * s))
    lens_w = eye_r * rng.uniform(2.0, 2.6)
    lens_h = lens_w * rng.uniform(0.65, 0.9) if truth.frame_style != "round" else lens_w * 0.95
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    tint = (*LENS_TINTS[int(rng.integers(len(LENS_TINTS)))], int(rng.uniform(90, 230)))
    lens_fill = tint if truth.tinted else (255, 255, 255, 40)
    line = (*frame, 255) if truth.frame_style != "rimless" else (*frame, 120)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        box = [ex - lens_w, eye_y - lens_h, ex + lens_w, eye_y + lens_h * 1.05]
        style = truth.frame_style
        if style == "round":
            draw.ellipse(box, fill=lens_fill, outline=line, width=width)
        elif style == "rectangle":
            draw.rounded_rectangle(
                box, radius=lens_h * 0.3, fill=lens_fill, outline=line, width=width
            )
        elif style == "aviator":
            draw.chord(
                [box[0], box[1] - lens_h * 0.6, box[2], box[3] + lens_h * 0.3],
                0,
                180,
                fill=lens_fill,
                outline=line,
                width=width,
            )
            draw.line(
                [(box[0], eye_y - lens_h * 0.75), (box[2], eye_y - lens_h * 0.75)],
                fill=line,
                width=width,
            )
        elif style == "cat_eye":
            outer = box[0] if side < 0 else box[2]
            inner = box[2] if side < 0 else box[0]
            pts = [
                (inner, eye_y - lens_h * 0.6),
                (outer, eye_y - lens_h * 1.25),
                (outer, eye_y + lens_h * 0.3),
                (ex, eye_y + lens_h),
                (inner, eye_y + lens_h * 0.4),
            ]
            draw.polygon(pts, fill=lens_fill, outline=line, width=width)
        elif style == "half_rim":
            draw.rounded_rectangle(box, radius=lens_h * 0.3, fill=lens_fill)
            draw.line(
                [(box[0], box[1] + width / 2), (box[2], box[1] + width / 2)], fill=line, width=width
            )
        else:  # rimless: lens edge only, a hard case
            draw.ellipse(box, fill=lens_fill, outline=line, width=max(1, width // 2))
        # temple arm towards the ear
        edge = ex + side * lens_w
        draw.line(
            [(edge, eye_y - lens_h * 0.4), (cx + side * fw * 0.97, eye_y - lens_h * 0.2)],
            fill=line,
            width=width,
        )
    bridge_y = eye_y - lens_h * rng.uniform(0.1, 0.5)
    draw.line(
        [(cx - eye_dx + lens_w, bridge_y), (cx + eye_dx - lens_w, bridge_y)], fill=line, width=width
    )
    img.paste(Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB"))


def _light_and_soften(rng: np.random.Generator, img: Image.Image, canvas: int) -> Image.Image:
    """Directional light and a slight blur: GAN faces have soft edges and shading."""
    img = img.filter(ImageFilter.GaussianBlur(radius=canvas * rng.uniform(0.0008, 0.0025)))
    arr = np.asarray(img, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.05, 0.3)
    ramp = np.linspace(-1.0, 1.0, canvas, dtype=np.float32)
    light = 1.0 + strength * (np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None])
    brightness = rng.uniform(0.8, 1.15)
    arr = arr * (light * brightness)[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _sensor_noise(rng: np.random.Generator, img: Image.Image) -> Image.Image:
    """Fine grain, so PNGs compress like photographs rather than cartoons."""
    arr = np.asarray(img, dtype=np.int16)
    sigma = rng.uniform(2.5, 4.0)
    noise = rng.normal(0.0, sigma, size=(*arr.shape[:2], 1)).astype(np.int16)
    colour_noise = rng.integers(-1, 2, size=arr.shape, dtype=np.int16)
    return Image.fromarray(np.clip(arr + noise + colour_noise, 0, 255).astype(np.uint8), "RGB")


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


@dataclass(frozen=True)
class SynthSummary:
    images: int
    labelled: int
    unlabelled: int
    glasses: int
    flipped: int
    seconds: float


def assign_labels(seed: int, count: int) -> np.ndarray:
    """True labels: exactly round(63.5 %) glasses, placed at random (deterministic in seed)."""
    labels = np.zeros(count, dtype=np.int64)
    positives = np.random.default_rng([seed, 0, 7]).permutation(count)[
        : round(count * GLASSES_FRACTION)
    ]
    labels[positives] = 1
    return labels


def _write_faces(
    out: str, seed: int, size: int, truths: Sequence[FaceTruth], style: str = "classic"
) -> int:
    for truth in truths:
        png = encode_png(render_face(seed, truth, size, style))
        storage.write_bytes(storage.join(out, IMAGE_DIR, f"face-{truth.id}.png"), png)
    return len(truths)


def synth(
    out: str,
    count: int = 5000,
    size: int = 1024,
    unlabelled_fraction: float = 0.1,
    label_noise: float = 0.0,
    seed: int = 0,
    workers: int | None = None,
    style: str = "classic",
) -> SynthSummary:
    """Write ``count`` faces, train.csv, test.csv and ground_truth.csv under ``out``, drawn in
    ``style`` (the same people and labels in either style)."""
    if style not in STYLES:
        raise InputError(f"--style must be one of {', '.join(STYLES)}, got {style!r}")
    if count < 1:
        raise InputError(f"--count must be at least 1, got {count}")
    if size < 16:
        raise InputError(f"--size must be at least 16 px, got {size}")
    if not 0.0 <= unlabelled_fraction < 1.0:
        raise InputError(f"--unlabelled-fraction must be in [0, 1), got {unlabelled_fraction}")
    if not 0.0 <= label_noise <= 1.0:
        raise InputError(f"--label-noise must be in [0, 1], got {label_noise}")
    start = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    ids = np.arange(1, count + 1)
    n_unlabelled = round(count * unlabelled_fraction)
    n_labelled = count - n_unlabelled
    true_labels = assign_labels(seed, count)
    truths = [face_truth(seed, int(i), int(y)) for i, y in zip(ids, true_labels, strict=True)]

    noise_rng = np.random.default_rng([seed, 0, 11])
    flipped = np.zeros(count, dtype=bool)
    flipped[noise_rng.permutation(n_labelled)[: round(n_labelled * label_noise)]] = True
    given = np.where(flipped, 1 - true_labels, true_labels)

    _write_tables(out, seed, ids, truths, given, flipped, n_labelled)

    chunks = [truths[i : i + 16] for i in range(0, count, 16)]
    if workers <= 1 or count <= 16:
        done = sum(_write_faces(out, seed, size, chunk, style) for chunk in chunks)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_write_faces, out, seed, size, chunk, style) for chunk in chunks]
            done = 0
            for future in futures:
                done += future.result()
                if done % 500 < 16:
                    log.info("synth: %d/%d faces", done, count)
    return SynthSummary(
        images=done,
        labelled=n_labelled,
        unlabelled=n_unlabelled,
        glasses=int(given[:n_labelled].sum()),
        flipped=int(flipped.sum()),
        seconds=time.perf_counter() - start,
    )


def _write_tables(
    out: str,
    seed: int,
    ids: np.ndarray,
    truths: Sequence[FaceTruth],
    given: np.ndarray,
    flipped: np.ndarray,
    n_labelled: int,
) -> None:
    # latent vectors as in the real CSVs (about N(0, 0.8)); nothing downstream may use them
    latents = np.random.default_rng([seed, 0, 13]).normal(0.0, 0.8, size=(len(ids), LATENT_DIM))
    latent_header = [f"v{j}" for j in range(1, LATENT_DIM + 1)]

    def table(rows: range, with_label: bool) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", *latent_header, *(["glasses"] if with_label else [])])
        for r in rows:
            values = [f"{v:.6f}" for v in latents[r]]
            writer.writerow([int(ids[r]), *values, *([int(given[r])] if with_label else [])])
        return buf.getvalue()

    storage.write_text(storage.join(out, LABELLED_CSV), table(range(n_labelled), True))
    storage.write_text(storage.join(out, UNLABELLED_CSV), table(range(n_labelled, len(ids)), False))

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "id",
            "true_label",
            "given_label",
            "flipped",
            "frame_style",
            "frame_width",
            "tinted",
            "distractor",
        ]
    )
    for r, t in enumerate(truths):
        labelled = r < n_labelled
        writer.writerow([
            t.id, t.glasses, int(given[r]) if labelled else "", int(flipped[r]),
            t.frame_style, f"{t.frame_width:.4f}", int(t.tinted), t.distractor,
        ])  # fmt: skip
    storage.write_text(storage.join(out, GROUND_TRUTH), buf.getvalue())
