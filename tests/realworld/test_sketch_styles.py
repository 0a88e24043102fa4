"""Sketches as people bring them (``realworld/sketch_styles.py``): each style recomputed from its documented draws and
ranges, so that a changed constant, range or order of draws fails a test, not only a broken picture."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from face2sketch.realworld import sketch_styles
from face2sketch.realworld.backgrounds import smooth_noise


def _page() -> np.ndarray:
    page = np.full((120, 100), 255, np.uint8)
    page[40:80, 20:24] = 0  # a black stroke
    page[40:80, 60:64] = 155  # a mid-grey stroke (darkness 100)
    return page


def _rounded(values: np.ndarray) -> np.ndarray:
    """Float grey levels as uint8, rounded half up and clipped, as the styles store them."""
    return np.clip(np.asarray(values, dtype=np.float64) + 0.5, 0, 255).astype(np.uint8)


def test_paper_tone_greys_the_paper_and_keeps_black_strokes_black() -> None:
    level = np.random.default_rng(7).uniform(0.62, 0.95)
    toned = sketch_styles.paper_tone(_page(), np.random.default_rng(7))
    assert toned[0, 0] == int(255 * level + 0.5) and toned[50, 21] == 0
    # every pixel, the grey stroke too, is the page times the one level (a stroke left alone or a paper-only tone fails)
    assert np.array_equal(toned, _rounded(_page() * level))


def test_pencil_weight_scales_every_strokes_darkness_by_one_factor() -> None:
    factor = np.exp(np.random.default_rng(1).uniform(np.log(0.3), np.log(2.5)))
    weighted = sketch_styles.pencil_weight(_page(), np.random.default_rng(1))
    assert weighted[0, 0] == 255, "paper stays white"
    assert weighted[50, 61] == int(np.clip(255 - 100 * factor, 0, 255) + 0.5)
    assert np.array_equal(weighted, _rounded(255 - (255 - _page().astype(np.float64)) * factor)), "the black stroke too"


@pytest.mark.parametrize(("seed", "weight"), [(0, (0.3, 2.5)), (3, (0.35, 0.55)), (5, (1.6, 2.0))])
def test_pencil_weight_draws_its_factor_log_uniformly_within_the_weight(seed: int, weight: tuple[float, float]) -> None:
    """Guards the log-uniform draw (as likely half as dark as twice as dark) and the ends of ``weight``."""
    factor = math.exp(math.log(weight[0]) + np.random.default_rng(seed).random() * (math.log(weight[1]) - math.log(weight[0])))
    weighted = sketch_styles.pencil_weight(_page(), np.random.default_rng(seed), weight)
    assert weight[0] <= factor <= weight[1]
    assert weighted[50, 61] == _rounded(255 - 100 * factor) and weighted[50, 21] == _rounded(255 - 255 * factor)


def _falloff_field(height: int, width: int, rng: np.random.Generator, darkest: tuple[float, float]) -> np.ndarray:
    """The brightness ``light_falloff`` documents, pixel by pixel: a linear ramp across the sheet at a random angle and a
    vignette around a random centre (both scaled to 0..1), mixed, darkening to ``low`` at most."""
    angle = rng.uniform(0.0, 2 * math.pi)
    centre_y, centre_x = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
    low, mix = rng.uniform(*darkest), rng.uniform(0.0, 1.0)
    ramp = [[math.cos(angle) * (x / width - 0.5) + math.sin(angle) * (y / height - 0.5) for x in range(width)] for y in range(height)]
    distance = [[math.hypot((y - centre_y) / height, (x - centre_x) / width) for x in range(width)] for y in range(height)]
    lowest, highest, farthest = min(map(min, ramp)), max(map(max, ramp)), max(map(max, distance))
    return np.array(
        [
            [1.0 - (1.0 - low) * (mix * (ramp[y][x] - lowest) / (highest - lowest) + (1.0 - mix) * (distance[y][x] / farthest) ** 2) for x in range(width)]
            for y in range(height)
        ]
    )


def test_light_falloff_darkens_the_sheet_towards_one_side_within_its_range() -> None:
    lit = sketch_styles.light_falloff(np.full((120, 100), 255, np.uint8), np.random.default_rng(2), darkest=(0.5, 0.5))
    assert lit.min() >= int(255 * 0.5), "never darker than the darkest fall-off"
    assert lit.max() - lit.min() > 30 and lit.shape == (120, 100)
    # the seed fixes every value: each pixel is white times the field recomputed from the same draws (to the rounding)
    field = _falloff_field(120, 100, np.random.default_rng(2), (0.5, 0.5))
    assert np.abs(lit - 255.0 * field).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_light_falloff_scales_every_pixel_of_a_drawing_by_the_recomputed_field(seed: int) -> None:
    """The default ``darkest`` range and a drawing with strokes: a swapped centre, a vignette not squared, a ramp not
    scaled to 0..1 or another range fails here."""
    lit = sketch_styles.light_falloff(_page(), np.random.default_rng(seed))
    field = _falloff_field(120, 100, np.random.default_rng(seed), (0.45, 0.85))
    assert np.abs(lit - _page() * field).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_light_falloff_stretches_the_ramp_to_0_1_on_a_small_sheet_too(seed: int) -> None:
    """Guards the ramp's scaling by its own spread: on a 4x3 sheet the spread is below 1 at most angles, so a ramp
    divided by anything else (a floor of 1 instead of 1e-6) darkens the sheet otherwise."""
    lit = sketch_styles.light_falloff(np.full((4, 3), 255, np.uint8), np.random.default_rng(seed))
    assert np.abs(lit - 255.0 * _falloff_field(4, 3, np.random.default_rng(seed), (0.45, 0.85))).max() <= 0.5 + 1e-3


def test_paper_texture_adds_grain_around_the_paper_tone() -> None:
    textured = sketch_styles.paper_texture(np.full((120, 100), 200, np.uint8), np.random.default_rng(3))
    assert textured.std() > 1.0 and abs(float(textured.mean()) - 200) < 6
    # the seed fixes every value: grain (a blurred normal field) and blotches (value noise), recomputed from the same draws
    assert np.abs(textured - 200.0 * _texture(np.random.default_rng(3), (120, 100))).max() <= 0.5 + 1e-3


def _texture(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """The factor ``paper_texture`` multiplies a sheet by: 1 + fine grain (a blurred normal field of a random strength)
    + coarse blotches (value noise of 4 to 15 cells, centred, of a random strength up to 0.12)."""
    grain = rng.normal(0.0, rng.uniform(0.01, 0.05), size).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.5, 1.5))
    cells = int(rng.integers(4, 16))
    return 1.0 + grain + (smooth_noise(rng, size, cells) - 0.5) * rng.uniform(0.0, 0.12)


@pytest.mark.parametrize("seed", range(6))
def test_paper_texture_multiplies_every_pixel_of_a_drawing_by_grain_and_blotches(seed: int) -> None:
    """Guards the strengths, the blur and the cell counts of the texture over seeds that draw each of them differently."""
    textured = sketch_styles.paper_texture(_page(), np.random.default_rng(seed))
    assert np.abs(textured - np.clip(_page() * _texture(np.random.default_rng(seed), (120, 100)), 0, 255)).max() <= 0.5 + 1e-3


def _line_drawing(
    sketch: np.ndarray, rng: np.random.Generator, detector: int | None, coverage: float | None, width: int | None, broken: bool | None
) -> np.ndarray:
    """``line_drawing`` recomputed from its documented draws: what is not given is drawn in the order detector, coverage,
    the detector's own draws, broken, width; then ink, paper and the final softening."""
    detector = int(rng.integers(3)) if detector is None else detector
    coverage = rng.uniform(0.03, 0.11) if coverage is None else coverage
    values = cv2.GaussianBlur(sketch, (0, 0), rng.uniform(0.5, 1.5)).astype(np.float32)
    if detector == 0:  # a difference of Gaussians
        sigma = rng.uniform(0.8, 2.0)
        strength = 0.98 * cv2.GaussianBlur(values, (0, 0), 1.6 * sigma) - cv2.GaussianBlur(values, (0, 0), sigma)
    elif detector == 1:  # the gradient magnitude
        strength = np.hypot(cv2.Sobel(values, cv2.CV_32F, 1, 0), cv2.Sobel(values, cv2.CV_32F, 0, 1))
    else:  # darker than the neighbourhood
        size = int(rng.integers(7, 25))
        strength = cv2.blur(values, (size, size)) - values
    lines = (strength > np.quantile(strength, 1.0 - coverage)).astype(np.uint8)
    if (rng.uniform() < 0.4) if broken is None else broken:
        lines = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    width = int(rng.integers(0, 3)) if width is None else width
    if width:
        lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width + 1, width + 1)))
    ink, paper = rng.uniform(0.0, 100.0), rng.uniform(225.0, 255.0)
    drawing = np.where(lines > 0, ink, paper).astype(np.float32)
    return _rounded(cv2.GaussianBlur(drawing, (0, 0), rng.uniform(0.3, 0.9)))


