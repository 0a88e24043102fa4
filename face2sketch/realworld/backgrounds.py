"""Backgrounds to put behind a person: what users' photos have where CUHK has its blue backdrop.

Every generator takes a numpy random generator and a (height, width) and returns uint8 RGB. Together they span
dark to bright plain walls, gradients, smooth and grainy noise at several scales, stripes, checks, cluttered shapes
(shelves, posters, furniture) and blurred pieces of other pictures, each optionally out of focus as a camera with a
shallow depth of field would leave it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

Size = tuple[int, int]  # height, width
# (grid cells across, weight) of the noise fields' octaves: from a few soft blotches to fine grain
NOISE_SCALES = ((3, 1.0), (8, 0.6), (24, 0.4), (64, 0.25))


def random_colour(rng: np.random.Generator, brightness: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """An RGB colour (float, 0..255) of any hue and saturation with its brightest channel within ``brightness``."""
    peak = rng.uniform(*brightness)
    saturation = rng.uniform(0.0, 1.0) ** 1.5
    channels = peak * (1.0 - saturation * rng.uniform(0.0, 1.0, 3))
    channels[rng.integers(3)] = peak
    return channels * 255.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def smooth_noise(rng: np.random.Generator, size: Size, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a ``cells``-wide random grid, smoothly upsampled to ``size``."""
    height, width = size
    grid = rng.uniform(0.0, 1.0, (max(2, round(cells * height / width)), max(2, cells))).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)


def _ramp(rng: np.random.Generator, size: Size) -> np.ndarray:
    """0..1 along a random direction across the picture."""
    height, width = size
    angle = rng.uniform(0.0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    projected = np.cos(angle) * xs / width + np.sin(angle) * ys / height
    return (projected - projected.min()) / max(1e-6, float(np.ptp(projected)))


def _two_colour(rng: np.random.Generator, field: np.ndarray) -> np.ndarray:
    first, second = random_colour(rng), random_colour(rng)
    return first * (1.0 - field[..., None]) + second * field[..., None]


def plain_wall(rng: np.random.Generator, size: Size) -> np.ndarray:
    """One colour, dark to bright, with the faint unevenness of a real wall."""
    colour = random_colour(rng)
    shade = 1.0 + (smooth_noise(rng, size, 3) - 0.5) * rng.uniform(0.0, 0.2)
    return to_uint8(colour * shade[..., None])


def gradient(rng: np.random.Generator, size: Size) -> np.ndarray:
    """A linear or radial blend of two colours."""
    if rng.uniform() < 0.5:
        field = _ramp(rng, size)
    else:
        height, width = size
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        field = np.hypot((ys - cy) / height, (xs - cx) / width)
        field = field / max(1e-6, float(field.max()))
    return to_uint8(_two_colour(rng, field))


def noise_field(rng: np.random.Generator, size: Size) -> np.ndarray:
    """Smooth to grainy noise, summed over scales, in two or three colours."""
    scales = NOISE_SCALES[: int(rng.integers(1, len(NOISE_SCALES) + 1))] if rng.uniform() < 0.5 else NOISE_SCALES[int(rng.integers(len(NOISE_SCALES))) :]
    field = np.sum([smooth_noise(rng, size, cells) * weight for cells, weight in scales], axis=0)
    field = (field - field.min()) / max(1e-6, float(np.ptp(field)))
    image = _two_colour(rng, field)
    if rng.uniform() < 0.5:
        image = image * (0.6 + 0.4 * smooth_noise(rng, size, 5)[..., None])
    return to_uint8(image)


def stripes(rng: np.random.Generator, size: Size) -> np.ndarray:
    """Sinusoidal or hard-edged stripes, or checks, at a random angle and period."""
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(4.0, max(6.0, width / 3))
    angle = rng.uniform(0.0, np.pi)
    wave = np.sin(2 * np.pi * (np.cos(angle) * xs + np.sin(angle) * ys) / period)
    if rng.uniform() < 0.3:  # checks
        wave = wave * np.sin(2 * np.pi * (-np.sin(angle) * xs + np.cos(angle) * ys) / period)
    field = (wave > 0).astype(np.float32) if rng.uniform() < 0.5 else (wave + 1) / 2
    return to_uint8(_two_colour(rng, field))


def clutter(rng: np.random.Generator, size: Size) -> np.ndarray:
    """A room's clutter: overlapping rectangles, bars, discs and lines in many colours over a wall."""
    height, width = size
    image = np.empty((height, width, 3), np.float32)
    image[:] = random_colour(rng)
    for _ in range(int(rng.integers(6, 40))):
        colour = tuple(float(v) for v in random_colour(rng))
        kind = rng.integers(4)
        x, y = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        w, h = int(rng.integers(4, max(5, width // 2))), int(rng.integers(4, max(5, height // 2)))
        if kind == 0:
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
        elif kind == 1:  # shelf or door frame
            cv2.rectangle(image, (x, y), (x + w, y + max(2, h // 8)), colour, -1)
        elif kind == 2:
            cv2.circle(image, (x, y), max(2, w // 3), colour, -1)
        else:
            cv2.line(image, (x, y), (x + w, y + h), colour, int(rng.integers(1, 6)))
    return to_uint8(image)


def picture_piece(rng: np.random.Generator, size: Size, pictures: Sequence[np.ndarray]) -> np.ndarray:
    """A piece of another picture (e.g. another training photo), enlarged, turned or mirrored, and blurred."""
    height, width = size
    picture = pictures[int(rng.integers(len(pictures)))]
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    ph, pw = picture.shape[:2]
    fraction = rng.uniform(0.25, 0.8)
    crop_h, crop_w = max(2, int(ph * fraction)), max(2, int(pw * fraction))
    top, left = int(rng.integers(0, ph - crop_h + 1)), int(rng.integers(0, pw - crop_w + 1))
    piece = np.ascontiguousarray(picture[top : top + crop_h, left : left + crop_w])
    piece = np.rot90(piece, int(rng.integers(4))) if rng.uniform() < 0.5 else piece
    piece = piece[:, ::-1] if rng.uniform() < 0.5 else piece
    piece = cv2.resize(np.ascontiguousarray(piece), (width, height), interpolation=cv2.INTER_LINEAR)
    sigma = rng.uniform(1.5, 8.0)
    return cv2.GaussianBlur(piece, (0, 0), sigma)


Generator = Callable[[np.random.Generator, Size], np.ndarray]
GENERATORS: dict[str, Generator] = {
    "plain_wall": plain_wall,
    "gradient": gradient,
    "noise_field": noise_field,
    "stripes": stripes,
    "clutter": clutter,
}


def random_background(rng: np.random.Generator, size: Size, pictures: Sequence[np.ndarray] = (), p_dim: float = 0.25) -> np.ndarray:
    """One background of any of the kinds above (pieces of ``pictures`` among them when given), dimmed to a dark room
    with probability ``p_dim``, sometimes out of focus or with sensor grain."""
    kinds = list(GENERATORS) + (["picture_piece"] if len(pictures) else [])
    kind = kinds[int(rng.integers(len(kinds)))]
    image = picture_piece(rng, size, pictures) if kind == "picture_piece" else GENERATORS[kind](rng, size)
    if rng.uniform() < p_dim:  # a dim room: dark walls are where a person's dark hair is hardest to tell apart
        image = to_uint8(image.astype(np.float32) * rng.uniform(0.08, 0.5))
    if rng.uniform() < 0.4:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.8, 6.0))
    if rng.uniform() < 0.3:
        image = to_uint8(image.astype(np.float32) + rng.normal(0.0, rng.uniform(2.0, 10.0), image.shape))
    return image
