"""Procedural photo/sketch pairs: a face-like layout rendered in colour, and a line drawing of it.

They need no download, are deterministic per seed, and have enough shared structure
(face oval, hair mass, eyes, brows, nose, mouth, shoulders) for a model to learn the
mapping within a minute on a CPU. Tests and the README demo use them. A studio portrait whose person mask is known
exactly (``studio_pair``) is what the real-world code (a new background behind the person, foreground masks) is tested on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CANVAS = (200, 250)  # width, height of a CUHK image


@dataclass(frozen=True)
class FaceLayout:
    """Geometry and colours of one synthetic face, in canvas pixels."""

    face: tuple[float, float, float, float]
    hair: tuple[float, float, float, float]
    eyes: tuple[tuple[float, float], tuple[float, float]]
    eye_size: tuple[float, float]
    brow_lift: float
    nose: float
    mouth: tuple[float, float, float]
    shoulders: float
    skin: tuple[int, int, int]
    hair_colour: tuple[int, int, int]
    shirt: tuple[int, int, int]
    background: tuple[int, int, int]
    lips: tuple[int, int, int]


def random_layout(rng: np.random.Generator) -> FaceLayout:
    w, h = CANVAS
    cx = w / 2 + rng.uniform(-12, 12)
    cy = h * 0.45 + rng.uniform(-10, 10)
    fw, fh = rng.uniform(48, 62), rng.uniform(64, 80)
    eye_dx, eye_y = fw * rng.uniform(0.36, 0.46), cy - fh * rng.uniform(0.12, 0.22)
    skin = tuple(int(v) for v in np.array([225, 185, 150]) * rng.uniform(0.75, 1.05) + rng.integers(-12, 12, 3))
    dark = rng.uniform(0.1, 0.55)
    return FaceLayout(
        face=(cx - fw, cy - fh, cx + fw, cy + fh),
        hair=(cx - fw * rng.uniform(1.05, 1.25), cy - fh * rng.uniform(1.15, 1.35), cx + fw * rng.uniform(1.05, 1.25), cy + fh * rng.uniform(-0.1, 0.5)),
        eyes=((cx - eye_dx, eye_y), (cx + eye_dx, eye_y)),
        eye_size=(rng.uniform(8, 12), rng.uniform(3.5, 6)),
        brow_lift=rng.uniform(9, 15),
        nose=rng.uniform(0.15, 0.3) * fh,
        mouth=(cx, cy + fh * rng.uniform(0.42, 0.58), fw * rng.uniform(0.3, 0.45)),
        shoulders=rng.uniform(0.78, 0.9) * h,
        skin=tuple(int(np.clip(v, 0, 255)) for v in skin),  # type: ignore[arg-type]
        hair_colour=tuple(int(v) for v in np.array([60, 45, 35]) * dark * 2 + 10),  # type: ignore[arg-type]
        shirt=tuple(int(v) for v in rng.integers(30, 230, 3)),  # type: ignore[arg-type]
        background=tuple(int(v) for v in rng.integers(150, 245, 3)),  # type: ignore[arg-type]
        lips=(int(rng.integers(150, 200)), int(rng.integers(70, 110)), int(rng.integers(70, 110))),
    )


def _parts(layout: FaceLayout):
    """Shapes shared by the photo and the sketch: (name, kind, coordinates)."""
    (x0, y0, x1, y1) = layout.face
    cx = (x0 + x1) / 2
    ew, eh = layout.eye_size
    mx, my, mw = layout.mouth
    eyes = [(ex - ew, ey - eh, ex + ew, ey + eh) for ex, ey in layout.eyes]
    brows = [
        ((ex - ew * 1.2, ey - layout.brow_lift + 2), (ex, ey - layout.brow_lift - 2), (ex + ew * 1.2, ey - layout.brow_lift + 1)) for ex, ey in layout.eyes
    ]
    nose_top = layout.eyes[0][1] + eh
    nose = ((cx, nose_top), (cx - 6, nose_top + layout.nose), (cx + 5, nose_top + layout.nose + 2))
    mouth = (mx - mw, my - 4, mx + mw, my + 5)
    neck = (cx - (x1 - x0) * 0.22, y1 - 10, cx + (x1 - x0) * 0.22, layout.shoulders + 5)
    body = (cx - 95, layout.shoulders, cx + 95, CANVAS[1] + 60)
    return eyes, brows, nose, mouth, neck, body


def render_photo(layout: FaceLayout, rng: np.random.Generator) -> np.ndarray:
    """Colour 'photo' of a layout, HxWx3 uint8."""
    img = Image.new("RGB", CANVAS, layout.background)
    draw = ImageDraw.Draw(img)
    eyes, brows, nose, mouth, neck, body = _parts(layout)
    draw.ellipse(body, fill=layout.shirt)
    draw.rectangle(neck, fill=tuple(int(c * 0.9) for c in layout.skin))
    draw.ellipse(layout.hair, fill=layout.hair_colour)
    draw.ellipse(layout.face, fill=layout.skin)
    for box in eyes:
        draw.ellipse(box, fill=(245, 245, 240))
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        r = (box[3] - box[1]) / 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(40, 30, 25))
    for brow in brows:
        draw.line(brow, fill=layout.hair_colour, width=3)
    draw.line(nose, fill=tuple(int(c * 0.75) for c in layout.skin), width=2)
    draw.ellipse(mouth, fill=layout.lips)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, 4, (CANVAS[1], CANVAS[0], 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def render_sketch(layout: FaceLayout, rng: np.random.Generator) -> np.ndarray:
    """Pencil-style drawing of the same layout, HxW uint8: shaded hair mass and dark strokes on white paper.

    Like CUHK sketches, the hair is a dark hatched mass and features are bold, so the structure
    survives downscaling to 64 px.
    """
    img = Image.new("L", CANVAS, 248)
    draw = ImageDraw.Draw(img)
    eyes, brows, nose, mouth, neck, body = _parts(layout)
    draw.arc(body, 180, 360, fill=80, width=4)
    draw.line((neck[0], neck[1], neck[0], neck[3]), fill=100, width=3)
    draw.line((neck[2], neck[1], neck[2], neck[3]), fill=100, width=3)
    tone = int(40 + 110 * (sum(layout.hair_colour) / (3 * 255)))
    hair = Image.new("L", CANVAS, tone)
    hatch = ImageDraw.Draw(hair)
    for offset in range(-CANVAS[1], CANVAS[0], 5):
        hatch.line((offset, 0, offset + CANVAS[1], CANVAS[1]), fill=max(tone - 35, 0), width=2)
    mask = Image.new("L", CANVAS, 0)
    ImageDraw.Draw(mask).ellipse(layout.hair, fill=255)
    img.paste(hair, mask=mask)
    draw.ellipse(layout.face, fill=235, outline=70, width=3)
    for box in eyes:
        draw.ellipse(box, outline=40, width=3)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        r = (box[3] - box[1]) / 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=25)
    for brow in brows:
        draw.line(brow, fill=45, width=4)
    draw.line(nose, fill=85, width=3)
    draw.ellipse(mouth, fill=150, outline=60, width=3)
    img = img.filter(ImageFilter.GaussianBlur(0.8))
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, 3, (CANVAS[1], CANVAS[0]))
    return np.clip(arr, 0, 255).astype(np.uint8)


def synthetic_pair(seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``index``-th pair of the stream for ``seed``: (photo HxWx3, sketch HxW), both uint8 at 200x250."""
    rng = np.random.default_rng([seed, index])
    layout = random_layout(rng)
    return render_photo(layout, rng), render_sketch(layout, rng)