def _shaded_page() -> np.ndarray:
    page = np.full((160, 140), 250, np.uint8)
    page[20:90, 20:90] = 150  # a shaded area
    page[130:133, 10:130] = 30  # a line
    return page


@pytest.mark.parametrize("detector", range(sketch_styles.LINE_DETECTORS))
def test_a_line_drawing_keeps_the_lines_and_drops_the_shading(detector: int) -> None:
    page = _shaded_page()
    drawing = sketch_styles.line_drawing(page, np.random.default_rng(0), detector=detector, coverage=0.03, width=0, broken=False)
    ink = drawing < 128
    assert not ink[32:78, 32:78].any(), "no ink inside the flat shading"
    assert ink[126:137, 10:130].any(axis=0).mean() > 0.9, "the line is drawn along its length"
    assert 0.01 < ink.mean() < 0.08
    assert np.array_equal(drawing, _line_drawing(page, np.random.default_rng(0), detector, 0.03, 0, False)), "every pixel, recomputed"


@pytest.mark.parametrize(
    ("detector", "coverage", "width", "broken"),
    [(0, 0.05, 1, True), (1, 0.08, 2, False), (2, 0.04, 2, True), (None, None, None, None)],
    ids=["dog-width1-broken", "gradient-width2", "darkness-width2-broken", "all-drawn"],
)
@pytest.mark.parametrize("seed", range(6))
def test_a_line_drawing_is_its_recipe_with_what_is_not_given_drawn_at_random(
    detector: int | None, coverage: float | None, width: int | None, broken: bool | None, seed: int
) -> None:
    """Guards each detector's constants, the coverage quantile, the opening of broken strokes, the pen widths and the ink
    and paper ranges, and LINE_COVERAGE, the range a coverage is drawn from."""
    assert sketch_styles.LINE_COVERAGE == (0.03, 0.11) and sketch_styles.LINE_DETECTORS == 3
    expected = _line_drawing(_shaded_page(), np.random.default_rng(seed), detector, coverage, width, broken)
    drawing = sketch_styles.line_drawing(_shaded_page(), np.random.default_rng(seed), detector=detector, coverage=coverage, width=width, broken=broken)
    assert np.array_equal(drawing, expected)


def _pil_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip by PIL, an independent encoder (OpenCV reads three channels as BGR, hence the reversals)."""
    buffer = io.BytesIO()
    Image.fromarray(image[..., ::-1] if image.ndim == 3 else image).save(buffer, "JPEG", quality=quality)
    decoded = np.asarray(Image.open(buffer))
    return decoded[..., ::-1] if image.ndim == 3 else decoded


def test_jpeg_keeps_a_picture_close_at_high_quality_and_not_at_low() -> None:
    page = _page()
    close = np.abs(sketch_styles.jpeg(page, 95).astype(int) - page).mean()
    coarse = np.abs(sketch_styles.jpeg(page, 10).astype(int) - page).mean()
    assert close < coarse and close < 2.0
    # the round trip at exactly that quality, grey kept grey (HxW) and colour in three channels
    picture = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    for quality in (10, 55, 95):
        assert np.array_equal(sketch_styles.jpeg(page, quality), _pil_jpeg(page, quality)), f"grey at quality {quality}"
        assert np.array_equal(sketch_styles.jpeg(picture, quality), _pil_jpeg(picture, quality)), f"colour at quality {quality}"
