"""Face alignment: the stored CUHK framing is what the training photos give, and crops find pasted CUHK faces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from face2sketch.data.alignment import FRAMING_FILE, align_face, crop_with_padding, cuhk_framing, measure_framing
from face2sketch.data.sources import decode_image

# (scale of the 200x250 photo, left, top, canvas width, canvas height): other scales, off-centre, larger canvases
PLACEMENTS = [
    (0.8, 40, 250, 640, 480),
    (1.5, 0, 0, 700, 600),
    (1.6, 420, 60, 900, 700),
    (2.4, 30, 20, 1200, 900),
    (1.2, 700, 500, 1000, 900),
    (3.0, 200, 150, 1000, 1000),
]


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def canvas_with(photo: np.ndarray, scale: float, left: int, top: int, width: int, height: int, seed: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo resized by ``scale`` and pasted at (left, top) into a textured canvas; returns the canvas and the true box."""
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 200, size=3)
    canvas = np.clip(base + rng.normal(0, 12, size=(height, width, 3)), 0, 255).astype(np.uint8)
    pasted = np.asarray(Image.fromarray(photo).resize((round(200 * scale), round(250 * scale)), Image.Resampling.BICUBIC))
    canvas[top : top + pasted.shape[0], left : left + pasted.shape[1]] = pasted
    return canvas, (left, top, pasted.shape[1], pasted.shape[0])


def test_stored_framing_says_how_it_was_measured_and_is_plausible() -> None:
    stored = json.loads(FRAMING_FILE.read_text())
    assert stored["photos"] == 88 and stored["faces_found"] >= 80 and "Training photo" in stored["measured_on"]
    assert stored["detector"]["name"].startswith("OpenCV Haar cascade") and "regenerate" in stored
    framing = cuhk_framing()
    assert 0.4 < framing.center_x < 0.6 and 0.4 < framing.center_y < 0.7 and 0.3 < framing.width < 0.95


def test_the_training_photos_give_the_stored_framing(cuhk_root: Path) -> None:
    photos = sorted((cuhk_root / "Training photo").glob("*.jpg"))
    measured = measure_framing(photos)
    assert measured["median"] == json.loads(FRAMING_FILE.read_text())["median"]


def test_aligned_crops_find_cuhk_test_photos_pasted_at_other_scales_off_centre(cuhk_root: Path) -> None:
    photos = sorted((cuhk_root / "Testing photo").glob("*.jpg"))[::4]
    scores = []
    for index, path in enumerate(photos):
        placement = PLACEMENTS[index % len(PLACEMENTS)]
        canvas, truth = canvas_with(decode_image(path, "RGB"), *placement, seed=index)
        aligned = align_face(canvas)
        assert aligned.face_found, path.name
        scores.append(iou(aligned.crop, truth))
        assert aligned.image.shape[:2] == (aligned.crop[3], aligned.crop[2])
    print(f"alignment IoU over {len(scores)} pasted CUHK test photos: mean {np.mean(scores):.3f}, min {np.min(scores):.3f}")
    assert min(scores) >= 0.5, scores


def test_a_crop_leaving_the_image_is_padded_with_the_border_colour() -> None:
    image = np.full((10, 10, 3), (10, 20, 30), np.uint8)
    image[3:7, 3:7] = 255
    crop = crop_with_padding(image, (-4, 6, 8, 8))
    assert crop.shape == (8, 8, 3)
    assert (crop[:, :4] == (10, 20, 30)).all() and (crop[4:] == (10, 20, 30)).all()  # left of and below the image
    assert (crop[:1, 7] == 255).all()  # image pixel (3, 6) stays in place


def test_a_picture_without_a_face_is_kept_whole() -> None:
    flat = np.full((300, 200, 3), 128, np.uint8)
    aligned = align_face(flat)
    assert not aligned.face_found and aligned.crop is None and aligned.image is flat
