"""Foreground masks of studio photos and compositing a person onto another background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from face2sketch.data.foreground import backdrop_hue, composite, foreground_mask
from tests.studio import studio_pair


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_the_mask_of_a_studio_photo_is_the_person() -> None:
    photo, _, person = studio_pair()
    mask = foreground_mask(photo)
    assert mask.shape == person.shape and mask.dtype == np.uint8
    assert _iou(mask >= 128, person) > 0.93  # the mask is eroded by a pixel on purpose (no backdrop fringe)
    assert (mask[~_grown(person, 3)] == 0).all(), "the backdrop, away from the person's edge, is 0"
    assert (mask[_shrunk(person, 3)] == 255).all(), "the person, away from the edge, is 255"


def test_a_backdrop_coloured_patch_inside_the_person_stays_the_persons() -> None:
    """Only backdrop connected to the picture's edges is backdrop: a light-blue badge on the shirt is the person's."""
    photo, _, person = studio_pair()
    photo[190:206, 80:100] = (114, 205, 250)
    mask = foreground_mask(photo)
    assert (mask[194:202, 84:96] == 255).all()
    assert _iou(mask >= 128, person) > 0.93


def test_the_backdrop_hue_is_cuhks_blue_and_none_without_a_plain_backdrop() -> None:
    photo, _, _ = studio_pair()
    assert backdrop_hue(photo) == pytest.approx(200.0, abs=6.0)
    noise = np.random.default_rng(0).integers(0, 256, photo.shape, dtype=np.uint8)
    assert backdrop_hue(noise) is None
    assert (foreground_mask(noise) == 255).all(), "without a plain backdrop everything is the person: nothing is composited"
    gray = np.full_like(photo, 128)
    assert (foreground_mask(gray) == 255).all(), "an unsaturated wall is not a backdrop to key out"


def test_composite_keeps_the_person_and_replaces_the_backdrop() -> None:
    photo, _, person = studio_pair()
    mask = foreground_mask(photo)
    background = np.zeros_like(photo)
    background[..., 1] = 255
    result = composite(photo, mask, background)
    solid = mask == 255
    assert (result[solid] == photo[solid]).all()
    assert (result[mask == 0] == background[mask == 0]).all()
    half = np.full(mask.shape, 128, np.uint8)
    blended = composite(photo, half, background).astype(int)
    expected = np.round(photo.astype(float) * 128 / 255 + background.astype(float) * 127 / 255).astype(int)
    assert np.abs(blended - expected).max() <= 1


def test_masks_of_the_cuhk_training_photos(cuhk_root: Path) -> None:
    """On every CUHK training photo the top corners are backdrop and the face's centre is the person."""
    photos = sorted((cuhk_root / "Training photo").glob("*.jpg"))
    assert len(photos) == 88
    for path in photos:
        mask = foreground_mask(np.asarray(Image.open(path).convert("RGB")))
        height, width = mask.shape
        assert mask[:10, :10].max() == 0 and mask[:10, -10:].max() == 0, path.name
        assert (mask[height // 2 - 10 : height // 2 + 10, width // 2 - 10 : width // 2 + 10] == 255).all(), path.name


def _grown(region: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    return cv2.dilate(region.astype(np.uint8), np.ones((2 * pixels + 1,) * 2, np.uint8)).astype(bool)


def _shrunk(region: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    return cv2.erode(region.astype(np.uint8), np.ones((2 * pixels + 1,) * 2, np.uint8)).astype(bool)
