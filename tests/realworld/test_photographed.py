"""CUHK photos "as photographed" (``face2sketch.realworld.photographed``): where the photo lands for given draws, the scene
drawn behind it, the light, carrying the true sketch through transforms, and how the alignment check scores eyes.
(The first tests of ``as_photographed`` and ``placement`` live in test_alignment.py, beside the alignment they check.)"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image

import face2sketch.pictures.alignment as alignment
from face2sketch.pictures.alignment import Alignment, FaceTooSmall, cuhk_eyes
from face2sketch.pictures.face_detection import Face
from face2sketch.realworld import photographed
from face2sketch.realworld.photographed import (
    SCENE_SIDES,
    AlignmentCheck,
    Photographing,
    apply_affine,
    as_photographed,
    carry_into,
    check_alignment,
    compose,
    jpeg_round_trip,
    photographed_scene,
    placement,
    scale_to,
    stand_in_background,
)

CORNERS = [[0.0, 0.0], [200.0, 0.0], [0.0, 250.0], [200.0, 250.0]]  # a CUHK photo's
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass
class ScriptedDraws:
    """A stand-in for numpy's Generator whose ``uniform`` draws are given in order: a value, or "low"/"high" for an end
    of the range asked (checked to lie in it); ``normal`` gives its mean, ``integers`` its lowest value."""

    draws: list[float | str]
    asked: list[tuple[float, float]] = field(default_factory=list)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: int | tuple[int, ...] | None = None) -> float | np.ndarray:
        self.asked.append((low, high))
        draw = self.draws.pop(0)
        value = low if draw == "low" else high if draw == "high" else float(draw)
        assert min(low, high) - 1e-9 <= value <= max(low, high) + 1e-9, f"{value} is outside [{low}, {high}]"
        return value if size is None else np.full(size, value)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: int | tuple[int, ...] | None = None) -> float | np.ndarray:
        return loc if size is None else np.full(size, float(loc))

    def integers(self, low: int, high: int | None = None) -> int:
        return low


def test_compose_applies_the_inner_transform_first() -> None:
    """Bug guarded: the order swapped (the sketch carried through the picture's transform before the photo's)."""
    double = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    shift = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, 20.0]])
    np.testing.assert_array_equal(compose(shift, double), [[2.0, 0.0, 10.0], [0.0, 2.0, 20.0]])  # double, then shift
    np.testing.assert_array_equal(compose(double, shift), [[2.0, 0.0, 20.0], [0.0, 2.0, 40.0]])  # shift, then double
    np.testing.assert_array_equal(apply_affine(compose(double, shift), [[1.0, 1.0]]), [[22.0, 42.0]])


def test_scale_to_maps_a_frame_s_corners_onto_the_size_s() -> None:
    np.testing.assert_array_equal(scale_to((400, 500), (200, 250)), [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    np.testing.assert_array_equal(apply_affine(scale_to((100, 50), (300, 400)), [[100.0, 50.0]]), [[300.0, 400.0]])


def test_carrying_resamples_bilinearly_and_fills_outside_the_image() -> None:
    """Bug guarded: another interpolation or fill (the true sketch's paper must stay white beyond its edges)."""
    sketch = np.array([[0, 100, 200, 50]], np.uint8).repeat(3, axis=0)
    half_step = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, 0.0]])  # each output pixel half-way between two of the sketch's
    assert carry_into(sketch, half_step, (3, 3))[1].tolist() == [50, 150, 125]
    moved = carry_into(sketch, np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]), (6, 3))
    assert moved[1].tolist() == [255, 255, 0, 100, 200, 50] and carry_into(sketch, IDENTITY, (5, 3), fill=7)[1].tolist() == [0, 100, 200, 50, 7]


