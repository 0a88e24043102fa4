"""Foreground masks of studio photos and compositing a person onto another background."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from face2sketch.data.synthetic import studio_pair
from face2sketch.realworld import foreground
from face2sketch.realworld.foreground import backdrop_hue, composite, foreground_mask


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


# -- each rule of the mask on pictures built for it ------------------------------------------------------------------------
BLUE = (60, 160, 240)  # a saturated light blue, as CUHK's backdrop
SKIN = (200, 150, 120)


def test_hue_saturation_and_value_are_degrees_and_unit_fractions() -> None:
    """Guards the scaling of OpenCV's full-range HSV: hue 0..255 to degrees, saturation and value to [0, 1]."""
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [100, 50, 0]]], np.uint8)
    hue, saturation, value = foreground._hue_saturation_value(pixels)
    assert hue[0] == pytest.approx([0.0, 85 * 360 / 256, 171 * 360 / 256, 0.0, 21 * 360 / 256])  # OpenCV's 0..255 hues: 120 and 240 degrees round to 85 and 171
    assert saturation[0] == pytest.approx([1.0, 1.0, 1.0, 0.0, 1.0]) and value[0] == pytest.approx([1.0, 1.0, 1.0, 128 / 255, 100 / 255])


@pytest.mark.parametrize(("height", "side_rows"), [(9, 6), (2, 1), (1, 1)])
def test_the_border_is_the_top_rows_and_the_upper_two_thirds_of_each_side(height: int, side_rows: int) -> None:
    values = np.arange(height * 8).reshape(height, 8)
    expected = np.concatenate([values[:3].ravel(), values[:side_rows, :3].ravel(), values[:side_rows, 5:].ravel()])
    assert np.array_equal(foreground._border_pixels(values), expected)


def test_hue_distance_goes_the_short_way_round_the_circle() -> None:
    hues = np.array([350.0, 10.0, 0.0, 180.0, 359.0])
    assert foreground._hue_distance(hues, 0.0).tolist() == [10.0, 10.0, 0.0, 180.0, 1.0]
    assert foreground._hue_distance(hues, 350.0).tolist() == [0.0, 20.0, 10.0, 170.0, 9.0]


def test_the_backdrop_hue_wraps_to_0_360_and_needs_half_the_border_bright_and_saturated() -> None:
    """Guards the hue's wrap (a red-pink backdrop just under 360 degrees), the saturation AND brightness rule (a dark
    red border is no backdrop), and the half-share boundaries: exactly half the border coloured is a backdrop."""
    pink = np.zeros((9, 8, 3), np.uint8) + np.array([255, 0, 40], np.uint8)
    expected = float(foreground._hue_saturation_value(pink[:1, :1])[0][0, 0])
    assert expected > 300 and backdrop_hue(pink) == pytest.approx(expected, abs=1e-3)
    assert backdrop_hue(np.zeros((9, 8, 3), np.uint8) + np.array([25, 0, 0], np.uint8)) is None  # saturated but too dark
    half = np.full((9, 8, 3), 128, np.uint8)
    half[:, :4] = BLUE  # the border's 60 pixels: 12 of the top 24 and all 18 of the left side: exactly 30
    assert backdrop_hue(half) == pytest.approx(float(foreground._hue_saturation_value(half[:1, :1])[0][0, 0]), abs=1e-3)
    half[8, 0] = 128  # not on the border: still half
    assert backdrop_hue(half) is not None
    half[0, 0] = 128  # now under half (counted twice: top row and left side)
    assert backdrop_hue(half) is None


def test_regions_smaller_than_the_minimum_are_removed_and_one_of_exactly_the_minimum_kept() -> None:
    binary = np.zeros((10, 10), bool)
    binary[1, 1:5] = True  # 4 pixels
    binary[5, 5:8] = True  # 3 pixels
    binary[8, 1], binary[9, 2] = True, True  # 2 pixels touching at a corner: one region
    kept = foreground._remove_small(binary, 4)
    assert kept[1, 1:5].all() and not kept[5].any() and not kept[8:].any()
    assert foreground._remove_small(binary, 2)[8:].sum() == 2


