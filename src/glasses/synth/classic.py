"""The classic hand: flat shapes on a soft gradient, directional light and fine sensor grain,
so that 1024 px PNGs weigh (and cost to decode) what photographs do."""

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
    """One RGB face, ``size`` pixels square, deterministic in (seed, truth.id, size)."""
    # a second stream beside face_truth's, so that drawing details never shift the labels
    rng = np.random.default_rng([seed, truth.id, 1])
    # draw small faces at up to 4x and downsample: anti-aliased edges, as a camera would give
    canvas = max(size, min(512, 4 * size))
    s = float(canvas)

    background = _background(rng, canvas)
    img = Image.fromarray(background, "RGB")
    draw = ImageDraw.Draw(img)

    skin = jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 10)
    hair = jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 12)
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
        [cx - fw * 0.45, cy + fh * 0.6, cx + fw * 0.45, cy + fh * 1.25], fill=shade(skin, 0.85)
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
            fill=shade(skin, 0.92),
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

    eyes = _eyes(rng, draw, truth, skin, hair, (cx, cy, fw, fh))
    eye_y, eye_r = eyes.y, eyes.r
    # nose and mouth
    nose_y = cy + fh * rng.uniform(0.22, 0.3)
    draw.line(
        [(cx, eye_y + eye_r), (cx - fw * 0.06, nose_y), (cx + fw * 0.06, nose_y)],
        fill=shade(skin, 0.75),
        width=max(1, int(s * 0.004)),
    )
    mouth_y = cy + fh * rng.uniform(0.5, 0.58)
    mouth_w = fw * rng.uniform(0.28, 0.4)
    lips = jitter(rng, (170, 80, 80), 25)
    smile = rng.uniform(0.02, 0.12) * fh
    draw.chord([cx - mouth_w, mouth_y - smile, cx + mouth_w, mouth_y + smile], 0, 180, fill=lips)

    if truth.glasses:
        # own stream: the same person with and without glasses differs only by the glasses
        glasses_rng = np.random.default_rng([seed, truth.id, 2])
        _draw_glasses(glasses_rng, img, truth, s, eyes)

    img = _light_and_soften(rng, img, canvas)
    if canvas != size:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return _sensor_noise(rng, img)


def _eyes(
    rng: np.random.Generator,
    draw: ImageDraw.ImageDraw,
    truth: FaceTruth,
    skin: tuple[int, int, int],
    hair: tuple[int, int, int],
    face: tuple[float, float, float, float],
) -> Eyes:
    """Both eyes and brows (and a frame-like eye shadow, where that distractor is planted)."""
    cx, cy, fw, fh = face
    eye_y = cy - fh * rng.uniform(0.02, 0.12)
    eye_dx = fw * rng.uniform(0.38, 0.46)
    eye_r = fw * rng.uniform(0.085, 0.11)
    iris = jitter(
        rng, [(70, 50, 30), (40, 80, 120), (60, 110, 70), (30, 25, 20)][int(rng.integers(4))], 15
    )
    brow_thick = fh * (
        rng.uniform(0.055, 0.08) if truth.distractor == "thick_brows" else rng.uniform(0.015, 0.035)
    )
    brow_colour = hair if rng.random() < 0.7 else shade(hair, 0.6)
    brow_y = eye_y - fh * rng.uniform(0.16, 0.22)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        if truth.distractor == "eye_shadow":
            shadow = shade(skin, rng.uniform(0.45, 0.65))
            draw.ellipse(
                [ex - eye_r * 2.0, eye_y - eye_r * 1.5, ex + eye_r * 2.0, eye_y + eye_r * 1.6],
                fill=shadow,
            )
            draw.ellipse(
                [ex - eye_r * 1.6, eye_y - eye_r * 1.1, ex + eye_r * 1.6, eye_y + eye_r * 1.2],
                fill=shade(skin, 0.9),
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
    return Eyes(cx, eye_y, eye_dx, eye_r, fw)


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
    frame = jitter(rng, FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))], 12)
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