def test_placement_without_a_background_sizes_the_picture_by_the_margins_around_the_tilted_scaled_photo() -> None:
    """Tilt 15 degrees, scale 2, margins 1.5 and 2 (wide, then tall), the photo at the left edge and the bottom: the
    picture is the margins times the tilted photo's box at scale 2, and the photo touches those two edges. Bugs guarded:
    the box's sides mixed (cos for sin), a margin for the other side, the scale not applied, a centre range off."""
    draws = ScriptedDraws([15.0, 2.0, 1.5, 2.0, "low", "high"])
    transform, size = placement((200, 250), None, draws, Photographing())
    assert draws.asked[:4] == [(-15.0, 15.0), (0.6, 2.5), (1.1, 2.5), (1.1, 2.5)]
    cos, sin = np.cos(np.radians(15.0)), np.sin(np.radians(15.0))
    box_w, box_h = 200 * cos + 250 * sin, 200 * sin + 250 * cos
    assert size == (round(box_w * 2 * 1.5), round(box_h * 2 * 2.0))
    np.testing.assert_allclose(transform[:, :2], 2 * np.array([[cos, sin], [-sin, cos]]), atol=1e-12)  # OpenCV's turn, scaled 2
    corners = apply_affine(transform, CORNERS)
    assert corners[:, 0].min() == pytest.approx(0.0, abs=1e-9) and corners[:, 1].max() == pytest.approx(size[1], abs=1e-9)
    np.testing.assert_allclose(apply_affine(transform, [[100.0, 125.0]]), [[box_w, size[1] - box_h]], atol=1e-9)  # the photo's centre


def test_placement_on_a_background_shrinks_a_photo_that_would_not_fit_and_centres_it_where_it_must() -> None:
    """A 300x900 background: a drawn scale of 2 is cut to 1.5 (the width's limit), leaving no room across; the photo's
    top touches the top. Bug guarded: the fit rule dropped or taken from the wrong side."""
    draws = ScriptedDraws([0.0, 2.0, "low", "low"])
    transform, size = placement((200, 250), (300, 900), draws, Photographing())
    assert size == (300, 900) and len(draws.asked) == 4
    np.testing.assert_allclose(transform, [[1.5, 0.0, 0.0], [0.0, 1.5, 0.0]], atol=1e-12)
    assert draws.asked[2] == (150.0, 150.0) and draws.asked[3] == pytest.approx((187.5, 900 - 187.5))


def test_the_stand_in_background_is_a_gradient_between_two_drawn_colours_along_the_drawn_angle() -> None:
    """Colours drawn at the ends of [20, 235], angle 0: the first colour in the left column, the second in the right,
    linear between (the grain is its mean, 0, here). Bugs guarded: the ramp along the other axis, not normalised to
    [0, 1], the colours' range changed."""
    draws = ScriptedDraws(["low", "high", 0.0])
    background = stand_in_background(draws, (2, 5))  # (height, width)
    assert draws.asked == [(20, 235), (20, 235), (0, 2 * np.pi)]
    row = [20, 73, 127, 181, 235]  # 20 + 215 * x / 4, truncated
    assert background.shape == (2, 5, 3) and background.dtype == np.uint8
    assert background[..., 0].tolist() == [row, row] and background[..., 2].tolist() == [row, row]
    turned = stand_in_background(ScriptedDraws(["low", "high", np.pi / 2]), (5, 2))  # a quarter turn: top to bottom
    assert turned[:, 0, 1].tolist() == row


def test_the_photo_is_lit_by_the_drawn_gain_and_pasted_through_its_mask() -> None:
    """A white photo on a grey-100 scene, all at gain 0.5: 127 where the mask is 1, (255 + 100) / 2 * 0.5 = 88 where it
    is 0.5, the scene's 50 elsewhere. Bugs guarded: the light not applied (or to the photo only), the mask's weight
    inverted, the scene's share not taken away where the person is."""
    photo = np.full((250, 200, 3), 255, np.uint8)
    mask = np.zeros((250, 200), np.float32)
    mask[:, :100], mask[:, 100:] = 1.0, 0.5
    how = Photographing(max_tilt=0.0, scale=(1.0, 1.0), gain=(0.5, 0.5), tint=0.0, jpeg_quality=(100, 100))
    scene = np.full((250, 400, 3), 100, np.uint8)
    picture, transform = as_photographed(photo, np.random.default_rng(0), background=scene, foreground_mask=mask, how=how)
    left, top = np.rint(transform[:, 2]).astype(int)
    assert transform[:, :2].tolist() == [[1.0, 0.0], [0.0, 1.0]] and top == 0
    assert np.abs(picture[100:150, left + 20 : left + 80].astype(int) - 127).max() <= 1
    assert np.abs(picture[100:150, left + 120 : left + 180].astype(int) - 88).max() <= 1
    outside = picture[:, : left - 8] if left > 8 else picture[:, left + 208 :]
    assert np.abs(outside.astype(int) - 50).max() <= 1


