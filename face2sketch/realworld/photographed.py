"""CUHK test photos "as photographed": tilted, at any size and place in a larger picture, on a new background, in a
new light, saved as JPEG, with the transform that put them there.

CUHK's photos are passport crops: the face upright, at one place and size, on a plain backdrop. People's photos
are not. ``as_photographed`` turns a CUHK photo into such a picture and returns the 2x3 affine transform from the
CUHK photo's pixels into the picture's, so that the true sketch can be carried into whatever frame alignment
translates (``carry_into``, with the transform ``predict`` records): the end-to-end check of alignment plus model.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

Affine = np.ndarray  # 2x3 float64: [x', y'] = A @ [x, y, 1]


@dataclass(frozen=True)
class Photographing:
    """How far a photo is taken from CUHK's framing; the defaults span what people's photos show."""

    max_tilt: float = 15.0  # degrees either way
    scale: tuple[float, float] = (0.6, 2.5)  # the photo's size in the picture, times its CUHK size
    margin: tuple[float, float] = (1.1, 2.5)  # the picture's side over the tilted photo's bounding box (no background given)
    gain: tuple[float, float] = (0.75, 1.2)  # the scene's brightness
    tint: float = 0.08  # each channel's gain varies by up to this much: a colour cast
    jpeg_quality: tuple[int, int] = (60, 95)


def compose(outer: Affine, inner: Affine) -> Affine:
    """The affine transform that applies ``inner`` first, then ``outer``."""
    return (np.vstack([outer, [0.0, 0.0, 1.0]]) @ np.vstack([inner, [0.0, 0.0, 1.0]]))[:2]


def apply_affine(transform: Affine, points: np.ndarray) -> np.ndarray:
    """Nx2 points through a 2x3 transform."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points @ np.asarray(transform, dtype=np.float64)[:, :2].T + np.asarray(transform, dtype=np.float64)[:, 2]


