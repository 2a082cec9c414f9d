"""Decoding: the libspng fast path gives Pillow's pixels and Pillow's reasons, mode by mode."""

from __future__ import annotations

import hashlib
import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glasses.data.images import PNG_SIGNATURE, ImageRejected, decode_and_resize, decode_png_fast
from glasses.data.shard import shard
from glasses.synth.drawing import encode_png
from glasses.synth.faces import render_face
from glasses.synth.truth import face_truth
from png_modes import chunk, every_mode

MODES = every_mode()
FAST_MODES = {"RGB", "RGB, default compression", "RGB with a transparent colour",
              "RGB with gamma", "RGBA", "RGB not square", "RGB odd size", "RGB hand-written",
              "RGBA hand-written"}  # fmt: skip


def pillow_reference(data: bytes, resolution: int) -> np.ndarray:
    """What decode_and_resize returned before the fast path: Pillow from start to end."""
    img = Image.open(io.BytesIO(data))
    img = img.convert("RGBA").convert("RGB") if img.mode == "P" else img.convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return np.asarray(img.resize((resolution, resolution), Image.Resampling.BOX))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_png_mode_gives_pillows_pixels(mode: str) -> None:
    data = MODES[mode]
    for resolution in (16, 50, 64, 96):  # integer and fractional factors, and no resize at all
        got = decode_and_resize(data, resolution)
        assert got.shape == (resolution, resolution, 3) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, pillow_reference(data, resolution))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_fast_path_owns_only_8_bit_rgb_and_rgba_without_interlacing(mode: str) -> None:
    fast = decode_png_fast(MODES[mode], max_pixels=10**8)
    assert (fast is not None) == (mode in FAST_MODES)


def test_synthetic_faces_at_full_size_give_pillows_pixels() -> None:
    for face_id in (1, 2):
        truth = face_truth(7, face_id, glasses=face_id % 2)
        data = encode_png(render_face(7, truth, 1024))
        assert decode_png_fast(data, max_pixels=10**8) is not None
        for resolution in (32, 64, 128):
            np.testing.assert_array_equal(
                decode_and_resize(data, resolution), pillow_reference(data, resolution)
            )


def test_broken_pngs_get_pillows_reasons() -> None:
    good = MODES["RGB"]
    for bad in (good[: len(good) // 2], good[:60], good[:-12] + b"\0" * 12):
        try:
            Image.open(io.BytesIO(bad)).load()
            expected = None
        except OSError as err:
            expected = f"truncated or corrupt image: {err}"
        if expected is None:  # Pillow decodes it (a bad IEND): so must we, identically
            np.testing.assert_array_equal(decode_and_resize(bad, 32), pillow_reference(bad, 32))
        else:
            with pytest.raises(ImageRejected) as err:
                decode_and_resize(bad, 32)
            assert str(err.value) == expected
    with pytest.raises(ImageRejected, match="empty file"):
        decode_and_resize(b"", 32)
    with pytest.raises(ImageRejected, match="not an image"):
        decode_and_resize(b"id,glasses\n1,0\n", 32)


def test_bomb_check_reads_the_png_header_before_decoding() -> None:
    def header_only(side: int) -> bytes:  # a valid header over a few bytes of image data
        ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
        return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"x\x9c")

    # over our cap: refused from the header by the fast path, nothing inflated
    with pytest.raises(ImageRejected, match="8500x8500 is 72250000 pixels, over the cap"):
        decode_and_resize(header_only(8500), 32)
    # over Pillow's own limit: Pillow's bomb check decides, as it always did
    with pytest.raises(ImageRejected, match="too many pixels"):
        decode_and_resize(header_only(30000), 32)
    with pytest.raises(ImageRejected, match="96x96 is 9216 pixels, over the cap of 9000"):
        decode_and_resize(MODES["RGB"], 32, max_pixels=9000)


# sha256 of the shard of every mode above, written before the fast path existed: the same
# images must give the same shard bytes (so shard digests, the KFP cache and resumed runs
# stay valid).
SHARD_DIGESTS = {
    16: "582fbb7f753a2186c51b8dfff610666fba6f56a87e09b27a96a643e78c54b346",
    64: "49154e1c8b010e5c58964f8ba7b2e651d6007fff1628d6a5cc7b834533bedae0",
    96: "ef88fdd44420fe38d0cf10ed7c636b26e6bf9e4be575ce9c467c3f69ada10a5c",
}


def test_shard_bytes_are_unchanged(tmp_path: Path) -> None:
    lines = ["id,uri,label,split"]
    for i, data in enumerate(MODES.values()):
        path = tmp_path / f"face-{i}.png"
        path.write_bytes(data)
        lines.append(f"{i},{path},{i % 2},train")
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    for resolution, digest in SHARD_DIGESTS.items():
        out = tmp_path / f"shards-{resolution}"
        shard(str(tmp_path / "manifest.csv"), str(out), resolution=resolution, workers=1)
        data = (out / "train-00000-of-00001.tfrecord").read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, resolution