def studio(height: int = 60, width: int = 50) -> np.ndarray:
    picture = np.zeros((height, width, 3), np.uint8) + np.array(BLUE, np.uint8)
    picture[20:, 15:35] = SKIN  # a person from the bottom edge up
    return picture


def expected_mask(person: np.ndarray) -> np.ndarray:
    """The documented finish: the person's hard mask eroded by a pixel, then blurred over 5x5 with sigma 1."""
    return cv2.GaussianBlur(cv2.erode(person.astype(np.uint8) * 255, np.ones((3, 3), np.uint8)), (5, 5), 1.0)


def test_the_mask_is_the_eroded_person_softened_with_sigma_1() -> None:
    picture = studio()
    person = np.zeros(picture.shape[:2], bool)
    person[20:, 15:35] = True
    assert np.array_equal(foreground_mask(picture), expected_mask(person))


def test_backdrop_reaching_only_the_bottom_or_the_right_edge_is_backdrop() -> None:
    """Guards each edge the backdrop may touch: two backdrop pockets, cut off from the rest by the person, reach
    the picture only at its bottom edge and at its right-hand edge."""
    picture = np.zeros((60, 50, 3), np.uint8) + np.array(BLUE, np.uint8)
    picture[10:, 5:] = SKIN
    picture[45:, 20:28] = BLUE  # a pocket open to the bottom edge only
    picture[20:28, 40:] = BLUE  # a pocket open to the right-hand edge only
    person = np.zeros((60, 50), bool)
    person[10:, 5:] = True
    person[45:, 20:28] = False
    person[20:28, 40:] = False
    assert np.array_equal(foreground_mask(picture), expected_mask(person))


def test_a_backdrop_pocket_meeting_the_backdrop_only_at_a_corner_is_the_persons() -> None:
    """Guards the 4-connectivity of the backdrop: a pocket touching it diagonally is enclosed by the person (e.g.
    between an arm and the body) and large enough to stay, so 8-connectivity would key it out."""
    picture = np.zeros((60, 50, 3), np.uint8) + np.array(BLUE, np.uint8)
    picture[20:, 10:40] = SKIN
    picture[20:30, 10:20] = BLUE  # open to the backdrop on two sides: backdrop
    picture[30:40, 20:30] = BLUE  # meets the pocket above only at its corner
    person = np.zeros((60, 50), bool)
    person[20:, 10:40] = True
    person[20:30, 10:20] = False
    assert np.array_equal(foreground_mask(picture), expected_mask(person))


def test_a_speck_smaller_than_the_pictures_share_is_removed_and_a_larger_one_kept() -> None:
    """Guards the minimum region, 0.2 % of the picture (20 pixels of 100x100; at least 4): a 16-pixel speck of the
    person's colour in the backdrop is dropped, a 25-pixel one kept."""
    picture = np.zeros((100, 100, 3), np.uint8) + np.array(BLUE, np.uint8)
    picture[40:, 30:70] = SKIN
    picture[10:14, 10:14] = SKIN  # 16 pixels
    picture[10:15, 80:85] = SKIN  # 25 pixels
    person = np.zeros((100, 100), bool)
    person[40:, 30:70] = True
    person[10:15, 80:85] = True
    assert np.array_equal(foreground_mask(picture), expected_mask(person))
    small = np.zeros((30, 30, 3), np.uint8) + np.array(BLUE, np.uint8)
    small[15:, 10:20] = SKIN
    small[3:5, 3:5] = SKIN  # 4 pixels of 900: kept (the floor of 4)
    kept = np.zeros((30, 30), bool)
    kept[15:, 10:20] = True
    kept[3:5, 3:5] = True
    assert np.array_equal(foreground_mask(small), expected_mask(kept))
