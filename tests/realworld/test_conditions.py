"""The named real-world conditions (``realworld/conditions.py``): each is its documented recipe drawn from a generator seeded
by (seed, condition, example), changes the input reproducibly, and leaves a photo's person as it was."""

from __future__ import annotations

import io
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image

from face2sketch.core.errors import ConfigError
from face2sketch.data.synthetic import studio_pair
from face2sketch.realworld import conditions as named
from face2sketch.realworld import sketch_styles
from face2sketch.realworld.backgrounds import clutter, noise_field, random_colour, smooth_noise, stripes
from face2sketch.realworld.conditions import CONDITION_SETS, apply_condition, condition_set, input_under_condition
from face2sketch.realworld.foreground import composite, foreground_mask

BACKGROUND_CONDITIONS = ("dark_wall", "light_wall", "busy_texture", "outdoors", "indoor_noise")


@pytest.mark.parametrize("condition", list(CONDITION_SETS["real"]["photo"]))
def test_each_photo_condition_changes_the_photo_reproducibly(condition: str) -> None:
    photo, _, _ = studio_pair()
    mask = foreground_mask(photo)
    conditions = condition_set("real", "photo")
    changed = apply_condition(condition, conditions, photo, mask, 0, 5)
    assert changed.shape == photo.shape and changed.dtype == np.uint8
    assert np.array_equal(changed, apply_condition(condition, conditions, photo, mask, 0, 5))
    assert np.abs(changed.astype(int) - photo).mean() > 1.0
    if condition in BACKGROUND_CONDITIONS:
        assert np.array_equal(changed[mask == 255], photo[mask == 255]), "a new background, the same person"


@pytest.mark.parametrize("condition", list(CONDITION_SETS["real"]["sketch"]))
def test_each_sketch_condition_changes_the_sketch_reproducibly(condition: str) -> None:
    _, sketch, _ = studio_pair()
    conditions = condition_set("real", "sketch")
    changed = apply_condition(condition, conditions, sketch, None, 0, 5)
    assert changed.shape == sketch.shape and changed.dtype == np.uint8
    assert np.array_equal(changed, apply_condition(condition, conditions, sketch, None, 0, 5))
    assert np.abs(changed.astype(int) - sketch).mean() > 0.3


def test_an_unknown_condition_set_is_one_line_naming_every_set(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="^unknown condition set 'indoors': use one of real$"):
        condition_set("indoors", "photo")
    monkeypatch.setitem(CONDITION_SETS, "studio", CONDITION_SETS["real"])
    with pytest.raises(ConfigError, match="^unknown condition set 'indoors': use one of real, studio$"):
        condition_set("indoors", "photo")


def test_the_sets_hold_these_conditions_in_this_order() -> None:
    """The order is part of each condition's seed (its index): a reordered set draws other pictures, and reports change."""
    assert list(condition_set("real", "photo")) == [
        "dark_wall", "light_wall", "busy_texture", "outdoors", "indoor_noise", "warm_light", "cool_light", "side_light",
        "dim_and_noisy", "overexposed", "black_and_white", "heavy_jpeg", "small_and_soft", "phone_snapshot",
    ]  # fmt: skip
    assert list(condition_set("real", "sketch")) == [
        "scanned_paper", "photographed_sheet", "pen_line_drawing", "faint_pencil", "heavy_pencil", "heavy_jpeg", "small_and_soft",
    ]  # fmt: skip
    assert list(CONDITION_SETS) == ["real"]


def test_a_background_condition_without_a_mask_is_refused_in_one_line() -> None:
    photo, _, _ = studio_pair(48, 40)
    with pytest.raises(ConfigError, match="^a background condition needs the photo's foreground mask: build the condition set from decoded data$"):
        apply_condition("dark_wall", condition_set("real", "photo"), photo, None, 0, 0)


