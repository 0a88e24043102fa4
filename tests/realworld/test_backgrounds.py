"""Backgrounds put behind a person (``realworld/backgrounds.py``): each generator recomputed from its documented draws, so a
changed range, weight or order of draws fails a test; and the kinds ``random_background`` chooses among."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from face2sketch.realworld import backgrounds
from face2sketch.realworld.backgrounds import GENERATORS, NOISE_SCALES, random_background, random_colour, smooth_noise, to_uint8

SIZE = (36, 50)  # height, width: not square, so a swapped height and width shows


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(values) + 0.5, 0, 255).astype(np.uint8)


def test_to_uint8_rounds_half_up_and_clips() -> None:
    assert to_uint8(np.array([-3.0, 0.49, 0.5, 1.5, 254.49, 254.5, 300.0])).tolist() == [0, 0, 1, 2, 254, 255, 255]


def _random_colour(rng: np.random.Generator, brightness: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """A brightest channel ``peak`` (one channel, drawn last, set to it) and the others desaturated by ``saturation ** 1.5``."""
    peak = rng.uniform(*brightness)
    saturation = rng.uniform(0.0, 1.0) ** 1.5
    channels = [peak * (1.0 - saturation * rng.uniform(0.0, 1.0)) for _ in range(3)]
    channels[int(rng.integers(3))] = peak
    return np.array(channels) * 255.0


@pytest.mark.parametrize(("seed", "brightness"), [(0, (0.0, 1.0)), (1, (0.05, 0.3)), (2, (0.78, 0.98))])
def test_a_random_colours_brightest_channel_is_drawn_within_the_brightness(seed: int, brightness: tuple[float, float]) -> None:
    colour = random_colour(np.random.default_rng(seed), brightness)
    assert np.allclose(colour, _random_colour(np.random.default_rng(seed), brightness), rtol=0, atol=1e-9)
    assert 255 * brightness[0] <= colour.max() <= 255 * brightness[1]


def test_value_noise_is_a_random_grid_of_cells_across_upsampled_to_the_size() -> None:
    """At the grid's own size the noise is the grid itself: ``cells`` across, ``round(cells * height / width)`` (at least
    2) down, uniform in [0, 1]; larger, it is that grid resized bicubically and clipped to [0, 1]."""
    grid = np.random.default_rng(4).uniform(0.0, 1.0, (2, 3)).astype(np.float32)
    assert np.array_equal(smooth_noise(np.random.default_rng(4), (2, 3), 3), grid)
    smallest = np.random.default_rng(4).uniform(0.0, 1.0, (2, 2)).astype(np.float32)  # at least 2 cells each way
    assert np.array_equal(smooth_noise(np.random.default_rng(4), (2, 2), 1), smallest)
    for cells in (3, 8, 64):
        rng = np.random.default_rng(cells)
        grid = rng.uniform(0.0, 1.0, (max(2, round(cells * SIZE[0] / SIZE[1])), max(2, cells))).astype(np.float32)
        expected = cv2.resize(grid, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)
        assert np.array_equal(smooth_noise(np.random.default_rng(cells), SIZE, cells), expected), f"{cells} cells"


def _two_colour(rng: np.random.Generator, field: np.ndarray) -> np.ndarray:
    first, second = _random_colour(rng), _random_colour(rng)
    return first * (1.0 - field[..., None]) + second * field[..., None]


def _plain_wall(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    colour = _random_colour(rng)
    shade = smooth_noise(rng, size, 3)
    return _rounded(colour * (1.0 + (shade - 0.5) * rng.uniform(0.0, 0.2))[..., None])


def _gradient(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.uniform() < 0.5:  # linear: along a random direction, scaled to 0..1
        angle = rng.uniform(0.0, 2 * math.pi)
        field = np.cos(angle) * xs / width + np.sin(angle) * ys / height
        field = (field - field.min()) / np.ptp(field)
    else:  # radial: the distance from a random centre, scaled to 0..1
        centre_y, centre_x = rng.uniform(0, height), rng.uniform(0, width)
        field = np.hypot((ys - centre_y) / height, (xs - centre_x) / width)
        field = field / field.max()
    return _rounded(_two_colour(rng, field))


def _noise_field(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    scales = NOISE_SCALES[: int(rng.integers(1, 5))] if rng.uniform() < 0.5 else NOISE_SCALES[int(rng.integers(4)) :]
    field = np.sum([smooth_noise(rng, size, cells) * weight for cells, weight in scales], axis=0)
    image = _two_colour(rng, (field - field.min()) / np.ptp(field))
    if rng.uniform() < 0.5:
        image = image * (0.6 + 0.4 * smooth_noise(rng, size, 5)[..., None])
    return _rounded(image)


def _stripes(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    period, angle = rng.uniform(4.0, max(6.0, width / 3)), rng.uniform(0.0, math.pi)
    wave = np.sin(2 * np.pi * (np.cos(angle) * xs + np.sin(angle) * ys) / period)
    if rng.uniform() < 0.3:  # checks: the same wave across
        wave = wave * np.sin(2 * np.pi * (-np.sin(angle) * xs + np.cos(angle) * ys) / period)
    field = (wave > 0).astype(np.float32) if rng.uniform() < 0.5 else (wave + 1) / 2
    return _rounded(_two_colour(rng, field))


def _clutter(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    image = np.empty((height, width, 3), np.float32)
    image[:] = _random_colour(rng)
    for _ in range(int(rng.integers(6, 40))):
        colour = tuple(float(v) for v in _random_colour(rng))
        kind = rng.integers(4)
        x, y = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        w, h = int(rng.integers(4, max(5, width // 2))), int(rng.integers(4, max(5, height // 2)))
        if kind == 0:  # a poster
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
        elif kind == 1:  # a shelf
            cv2.rectangle(image, (x, y), (x + w, y + max(2, h // 8)), colour, -1)
        elif kind == 2:  # a disc
            cv2.circle(image, (x, y), max(2, w // 3), colour, -1)
        else:
            cv2.line(image, (x, y), (x + w, y + h), colour, int(rng.integers(1, 6)))
    return _rounded(image)


RECIPES: dict[str, Callable[[np.random.Generator, tuple[int, int]], np.ndarray]] = {
    "plain_wall": _plain_wall,
    "gradient": _gradient,
    "noise_field": _noise_field,
    "stripes": _stripes,
    "clutter": _clutter,
}


@pytest.mark.parametrize("kind", list(RECIPES))
def test_each_background_is_its_recipe(kind: str) -> None:
    """Every pixel recomputed from the same draws, over seeds that take each branch (linear and radial gradients, soft
    and hard stripes, checks, all shapes of clutter)."""
    assert list(GENERATORS) == list(RECIPES), "the kinds, in the order random_background draws them"
    assert NOISE_SCALES == ((3, 1.0), (8, 0.6), (24, 0.4), (64, 0.25)), "the noise octaves: cells across and weight"
    for size in (SIZE, (20, 12), (90, 120)):  # narrow (stripes at least 6 px apart) and larger (clutter of all sizes)
        for seed in range(16):
            image = GENERATORS[kind](np.random.default_rng(seed), size)
            assert image.shape == (*size, 3) and image.dtype == np.uint8
            assert np.array_equal(image, RECIPES[kind](np.random.default_rng(seed), size)), f"seed {seed}, size {size}"


def _picture_piece(rng: np.random.Generator, size: tuple[int, int], pictures: list[np.ndarray]) -> np.ndarray:
    """A crop of 25 to 80 % of a picture's sides at a random place, sometimes turned and mirrored, resized and blurred."""
    height, width = size
    picture = pictures[int(rng.integers(len(pictures)))]
    picture = np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture
    fraction = rng.uniform(0.25, 0.8)
    crop_h, crop_w = max(2, int(picture.shape[0] * fraction)), max(2, int(picture.shape[1] * fraction))
    top, left = int(rng.integers(0, picture.shape[0] - crop_h + 1)), int(rng.integers(0, picture.shape[1] - crop_w + 1))
    piece = picture[top : top + crop_h, left : left + crop_w]
    if rng.uniform() < 0.5:
        piece = np.rot90(piece, int(rng.integers(4)))
    if rng.uniform() < 0.5:
        piece = piece[:, ::-1]
    piece = cv2.resize(np.ascontiguousarray(piece), (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(piece, (0, 0), rng.uniform(1.5, 8.0))


def test_a_picture_piece_is_a_blurred_crop_of_one_of_the_pictures() -> None:
    rng = np.random.default_rng(0)
    pictures = [
        rng.integers(0, 256, (40, 30, 3), dtype=np.uint8),
        rng.integers(0, 256, (28, 44), dtype=np.uint8),
        rng.integers(0, 256, (3, 4, 3), dtype=np.uint8),
    ]
    for seed in range(40):  # a tiny picture among them: a crop is at least 2 px each way
        expected = _picture_piece(np.random.default_rng(seed), SIZE, pictures)
        assert np.array_equal(backgrounds.picture_piece(np.random.default_rng(seed), SIZE, pictures), expected), f"seed {seed}"


def _random_background(rng: np.random.Generator, size: tuple[int, int], pictures: list[np.ndarray], p_dim: float) -> np.ndarray:
    kinds = [*RECIPES, "picture_piece"] if pictures else list(RECIPES)
    kind = kinds[int(rng.integers(len(kinds)))]
    image = _picture_piece(rng, size, pictures) if kind == "picture_piece" else RECIPES[kind](rng, size)
    if rng.uniform() < p_dim:  # a dim room
        image = _rounded(image.astype(np.float32) * rng.uniform(0.08, 0.5))
    if rng.uniform() < 0.4:  # out of focus
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.8, 6.0))
    if rng.uniform() < 0.3:  # sensor grain
        sigma = rng.uniform(2.0, 10.0)
        image = _rounded(image.astype(np.float32) + rng.normal(0.0, sigma, image.shape))
    return image


@pytest.mark.parametrize("p_dim", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("with_pictures", [False, True])
def test_a_random_background_is_one_kind_then_dimmed_blurred_or_grainy_by_chance(p_dim: float, with_pictures: bool) -> None:
    """Guards the kinds drawn among (pieces of pictures only when given), the chance of a dim room (``p_dim``) and its
    range, the chances and strengths of focus blur and grain."""
    pictures = [np.random.default_rng(1).integers(0, 256, (40, 30, 3), dtype=np.uint8)] if with_pictures else []
    for seed in range(12):
        expected = _random_background(np.random.default_rng(seed), SIZE, pictures, p_dim)
        assert np.array_equal(random_background(np.random.default_rng(seed), SIZE, pictures, p_dim), expected), f"seed {seed}"
        if p_dim == 0.25:  # the default chance of a dim room
            assert np.array_equal(random_background(np.random.default_rng(seed), SIZE, pictures), expected), f"seed {seed}, default p_dim"
