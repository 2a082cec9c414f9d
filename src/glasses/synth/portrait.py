"""The portrait hand: the same people (same labels) drawn clearly differently: a tilted head
with a pointed jaw, radial shading, strands of hair, almond eyes, glasses with double rims
and glare, a dark studio backdrop with bokeh and coarser grain."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from glasses.synth.drawing import (
    FRAME_COLOURS,
    HAIR_COLOURS,
    LENS_TINTS,
    SKIN_TONES,
    Eyes,
    jitter,
    shade,
)
from glasses.synth.truth import FaceTruth


def render(seed: int, truth: FaceTruth, size: int) -> Image.Image:
    rng = np.random.default_rng([seed, truth.id, 3])  # its own stream: another hand
    canvas = max(size, min(512, 4 * size))
    s = float(canvas)
    yy, xx = np.mgrid[0:canvas, 0:canvas].astype(np.float32) / canvas
    img = _backdrop(rng, s, xx, yy)

    head = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(head)
    skin = jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 18)
    hair = jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 18)
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
        fill=(*shade(skin, 0.8), 255),
    )
    # hair behind: strands
    for _ in range(220):
        x0 = cx + rng.uniform(-1.15, 1.15) * fw
        y0 = cy - fh * rng.uniform(0.7, 1.15)
        length = fh * rng.uniform(0.4, 1.6 if rng.random() < 0.5 else 0.8)
        strand = shade(hair, rng.uniform(0.7, 1.2))
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
    eyes = _features(rng, draw, truth, skin, hair, (cx, cy, fw, fh))
    if truth.glasses:
        glasses_rng = np.random.default_rng([seed, truth.id, 4])
        _draw_glasses(glasses_rng, draw, truth, s, eyes)
    # radial shading of the whole head, then a tilt
    radial = 1.05 - 0.5 * np.clip(
        ((xx - cx / s) ** 2 + (yy - cy / s) ** 2) / (fw / s) ** 2 / 4, 0, 1
    )
    arr = np.asarray(head, dtype=np.float32)
    arr[..., :3] *= radial[..., None]
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


def _backdrop(rng: np.random.Generator, s: float, xx: np.ndarray, yy: np.ndarray) -> Image.Image:
    """A studio backdrop: dark, vignetted, with out-of-focus lights."""
    base = rng.integers(15, 90, 3).astype(np.float32)
    vignette = 1.0 - 0.8 * ((xx - 0.5) ** 2 + (yy - 0.45) ** 2)
    back = Image.fromarray(np.clip(base * vignette[..., None] * 1.6, 0, 255).astype(np.uint8))
    bokeh = ImageDraw.Draw(back)
    for _ in range(int(rng.integers(4, 10))):
        bx, by, br = rng.uniform(0, s), rng.uniform(0, s * 0.6), rng.uniform(0.03, 0.08) * s
        colour = tuple(int(v) for v in rng.integers(120, 255, 3))
        bokeh.ellipse([bx - br, by - br, bx + br, by + br], fill=colour)
    return back.filter(ImageFilter.GaussianBlur(radius=s * 0.03))


def _features(
    rng: np.random.Generator,
    draw: ImageDraw.ImageDraw,
    truth: FaceTruth,
    skin: tuple[int, int, int],
    hair: tuple[int, int, int],
    face: tuple[float, float, float, float],
) -> Eyes:
    """Almond eyes (with a dark ring around them where that distractor is planted), filled
    brows, a shadowed nose and two-tone lips."""
    cx, cy, fw, fh = face
    eye_y = cy - fh * rng.uniform(0.05, 0.12)
    eye_dx, eye_r = fw * rng.uniform(0.36, 0.44), fw * rng.uniform(0.1, 0.13)
    brow_h = fh * (0.07 if truth.distractor == "thick_brows" else rng.uniform(0.02, 0.035))
    for side in (-1, 1):
        ex = cx + side * eye_dx
        if truth.distractor == "eye_shadow":
            draw.ellipse(
                [ex - eye_r * 1.9, eye_y - eye_r * 1.3, ex + eye_r * 1.9, eye_y + eye_r],
                fill=(*shade(skin, 0.5), 255),
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
            fill=(*jitter(rng, (90, 70, 50), 40), 255),
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
            fill=(*shade(hair, 0.8), 255),
        )
    draw.polygon(
        [(cx, eye_y + eye_r), (cx - fw * 0.09, cy + fh * 0.28), (cx + fw * 0.05, cy + fh * 0.3)],
        fill=(*shade(skin, 0.82), 255),
    )
    mouth_y, mouth_w = cy + fh * rng.uniform(0.5, 0.6), fw * rng.uniform(0.25, 0.36)
    lip = jitter(rng, (150, 60, 70), 30)
    draw.ellipse(
        [cx - mouth_w, mouth_y - fh * 0.05, cx + mouth_w, mouth_y], fill=(*shade(lip, 0.8), 255)
    )
    draw.ellipse(
        [cx - mouth_w * 0.9, mouth_y - fh * 0.01, cx + mouth_w * 0.9, mouth_y + fh * 0.06],
        fill=(*lip, 255),
    )
    return Eyes(cx, eye_y, eye_dx, eye_r, fw)


def _draw_glasses(
    rng: np.random.Generator,
    draw: ImageDraw.ImageDraw,
    truth: FaceTruth,
    s: float,
    eyes: Eyes,
) -> None:
    """The same frame styles as the classic hand, drawn as double rims with lens glare."""
    cx, eye_y, eye_dx, eye_r, fw = eyes
    frame = jitter(rng, FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))], 20)
    width = max(1, round(truth.frame_width * s))
    inner = (*shade(frame, 1.6), 255)
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