# -- each condition, recomputed from its documented draws -------------------------------------------------------------------
def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip by PIL (OpenCV's encoder reads three channels as BGR, hence the reversals)."""
    buffer = io.BytesIO()
    Image.fromarray(image[..., ::-1] if image.ndim == 3 else image).save(buffer, "JPEG", quality=quality)
    decoded = np.asarray(Image.open(buffer))
    return decoded[..., ::-1] if image.ndim == 3 else decoded


def _wall(photo: np.ndarray, mask: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shade = 1.0 + (smooth_noise(rng, photo.shape[:2], 4) - 0.5) * 0.15
    return composite(photo, mask, _to_uint8(colour * shade[..., None]))


def _dark_wall(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _wall(photo, mask, random_colour(rng, (0.05, 0.3)), rng)


def _light_wall(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    brightness = rng.uniform(0.78, 0.98)
    return _wall(photo, mask, 255.0 * brightness * (1.0 - rng.uniform(0.0, 0.12, 3)), rng)


def _busy_texture(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shelves = rng.uniform() < 0.6
    return composite(photo, mask, clutter(rng, photo.shape[:2]) if shelves else stripes(rng, photo.shape[:2]))


def _outdoors(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = photo.shape[:2]
    sky = np.array([150.0, 185.0, 225.0]) * rng.uniform(0.8, 1.1)
    leaves = np.array([70.0, 110.0, 55.0]) * rng.uniform(0.6, 1.2)
    ground = np.array([120.0, 100.0, 80.0]) * rng.uniform(0.6, 1.2)
    blend = np.clip(((np.arange(height, dtype=np.float32) / height)[:, None, None] - rng.uniform(0.2, 0.5)) / 0.25, 0.0, 1.0)
    field = (sky * (1.0 - blend) + leaves * blend) * (0.7 + 0.6 * smooth_noise(rng, (height, width), 6)[..., None])
    field = np.where(smooth_noise(rng, (height, width), 3)[..., None] > 0.7, ground, field)
    return composite(photo, mask, cv2.GaussianBlur(_to_uint8(field), (0, 0), rng.uniform(3.0, 7.0)))


def _warm_light(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    red, green, blue = rng.uniform(1.05, 1.2), rng.uniform(0.92, 1.0), rng.uniform(0.6, 0.75)
    return _to_uint8(photo.astype(np.float32) * (np.array([red, green, blue]) * rng.uniform(0.8, 0.95)))


def _cool_light(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    red, green, blue = rng.uniform(0.75, 0.88), rng.uniform(0.95, 1.05), rng.uniform(1.05, 1.2)
    lit = photo.astype(np.float32) * np.array([red, green, blue])
    return _to_uint8(lit.mean() + (lit - lit.mean()) * rng.uniform(0.7, 0.85))


def _side_light(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    across = np.linspace(0.0, 1.0, photo.shape[1], dtype=np.float32)[None, :]
    across = across if rng.uniform() < 0.5 else across[:, ::-1]  # the window on the left or on the right
    bright, dark = rng.uniform(1.05, 1.25), rng.uniform(0.3, 0.5)
    field = dark + (bright - dark) / (1.0 + np.exp(-(across - 0.5) * rng.uniform(6.0, 12.0)))
    return _to_uint8(photo.astype(np.float32) * np.broadcast_to(field, photo.shape[:2])[..., None])


def _dim_and_noisy(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    gain = rng.uniform(0.35, 0.5)
    dark = 255.0 * (photo.astype(np.float32) / 255.0 * gain) ** rng.uniform(0.8, 0.95)
    sigma = rng.uniform(5.0, 10.0)
    noisy = dark + rng.normal(0.0, sigma, photo.shape) + rng.normal(0.0, 3.0, photo.shape[:2])[..., None]
    return _to_uint8(cv2.GaussianBlur(noisy.astype(np.float32), (0, 0), 0.6))


def _overexposed(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    gamma = rng.uniform(0.55, 0.7)
    return _to_uint8(255.0 * (photo.astype(np.float32) / 255.0) ** gamma * rng.uniform(1.05, 1.2))


def _heavy_jpeg(image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    return _jpeg(image, int(rng.integers(10, 21)))


def _small_and_soft(image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    factor = rng.uniform(0.33, 0.5)
    small = cv2.resize(image, (max(8, round(width * factor)), max(8, round(height * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _phone_snapshot(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    background = [_dark_wall, _light_wall, _busy_texture, _outdoors, lambda p, m, r: composite(p, m, noise_field(r, p.shape[:2]))][int(rng.integers(5))]
    light = [_warm_light, _cool_light, _side_light][int(rng.integers(3))]
    picture = light(background(photo, mask, rng), mask, rng).astype(np.float32)
    sigma = rng.uniform(0.4, 0.9)
    picture = cv2.GaussianBlur(picture, (0, 0), sigma) + rng.normal(0.0, 3.0, picture.shape)
    return _jpeg(_to_uint8(picture), int(rng.integers(40, 70)))


def _scanned_paper(sketch: np.ndarray, mask: None, rng: np.random.Generator) -> np.ndarray:
    return sketch_styles.paper_texture(sketch_styles.paper_tone(sketch, rng, (0.7, 0.85)), rng)


def _photographed_sheet(sketch: np.ndarray, mask: None, rng: np.random.Generator) -> np.ndarray:
    toned = sketch_styles.paper_tone(sketch, rng, (0.85, 0.97))
    lit = sketch_styles.light_falloff(toned, rng, (0.5, 0.65))
    soft = cv2.GaussianBlur(lit.astype(np.float32), (0, 0), 0.7) + rng.normal(0.0, 2.5, lit.shape)
    return _jpeg(_to_uint8(soft), int(rng.integers(55, 75)))


def _pen_line_drawing(sketch: np.ndarray, mask: None, rng: np.random.Generator) -> np.ndarray:
    coverage = rng.uniform(0.05, 0.08)
    return sketch_styles.line_drawing(sketch, rng, detector=0, coverage=coverage, width=1, broken=False)


def _pencil(weight: tuple[float, float]) -> Callable[[np.ndarray, None, np.random.Generator], np.ndarray]:
    def scaled(sketch: np.ndarray, mask: None, rng: np.random.Generator) -> np.ndarray:
        factor = np.exp(rng.uniform(np.log(weight[0]), np.log(weight[1])))
        return _to_uint8(255.0 - (255.0 - sketch.astype(np.float32)) * factor)

    return scaled


RECIPES: dict[str, dict[str, Callable]] = {
    "photo": {
        "dark_wall": _dark_wall,
        "light_wall": _light_wall,
        "busy_texture": _busy_texture,
        "outdoors": _outdoors,
        "indoor_noise": lambda photo, mask, rng: composite(photo, mask, noise_field(rng, photo.shape[:2])),
        "warm_light": _warm_light,
        "cool_light": _cool_light,
        "side_light": _side_light,
        "dim_and_noisy": _dim_and_noisy,
        "overexposed": _overexposed,
        "black_and_white": named.black_and_white,  # checked against the luma weights below
        "heavy_jpeg": _heavy_jpeg,
        "small_and_soft": _small_and_soft,
        "phone_snapshot": _phone_snapshot,
    },
    "sketch": {
        "scanned_paper": _scanned_paper,
        "photographed_sheet": _photographed_sheet,
        "pen_line_drawing": _pen_line_drawing,
        "faint_pencil": _pencil((0.35, 0.55)),
        "heavy_pencil": _pencil((1.6, 2.0)),
        "heavy_jpeg": _heavy_jpeg,
        "small_and_soft": _small_and_soft,
    },
}
CASES = [(kind, condition) for kind, recipes in RECIPES.items() for condition in recipes]


@pytest.mark.parametrize(("kind", "condition"), CASES, ids=[f"{kind}-{condition}" for kind, condition in CASES])
def test_each_condition_is_its_recipe_drawn_from_a_generator_seeded_by_seed_condition_and_example(kind: str, condition: str) -> None:
    """Each condition recomputed here from its documented steps and ranges, with the generator seeded by (seed, the
    condition's index in its set, example): a changed range, gain, factor, quality or order of draws fails here."""
    photo, sketch, _ = studio_pair(96, 80)
    image, mask = (photo, foreground_mask(photo)) if kind == "photo" else (sketch, None)
    conditions = condition_set("real", kind)
    for seed, example in ((0, 0), (7, 3), (11, 1), (2, 5), (3, 2), (5, 4), (9, 0), (13, 6)):
        index = list(conditions).index(condition)
        expected = RECIPES[kind][condition](image, mask, np.random.default_rng([seed, index, example]))
        changed = apply_condition(condition, conditions, image, mask, seed, example)
        assert changed.dtype == np.uint8 and np.array_equal(changed, expected), f"seed {seed}, example {example}"


def test_a_black_and_white_photo_is_its_luma_in_every_channel() -> None:
    """Guards the grey's weights (ITU-R 601: 0.299 R + 0.587 G + 0.114 B, rounded in fixed point by OpenCV: within 0.51 of a grey level)."""
    photo, _, _ = studio_pair(96, 80)
    grey = named.black_and_white(photo, None, np.random.default_rng(0))
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
    assert np.abs(grey[..., 0] - photo.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).max() <= 0.51


def test_a_small_picture_is_shrunk_to_no_fewer_than_8_pixels_a_side() -> None:
    """Guards the floor of ``small_and_soft`` (a 14 x 12 picture would otherwise shrink to 5 x 4 pixels)."""
    picture = np.random.default_rng(2).integers(0, 256, (14, 12, 3), dtype=np.uint8)
    for seed in range(3):
        expected = _small_and_soft(picture, None, np.random.default_rng(seed))
        assert np.array_equal(named.small_and_soft(picture, None, np.random.default_rng(seed)), expected)
        shrunk = cv2.resize(picture, (8, 8), interpolation=cv2.INTER_AREA)
        assert np.array_equal(expected, cv2.resize(shrunk, (12, 14), interpolation=cv2.INTER_LINEAR)), "8 x 8 in between"


def test_an_input_under_a_condition_is_the_stored_picture_changed_with_the_photos_mask_and_the_sketch_without() -> None:
    """Guards the one rule validation and evaluate share: the stored (full-resolution) input changed, a photo with its
    foreground mask (a background condition needs it), a sketch without one, seeded by (seed, condition, example)."""
    photo, sketch, person = studio_pair(96, 80)
    seen: list[tuple[str, np.ndarray | None]] = []

    def record(image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        seen.append((str(image.dtype) + str(image.shape), mask))
        return image + np.uint8(rng.integers(1, 9))

    class Pair:
        def full_resolution(self, kind: str) -> np.ndarray:
            return photo if kind == "photo" else sketch

        def full_resolution_mask(self) -> np.ndarray:
            return person

    conditions = {"first": record, "second": record}
    changed = input_under_condition(Pair(), "photo", "second", conditions, seed=3, example=5)
    assert np.array_equal(changed, apply_condition("second", conditions, photo, person, 3, 5))
    assert seen[0] == (f"uint8{photo.shape}", person) and seen[0][1] is person
    changed = input_under_condition(Pair(), "sketch", "first", conditions, seed=3, example=5)
    assert seen[-1][1] is None and np.array_equal(changed, apply_condition("first", conditions, sketch, None, 3, 5))