def test_a_jpeg_round_trip_is_pillow_s_at_the_quality_asked() -> None:
    """Bug guarded: the quality ignored (a fixed one), so the drawn JPEG quality does nothing."""
    picture = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    results = {}
    for quality in (60, 95):
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
        results[quality] = jpeg_round_trip(picture, quality)
        assert np.array_equal(results[quality], np.asarray(Image.open(buffer).convert("RGB")))
    assert not np.array_equal(results[60], results[95])


def test_the_alignment_check_scores_the_worse_eye_in_cuhk_pixels_and_counts_a_refused_face_as_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored photo's eyes 1 px right, 2 px up (left eye) and 0.5 px right (right eye) of CUHK's; the picture's
    alignment at twice CUHK's size undoes the placement exactly: the error is the worse eye's, sqrt(5), in the 200x250
    frame. Bugs guarded: the transforms composed in the wrong order, the error not scaled back to CUHK's frame, the
    better eye taken, a refused face dropped from the count."""
    target = np.array([cuhk_eyes().left, cuhk_eyes().right])
    photo_eyes = target + [[1.0, -2.0], [0.5, 0.0]]
    photo = np.zeros((250, 200, 3), np.uint8)
    placed = np.array([[1.0, 0.0, 50.0], [0.0, 1.0, 30.0]])
    pictures = iter([np.ones((300, 260, 3), np.uint8), np.full((300, 260, 3), 2, np.uint8)])
    monkeypatch.setattr(photographed, "as_photographed", lambda photo, rng, how=None: (next(pictures), placed))

    def align(image: np.ndarray) -> list[Alignment]:
        if image[0, 0, 0] == 2:
            raise FaceTooSmall("the face is too small", "closer")
        if image is photo:
            return [Alignment(image, IDENTITY, Face(photo_eyes, (0.0, 0.0, 1.0, 1.0), 1.0))]
        return [Alignment(np.zeros((500, 400, 3), np.uint8), np.array([[2.0, 0.0, -100.0], [0.0, 2.0, -60.0]]))]  # twice the size

    monkeypatch.setattr(alignment, "align_faces", align)
    checked = check_alignment([photo], np.random.default_rng(0), variants=2)
    assert (checked.pictures, checked.found) == (2, 1) and checked.eye_errors == pytest.approx([np.sqrt(5.0)], abs=1e-12)
    assert checked.share_within(3.0) == 0.5 and checked.share_within(2.0) == 0.0


def test_the_alignment_check_s_share_counts_errors_at_the_limit_and_misses_and_its_summary_says_so() -> None:
    checked = AlignmentCheck(pictures=4, found=3, eye_errors=[1.0, 3.0, 3.5])
    assert checked.share_within(3.0) == 0.5 and checked.share_within(0.5) == 0.0 and checked.share_within(3.5) == 0.75
    # the 95th percentile of 1, 3, 3.5: 3 + 0.9 * 0.5
    assert checked.summary() == "faces found in 3 of 4; eyes within 3 px of CUHK's for 50.0%; median 3.00 px, 95th percentile 3.45 px"
    none = AlignmentCheck(pictures=0, found=0, eye_errors=[])
    assert none.share_within(3.0) == 0.0 and none.summary() == "faces found in 0 of 0; eyes within 3 px of CUHK's for 0.0%; no face found"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_photographed_scene_is_1_2_to_2_8_times_the_photo_and_holds_the_whole_photo(seed: int) -> None:
    """Bug guarded: the scene's sides drawn for the wrong sides, or the photo placed partly outside it."""
    assert SCENE_SIDES == (1.2, 2.8)
    rng = np.random.default_rng(seed)
    photo = np.full((250, 200, 3), 200, np.uint8)
    mask = np.full((250, 200), 255, np.uint8)
    expected = np.random.default_rng(seed)
    expected.integers(6)  # the light picked first
    height_share, width_share = expected.uniform(*SCENE_SIDES), expected.uniform(*SCENE_SIDES)
    picture, transform = photographed_scene(photo, mask, rng)
    assert picture.shape == (round(250 * height_share), round(200 * width_share), 3)
    corners = apply_affine(transform, CORNERS)
    assert corners.min() >= -1e-6 and (corners <= [picture.shape[1] + 1e-6, picture.shape[0] + 1e-6]).all()