def synthetic_key(index: int) -> str:
    """CUHK-style identity key for the ``index``-th synthetic face (``f-001-01``, ``m-002-01``, ...)."""
    return f"{'fm'[index % 2]}-{index + 1:03d}-01"


def write_synthetic_dataset(root: str | Path, num_train: int, num_test: int, layout: str = "cuhk_release", seed: int = 0) -> Path:
    """Write synthetic pairs to disk in one of the supported folder layouts, with CUHK-style file names.

    Used by tests of pairing and by anyone who wants a small data set on disk.
    """
    root = Path(root)
    folders = {
        "cuhk_release": {"train": ("Training photo", "Training sketch"), "test": ("Testing photo", "Testing sketch")},
        "split_subfolders": {"train": ("train/photo", "train/sketch"), "test": ("test/photo", "test/sketch")},
        "flat": {"train": ("photos", "sketches"), "test": ("photos", "sketches")},
    }[layout]
    for index in range(num_train + num_test):
        split = "train" if index < num_train else "test"
        photo_dir, sketch_dir = (root / d for d in folders[split])
        photo_dir.mkdir(parents=True, exist_ok=True)
        sketch_dir.mkdir(parents=True, exist_ok=True)
        photo, sketch = synthetic_pair(seed, index)
        key = synthetic_key(index)
        sketch_name = (key.replace("f-", "F2-", 1).replace("m-", "M2-", 1) if split == "train" and layout == "cuhk_release" else key) + "-sz1"
        Image.fromarray(photo).save(photo_dir / f"{key}.jpg", quality=95)
        Image.fromarray(sketch).save(sketch_dir / f"{sketch_name}.jpg", quality=95)
    return root


# -- a studio portrait whose person mask is known -----------------------------------------------------------------
STUDIO_BACKDROP = (114, 205, 250)  # CUHK's light blue (RGB)


def studio_pair(height: int = 240, width: int = 192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo HxWx3, sketch HxW, true person mask HxW bool): a head, hair and shirt on a light-blue backdrop that
    darkens towards the bottom as CUHK's does, and a pencil-like drawing of the same shapes on white. The person's
    mask is known exactly, which the real-world code (backgrounds put behind a person, foreground masks) is tested on."""
    photo = np.empty((height, width, 3), np.uint8)
    shade = np.linspace(1.0, 0.55, height)[:, None, None]
    photo[:] = np.clip(np.array(STUDIO_BACKDROP, np.float32) * shade, 0, 255).astype(np.uint8)
    person = np.zeros((height, width), np.uint8)
    centre = (width // 2, int(height * 0.42))
    cv2.ellipse(person, centre, (width // 5, height // 4), 0, 0, 360, 1, -1)
    cv2.rectangle(person, (width // 6, int(height * 0.72)), (width - width // 6, height - 1), 1, -1)
    inside = person.astype(bool)
    photo[inside] = (225, 180, 150)  # skin
    hair = np.zeros_like(person)
    cv2.ellipse(hair, (centre[0], centre[1] - height // 10), (width // 5 + 2, height // 6), 0, 180, 360, 1, -1)
    photo[hair.astype(bool)] = (40, 30, 25)
    photo[int(height * 0.72) :][inside[int(height * 0.72) :]] = (200, 40, 40)  # a red shirt
    inside |= hair.astype(bool)
    grain = np.random.default_rng(0).normal(0.0, 4.0, photo.shape)
    photo = np.clip(photo + grain, 0, 255).astype(np.uint8)  # a camera's grain: nothing in a photo is perfectly flat
    sketch = np.full((height, width), 250, np.uint8)
    outline = cv2.Canny(inside.astype(np.uint8) * 255, 50, 150) > 0
    sketch[cv2.dilate(outline.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0] = 40
    sketch[hair.astype(bool)] = 90  # shaded hair
    return photo, sketch, inside
