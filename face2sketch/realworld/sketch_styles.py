"""Sketches as people bring them: other paper, other light, other pencils, and drawings made of lines alone.

CUHK's sketches are shaded pencil drawings by one group of artists, scanned flat onto white. A sketch a user
brings may be on toned or textured paper, photographed with light falling off across the sheet, drawn faintly or
heavily, or be a line drawing without any shading (as a person draws in the demo's canvas). Each function here
takes a uint8 grayscale sketch (HxW, white paper = 255) and a numpy random generator and returns another; they
derive every variant from the sketch itself, so the photo it belongs to stays the right target.
"""

from __future__ import annotations

import cv2
import numpy as np

from face2sketch.realworld.backgrounds import smooth_noise, to_uint8


def _unit(sketch: np.ndarray) -> np.ndarray:
    return sketch.astype(np.float32) / 255.0


def paper_tone(sketch: np.ndarray, rng: np.random.Generator, tone: tuple[float, float] = (0.62, 0.95)) -> np.ndarray:
    """On toned or yellowed paper, or scanned without white balance: the paper is grey, the strokes stay dark."""
    level = rng.uniform(*tone)
    return to_uint8(_unit(sketch) * level * 255.0)


def paper_texture(sketch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper grain and blotches: multiplicative noise at a fine and a coarse scale."""
    size = sketch.shape[:2]
    grain: np.ndarray = rng.normal(0.0, rng.uniform(0.01, 0.05), size).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.5, 1.5))
    blotches = (smooth_noise(rng, size, int(rng.integers(4, 16))) - 0.5) * rng.uniform(0.0, 0.12)
    return to_uint8(_unit(sketch) * (1.0 + grain + blotches) * 255.0)


def light_falloff(sketch: np.ndarray, rng: np.random.Generator, darkest: tuple[float, float] = (0.45, 0.85)) -> np.ndarray:
    """A sheet photographed under a lamp or by a window: brightness falls off across it and towards its corners."""
    height, width = sketch.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0.0, 2 * np.pi)
    ramp = np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5)
    ramp = (ramp - ramp.min()) / max(1e-6, float(np.ptp(ramp)))
    cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
    vignette = np.hypot((ys - cy) / height, (xs - cx) / width)
    vignette = vignette / max(1e-6, float(vignette.max()))
    low = rng.uniform(*darkest)
    mix = rng.uniform(0.0, 1.0)
    field = 1.0 - (1.0 - low) * (mix * ramp + (1.0 - mix) * vignette**2)
    return to_uint8(_unit(sketch) * field * 255.0)


def pencil_weight(sketch: np.ndarray, rng: np.random.Generator, weight: tuple[float, float] = (0.3, 2.5)) -> np.ndarray:
    """A fainter or heavier hand: every stroke's darkness (255 minus the value) scaled by one factor, drawn
    log-uniformly within ``weight`` (as likely half as dark as twice as dark)."""
    factor = np.exp(rng.uniform(np.log(weight[0]), np.log(weight[1])))
    return to_uint8(255.0 - (255.0 - sketch.astype(np.float32)) * factor)


def _line_strength(sketch: np.ndarray, detector: int, rng: np.random.Generator) -> np.ndarray:
    """How strongly each pixel lies on a line of the drawing, by one of three detectors: 0, a difference of Gaussians
    (XDoG-like: dark lines, no flat shading); 1, the gradient magnitude (outlines of strokes and shaded areas); 2,
    local darkness against the neighbourhood (the darkest strokes: contours, eyes, hair outlines)."""
    values = cv2.GaussianBlur(sketch, (0, 0), rng.uniform(0.5, 1.5)).astype(np.float32)
    if detector == 0:
        sigma = rng.uniform(0.8, 2.0)
        return 0.98 * cv2.GaussianBlur(values, (0, 0), sigma * 1.6) - cv2.GaussianBlur(values, (0, 0), sigma)
    if detector == 1:
        return np.hypot(cv2.Sobel(values, cv2.CV_32F, 1, 0), cv2.Sobel(values, cv2.CV_32F, 0, 1))
    return cv2.blur(values, (int(rng.integers(7, 25)),) * 2) - values


LINE_DETECTORS = 3
# the share of the picture a line drawing's strokes cover (CUHK's sketches at 256 px: a few per cent carry the outlines)
LINE_COVERAGE = (0.03, 0.11)


def line_drawing(
    sketch: np.ndarray,
    rng: np.random.Generator,
    detector: int | None = None,
    coverage: float | None = None,
    width: int | None = None,
    broken: bool | None = None,
) -> np.ndarray:
    """The drawing's lines without its shading, in pen or pencil of some ``width`` (0: thinnest), on white or near-white
    paper; what is not given is drawn at random (``broken``: thin strokes opened into dashes, as a light hand)."""
    detector = int(rng.integers(LINE_DETECTORS)) if detector is None else detector
    coverage = rng.uniform(*LINE_COVERAGE) if coverage is None else coverage
    strength = _line_strength(sketch, detector, rng)
    lines = (strength > np.quantile(strength, 1.0 - coverage)).astype(np.uint8)
    if rng.uniform() < 0.4 if broken is None else broken:
        lines = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    width = int(rng.integers(0, 3)) if width is None else width
    if width:
        lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width + 1, width + 1)))
    ink = rng.uniform(0.0, 100.0)
    paper = rng.uniform(225.0, 255.0)
    drawing = np.where(lines > 0, ink, paper).astype(np.float32)
    return to_uint8(cv2.GaussianBlur(drawing, (0, 0), rng.uniform(0.3, 0.9)))


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (uint8, grayscale or RGB) after a JPEG round trip at ``quality``."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else None
    assert decoded is not None, "OpenCV could not round-trip a JPEG"
    return decoded