def carry_into(image: np.ndarray, transform: Affine, size: tuple[int, int], fill: int | tuple[int, ...] = 255) -> np.ndarray:
    """``image`` resampled (bilinear) into a frame of ``size`` = (width, height) through ``transform``; outside it, ``fill``.

    For the true sketch: ``carry_into(sketch, compose(picture_to_output, cuhk_to_picture), output_size)``.
    """
    return cv2.warpAffine(image, np.asarray(transform, dtype=np.float64), size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def stand_in_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A plain (height, width) background for when none is given: a two-colour gradient with some grain."""
    height, width = size
    first, second = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width]
    ramp = (np.cos(angle) * x / max(width, 1) + np.sin(angle) * y / max(height, 1))[..., None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    field = first * (1 - ramp) + second * ramp + rng.normal(0, 6, (height, width, 1))
    return np.clip(field, 0, 255).astype(np.uint8)


def placement(photo_size: tuple[int, int], canvas_size: tuple[int, int] | None, rng: np.random.Generator, how: Photographing) -> tuple[Affine, tuple[int, int]]:
    """A random tilt, scale and place for a (width, height) photo, and the (width, height) of the picture it lands in."""
    width, height = photo_size
    tilt, scale = rng.uniform(-how.max_tilt, how.max_tilt), rng.uniform(*how.scale)
    cos, sin = abs(np.cos(np.radians(tilt))), abs(np.sin(np.radians(tilt)))
    box_w, box_h = width * cos + height * sin, width * sin + height * cos  # the tilted photo's bounding box at scale 1
    if canvas_size is None:
        canvas_size = (round(box_w * scale * rng.uniform(*how.margin)), round(box_h * scale * rng.uniform(*how.margin)))
    else:
        scale = min(scale, canvas_size[0] / box_w, canvas_size[1] / box_h)  # the photo must fit the given background
    # a photo that just fits (scale limited by the canvas) leaves no room, and rounding may leave less than none
    centre_x = rng.uniform(box_w * scale / 2, max(box_w * scale / 2, canvas_size[0] - box_w * scale / 2))
    centre_y = rng.uniform(box_h * scale / 2, max(box_h * scale / 2, canvas_size[1] - box_h * scale / 2))
    transform = cv2.getRotationMatrix2D((width / 2, height / 2), tilt, scale)
    transform[:, 2] += (centre_x - width / 2, centre_y - height / 2)
    return transform, canvas_size


def as_photographed(
    photo: np.ndarray,
    rng: np.random.Generator,
    background: np.ndarray | None = None,
    foreground_mask: np.ndarray | None = None,
    how: Photographing | None = None,
) -> tuple[np.ndarray, Affine]:
    """A uint8 RGB CUHK photo as a picture people take, and the 2x3 transform from the photo's pixels into it.

    ``background`` (HxWx3 uint8) is the scene: the photo is placed inside it, shrunk if it must be to fit; without
    one, a plain stand-in is drawn behind a picture 1.1 to 2.5 times the photo's size. ``foreground_mask`` (the
    photo's HxW, 1 on the person): only the person is pasted; without it, the whole photo rectangle is.
    """
    how = how or Photographing()
    height, width = photo.shape[:2]
    canvas_size = None if background is None else (background.shape[1], background.shape[0])
    transform, (canvas_w, canvas_h) = placement((width, height), canvas_size, rng, how)
    scene = stand_in_background(rng, (canvas_h, canvas_w)) if background is None else background
    mask = np.ones((height, width), np.float32) if foreground_mask is None else foreground_mask.astype(np.float32)
    placed = cv2.warpAffine(photo, transform, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    weight = cv2.warpAffine(mask, transform, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    picture = placed * weight + scene.astype(np.float32) * (1 - weight)
    light = rng.uniform(*how.gain) * (1 + rng.uniform(-how.tint, how.tint, 3))
    picture = np.clip(picture * light, 0, 255).astype(np.uint8)
    return jpeg_round_trip(picture, int(rng.integers(how.jpeg_quality[0], how.jpeg_quality[1] + 1))), transform


def jpeg_round_trip(picture: np.ndarray, quality: int) -> np.ndarray:
    """The picture as a JPEG of ``quality`` would show it."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


@dataclass(frozen=True)
class AlignmentCheck:
    """How alignment fares on photos as photographed: faces found, and where the eyes land (pixels of 200x250)."""

    pictures: int
    found: int
    eye_errors: list[float]  # per found face, the worse eye's distance from CUHK's position

    def share_within(self, pixels: float) -> float:
        """The share of all pictures (a face missed counts as a miss) whose eyes both land within ``pixels``."""
        return sum(error <= pixels for error in self.eye_errors) / max(self.pictures, 1)

    def summary(self) -> str:
        errors = np.asarray(self.eye_errors)
        spread = f"median {np.median(errors):.2f} px, 95th percentile {np.percentile(errors, 95):.2f} px" if errors.size else "no face found"
        return f"faces found in {self.found} of {self.pictures}; eyes within 3 px of CUHK's for {self.share_within(3.0):.1%}; {spread}"


def check_alignment(photos: list[np.ndarray], rng: np.random.Generator, variants: int = 3, how: Photographing | None = None) -> AlignmentCheck:
    """Align ``variants`` as-photographed copies of each CUHK photo and carry its true eyes into the aligned frame.

    The true eyes are alignment's own on the photo as stored (which it maps exactly onto CUHK's positions), carried
    into each picture with the transform that made it: an eye error is how far the copy's alignment strays from the
    stored photo's. Faces alignment cannot use (none found, too small) count as missed.
    """
    from face2sketch.pictures.alignment import AlignmentFailed, align_faces, cuhk_eyes

    target = np.array([cuhk_eyes().left, cuhk_eyes().right])
    errors, pictures = [], 0
    for photo in photos:
        face = align_faces(photo)[0].face
        assert face is not None
        for _ in range(variants):
            picture, placed = as_photographed(photo, rng, how=how)
            pictures += 1
            try:
                aligned = align_faces(picture)[0]
            except AlignmentFailed:
                continue
            scale = aligned.image.shape[1] / 200  # the aligned frame is CUHK's at the picture's own scale
            landed = apply_affine(compose(aligned.transform, placed), face.eyes) / scale
            errors.append(float(np.linalg.norm(landed - target, axis=1).max()))
    return AlignmentCheck(pictures, len(errors), errors)


# the picture's sides over the photo's when a scene is drawn for it (before the photo is placed, shrunk to fit if it must)
SCENE_SIDES = (1.2, 2.8)


def photographed_scene(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Affine]:
    """The end-to-end condition of the robustness report: a CUHK photo in one of the report's lights, tilted and placed
    at any size in a larger picture of another background (any of augmentation's kinds), saved as JPEG; and the 2x3
    transform from the photo's pixels into that picture, to carry the true sketch into the frame alignment makes."""
    from face2sketch.realworld.backgrounds import random_background
    from face2sketch.realworld.conditions import CONDITION_SETS

    lights = ("warm_light", "cool_light", "side_light", "dim_and_noisy", "overexposed", "black_and_white")
    light = CONDITION_SETS["real"]["photo"][lights[int(rng.integers(len(lights)))]]
    height, width = photo.shape[:2]
    canvas = (round(height * rng.uniform(*SCENE_SIDES)), round(width * rng.uniform(*SCENE_SIDES)))
    lit = light(photo, mask, rng) if rng.uniform() < 0.7 else photo
    return as_photographed(lit, rng, background=random_background(rng, canvas), foreground_mask=mask.astype(np.float32) / 255.0)


def scale_to(frame: tuple[int, int], size: tuple[int, int]) -> Affine:
    """The transform from a (width, height) ``frame`` onto ``size`` by scaling alone."""
    return np.array([[size[0] / frame[0], 0.0, 0.0], [0.0, size[1] / frame[1], 0.0]])
