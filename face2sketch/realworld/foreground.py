"""Foreground masks of studio photos, and compositing a person onto another background.

CUHK photographs every student in front of one saturated light-blue backdrop that touches the picture's edges.
A model trained on them alone learns that backdrop as part of "a photo" and draws other backgrounds as smudges or
scribbles. The mask separates the person from the backdrop so that training can put the person in front of other
backgrounds (``face2sketch.realworld.augmentation``) and evaluation can build photos as users take them
(``face2sketch.realworld.conditions``), while the target sketch stays as it is.

The backdrop is found from the picture itself: its hue is the typical hue of the picture's top and side edges, and
it is every sufficiently saturated pixel of about that hue that is connected to those edges. Nothing is learnt, so
a mask is computed in about a millisecond, once per photo, when the data is decoded.
"""

from __future__ import annotations

import cv2
import numpy as np

# a pixel belongs to the backdrop when its hue is within this many degrees of the backdrop's and it is this saturated
BACKDROP_HUE_TOLERANCE = 22.0
BACKDROP_MIN_SATURATION = 0.22
BACKDROP_MIN_VALUE = 0.12
# the border rows and columns the backdrop's colour is estimated from (top edge and the upper two thirds of the sides)
BORDER_WIDTH = 3
# below this share of border pixels matching one saturated hue the picture has no plain backdrop (mask: all person)
MIN_BORDER_AGREEMENT = 0.5
# foreground specks and backdrop holes smaller than this fraction of the picture are cleaned away
MIN_REGION_FRACTION = 0.002


def _hue_saturation_value(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1], from uint8 RGB."""
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    return hsv[..., 0] * (360.0 / 256.0), hsv[..., 1] / 255.0, hsv[..., 2] / 255.0


def _border_pixels(values: np.ndarray) -> np.ndarray:
    """The top rows and the upper two thirds of the left and right columns, flattened (the backdrop's usual place)."""
    height = values.shape[0]
    side = slice(0, max(1, 2 * height // 3))
    parts = [values[:BORDER_WIDTH].reshape(-1), values[side, :BORDER_WIDTH].reshape(-1), values[side, -BORDER_WIDTH:].reshape(-1)]
    return np.concatenate(parts)


def _hue_distance(hue: np.ndarray, reference: float) -> np.ndarray:
    difference = np.abs(hue - reference) % 360.0
    return np.minimum(difference, 360.0 - difference)


def backdrop_hue(photo: np.ndarray) -> float | None:
    """The hue (degrees) of a plain saturated backdrop along the picture's edges, or None when there is none."""
    hue, saturation, value = _hue_saturation_value(photo)
    border_hue, border_sat, border_val = (_border_pixels(v) for v in (hue, saturation, value))
    coloured = (border_sat >= BACKDROP_MIN_SATURATION) & (border_val >= BACKDROP_MIN_VALUE)
    if coloured.mean() < MIN_BORDER_AGREEMENT:
        return None
    angles = np.deg2rad(border_hue[coloured])
    reference = float(np.rad2deg(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())) % 360.0)
    agreeing = _hue_distance(border_hue, reference) <= BACKDROP_HUE_TOLERANCE
    return reference if (agreeing & coloured).mean() >= MIN_BORDER_AGREEMENT else None


def _remove_small(binary: np.ndarray, min_pixels: int) -> np.ndarray:
    """``binary`` without its connected regions smaller than ``min_pixels``."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_pixels
    return keep[labels]


def foreground_mask(photo: np.ndarray) -> np.ndarray:
    """The person in a studio photo as a uint8 HxW mask (255 person, 0 backdrop), edges softened over about a pixel.

    A photo without a plain saturated backdrop along its edges is all person (255 everywhere): nothing is composited.
    """
    height, width = photo.shape[:2]
    reference = backdrop_hue(photo)
    if reference is None:
        return np.full((height, width), 255, dtype=np.uint8)
    hue, saturation, value = _hue_saturation_value(photo)
    backdrop_like = (_hue_distance(hue, reference) <= BACKDROP_HUE_TOLERANCE) & (saturation >= BACKDROP_MIN_SATURATION) & (value >= BACKDROP_MIN_VALUE)
    backdrop_like = cv2.morphologyEx(backdrop_like.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    count, labels = cv2.connectedComponents(backdrop_like.astype(np.uint8), connectivity=4)
    touching = np.unique(np.concatenate([labels[0], labels[:, 0], labels[:, -1], labels[-1]]))
    backdrop = np.isin(labels, touching[touching > 0])
    min_pixels = max(4, int(MIN_REGION_FRACTION * height * width))
    person = _remove_small(~backdrop, min_pixels)
    person = ~_remove_small(~person, min_pixels)  # small backdrop islands inside the person are the person's
    hard: np.ndarray = person.astype(np.uint8) * 255
    # eroding by a pixel drops the backdrop-coloured fringe around hair; the blur softens the cut-out's edge
    hard = cv2.erode(hard, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(hard, (5, 5), 1.0)


def composite(photo: np.ndarray, mask: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``photo``'s person (``mask``: uint8, 255 = person) in front of ``background`` (uint8 RGB of the same size)."""
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    blended = photo.astype(np.float32) * alpha + background.astype(np.float32) * (1.0 - alpha)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