def test_placement_on_a_large_background_keeps_the_drawn_scale_and_draws_the_centre_where_the_photo_fits() -> None:
    """A 1000x1000 background: the drawn scale 0.8 is kept (the fit rule only ever shrinks), and each centre is drawn
    between half the scaled photo and the far side less that half."""
    draws = ScriptedDraws([0.0, 0.8, "low", "high"])
    transform, size = placement((200, 250), (1000, 1000), draws, Photographing())
    assert size == (1000, 1000) and draws.asked[2] == pytest.approx((80.0, 920.0)) and draws.asked[3] == pytest.approx((100.0, 900.0))
    np.testing.assert_allclose(transform, [[0.8, 0.0, 0.0], [0.0, 0.8, 800.0]], atol=1e-9)


def reference_stand_in(seed: int, height: int, width: int) -> np.ndarray:
    """The stand-in background as its docstring describes it, from the same draws: two colours, an angle, a ramp along
    it over the picture's unit square scaled to [0, 1], and grain of standard deviation 6 shared by the channels."""
    rng = np.random.default_rng(seed)
    first, second, angle = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3), rng.uniform(0, 2 * np.pi)
    ramp = np.array([[np.cos(angle) * x / width + np.sin(angle) * y / height for x in range(width)] for y in range(height)])
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    grain = rng.normal(0, 6, (height, width))
    field = first * (1 - ramp[..., None]) + second * ramp[..., None] + grain[..., None]
    return np.clip(field, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(3))
def test_the_stand_in_background_is_its_documented_gradient_with_grain_from_the_same_draws(seed: int) -> None:
    assert np.array_equal(stand_in_background(np.random.default_rng(seed), (30, 50)), reference_stand_in(seed, 30, 50))


@pytest.mark.parametrize("seed", range(4))
def test_the_light_is_a_gain_with_a_colour_cast_per_channel_clipped_and_the_jpeg_quality_drawn_in_its_range(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the light's draws (one gain, three channel casts within +-tint, multiplying), its clipping at 0 and 255
    (a white photo lit brighter, a black scene), and the JPEG quality drawn from the whole range, both ends included."""
    saved = []
    monkeypatch.setattr(photographed, "jpeg_round_trip", lambda picture, quality: saved.append((picture, quality)) or picture)
    photo = np.full((20, 10, 3), 255, np.uint8)
    scene = np.zeros((40, 30, 3), np.uint8)
    scene[:, 15:] = 100
    how = Photographing(max_tilt=0.0, scale=(1.0, 1.0), gain=(1.1, 1.3), tint=0.08, jpeg_quality=(60, 62))
    picture, transform = as_photographed(photo, np.random.default_rng(seed), background=scene, how=how)
    draws = np.random.default_rng(seed)
    draws.uniform(size=4)  # tilt, scale and the centre's two coordinates
    light = draws.uniform(1.1, 1.3) * (1 + draws.uniform(-0.08, 0.08, 3))
    quality = int(draws.integers(60, 63))
    ((lit, asked),) = saved
    assert asked == quality and lit is picture
    left, top = np.rint(transform[:, 2]).astype(int)
    assert picture[top + 5, left + 5].tolist() == [255, 255, 255]  # white lit brighter: clipped, not wrapped round
    assert picture[top + 25 if top < 15 else 0, 0].tolist() == [0, 0, 0]  # black stays black
    far = (0, 29) if left + 12 < 29 else (0, 15)  # the grey half of the scene, clear of the photo's blended edge
    assert picture[far].tolist() == np.clip(100 * light, 0, 255).astype(np.uint8).tolist()
    qualities = set()
    for other in range(30):
        saved.clear()
        as_photographed(photo, np.random.default_rng(other), background=scene, how=how)
        qualities.add(saved[0][1])
    assert qualities == {60, 61, 62}


def test_the_alignment_check_makes_three_copies_of_each_photo_by_default_and_goes_on_after_a_refused_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the default of 3 variants, a refused copy skipped (not the photo's remaining copies), and each copy made
    from the photo with the check's generator and settings."""
    photo = np.zeros((250, 200, 3), np.uint8)
    rng, how = np.random.default_rng(0), Photographing(gain=(1.0, 1.0))
    asked, pictures = [], iter([np.full((300, 260, 3), 2, np.uint8), np.ones((300, 260, 3), np.uint8), np.ones((300, 260, 3), np.uint8)])
    monkeypatch.setattr(photographed, "as_photographed", lambda photo, rng, how=None: asked.append((photo, rng, how)) or (next(pictures), IDENTITY))
    target = np.array([cuhk_eyes().left, cuhk_eyes().right])

    def align(image: np.ndarray) -> list[Alignment]:
        if image[0, 0, 0] == 2:
            raise FaceTooSmall("the face is too small", "closer")
        return [Alignment(np.zeros((250, 200, 3), np.uint8), IDENTITY, Face(target, (0.0, 0.0, 1.0, 1.0), 1.0))]

    monkeypatch.setattr(alignment, "align_faces", align)
    checked = check_alignment([photo], rng, how=how)
    assert (checked.pictures, checked.found, checked.eye_errors) == (3, 2, [0.0, 0.0])
    assert all(p is photo and r is rng and h is how for p, r, h in asked) and len(asked) == 3
    assert AlignmentCheck(pictures=1, found=1, eye_errors=[1.0]).share_within(3.0) == 1.0


def test_a_photographed_scene_lights_seven_in_ten_photos_with_one_of_six_lights_and_pastes_the_person_by_its_mask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guards the six lights by name, the 0.7 chance of a light (from the same draws), the mask handed to the light,
    and the mask scaled from 0..255 to 0..1 for pasting."""
    from face2sketch.realworld.conditions import CONDITION_SETS

    names = ("warm_light", "cool_light", "side_light", "dim_and_noisy", "overexposed", "black_and_white")
    lit = []
    for name in names:
        monkeypatch.setitem(CONDITION_SETS["real"]["photo"], name, lambda photo, mask, rng, name=name: lit.append((name, mask)) or photo)
    pasted = []
    monkeypatch.setattr(photographed, "as_photographed", lambda photo, rng, background, foreground_mask: pasted.append(foreground_mask) or (photo, IDENTITY))
    photo = np.full((25, 20, 3), 200, np.uint8)
    mask = np.random.default_rng(0).integers(0, 256, (25, 20), dtype=np.uint8)
    chosen = set()
    for seed in range(40):
        lit.clear()
        draws = np.random.default_rng(seed)
        name = names[int(draws.integers(6))]
        draws.uniform(size=2)  # the scene's sides
        expected = [(name, mask)] if draws.uniform() < 0.7 else []
        photographed_scene(photo, mask, np.random.default_rng(seed))
        assert [n for n, _ in lit] == [n for n, _ in expected] and all(m is mask for _, m in lit), seed
        chosen.update(n for n, _ in lit)
        assert pasted[-1].dtype == np.float32 and np.array_equal(pasted[-1], mask.astype(np.float32) / 255.0)
    assert chosen == set(names)


@dataclass
class GrainOf(ScriptedDraws):
    """ScriptedDraws whose grain is a given value everywhere."""

    grain: float = 0.0

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: int | tuple[int, ...] | None = None) -> float | np.ndarray:
        return self.grain if size is None else np.full(size, self.grain)


def test_the_stand_in_background_clips_its_grain_to_black_and_white_rather_than_wrapping_round() -> None:
    """Guards the clip at both ends: grain 30 below the darkest colour (20) is black, 30 above the lightest (235) white."""
    dark = stand_in_background(GrainOf(["low", "low", 0.0], grain=-30.0), (2, 3))
    light = stand_in_background(GrainOf(["high", "high", 0.0], grain=30.0), (2, 3))
    assert (dark == 0).all() and (light == 255).all()
