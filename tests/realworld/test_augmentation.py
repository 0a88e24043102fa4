"""Real-world augmentation (``realworld/augmentation.py``): compositing, geometry on both sides, the input stages of each
kind recomputed from their draws, the target left alone, and the real-conditions validation set of the data module.
The sketch styles, the named conditions and the validation quality have their own files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from face2sketch.core.errors import ConfigError
from face2sketch.data.datamodule import PairedDataModule
from face2sketch.data.pairing import SkippedFile
from face2sketch.data.sources import DecodedPair
from face2sketch.data.synthetic import studio_pair
from face2sketch.realworld import sketch_styles
from face2sketch.realworld.augmentation import RealWorldAugmentation, brightness_ramp, exposure, photo_camera_transforms
from face2sketch.realworld.backgrounds import random_background
from face2sketch.realworld.conditions import apply_condition, condition_set
from face2sketch.realworld.foreground import composite, foreground_mask
from tests.conftest import PROJECT_ROOT

STILL = {"p_flip": 0.0, "p_geometry": 0.0, "p_background": 0.0, "p_camera": 0.0, "p_side_light": 0.0, "p_exposure": 0.0}
NO_SKETCH_CHANGES = {"p_sketch_paper": 0.0, "p_line_drawing": 0.0, "p_pencil_weight": 0.0, "p_sketch_jpeg": 0.0, "p_sketch_blur": 0.0}


def _studio() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    photo, sketch, _ = studio_pair()
    return photo, sketch[..., None], foreground_mask(photo)


# -- compositing and geometry ---------------------------------------------------------------------------------------------
def test_a_new_background_changes_the_backdrop_and_leaves_the_person_and_the_sketch_unchanged() -> None:
    photo, sketch, mask = _studio()
    augmentation = RealWorldAugmentation(**{**STILL, "p_background": 1.0})
    for seed in range(6):
        new_photo, new_sketch = augmentation(photo, sketch, mask, "photo", seed)
        assert np.array_equal(new_sketch, sketch), "the target sketch is never touched"
        assert np.array_equal(new_photo[mask == 255], photo[mask == 255]), "the person stays as photographed"
        assert np.abs(new_photo[mask == 0].astype(int) - photo[mask == 0]).mean() > 8, f"seed {seed}: the backdrop was replaced"


def test_dark_backgrounds_come_as_often_as_p_dark_background_asks() -> None:
    photo, sketch, mask = _studio()

    def backdrop_brightness(p_dark: float) -> np.ndarray:
        augmentation = RealWorldAugmentation(**{**STILL, "p_background": 1.0, "p_dark_background": p_dark})
        return np.array([augmentation(photo, sketch, mask, "photo", seed)[0][mask == 0].max(axis=1).mean() for seed in range(40)])

    never, always = backdrop_brightness(0.0), backdrop_brightness(1.0)
    assert always.max() < 0.55 * 255, "every background dimmed to a dark room"
    assert (never > 0.55 * 255).mean() > 0.3, "without dimming, most backgrounds keep their own brightness"
    assert np.median(always) < 0.5 * np.median(never)


def test_the_same_seed_gives_the_same_pair_and_another_seed_another() -> None:
    photo, sketch, mask = _studio()
    augmentation = RealWorldAugmentation()
    first, again, other = (augmentation(photo, sketch, mask, "photo", seed) for seed in (3, 3, 4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def _marked(height: int = 96, width: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A white square on a black photo, the same square in black on a white sketch, and a mask of it."""
    photo = np.zeros((height, width, 3), np.uint8)
    sketch = np.full((height, width, 1), 255, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    photo[20:34, 50:62] = 255
    sketch[20:34, 50:62] = 0
    mask[20:34, 50:62] = 255
    return photo, sketch, mask


def _centroid(region: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(region)
    return np.array([rows.mean(), cols.mean()])


@pytest.mark.parametrize("source_kind", ["photo", "sketch"])
def test_geometry_moves_photo_sketch_and_mask_identically(source_kind: str) -> None:
    photo, sketch, mask = _marked()
    settings = {**STILL, **NO_SKETCH_CHANGES, "p_flip": 0.5, "p_geometry": 1.0}
    plain, composited = RealWorldAugmentation(**settings), RealWorldAugmentation(**{**settings, "p_background": 1.0})
    moved = 0
    for seed in range(8):
        new_photo, new_sketch = plain(photo, sketch, mask, source_kind, seed)
        bright, dark = new_photo.min(axis=2) > 200, new_sketch[..., 0] < 60
        assert np.abs(_centroid(bright) - _centroid(dark)).max() < 0.6, f"seed {seed}: photo and sketch moved alike"
        assert abs(int(bright.sum()) - int(dark.sum())) <= 0.1 * dark.sum()
        moved += np.abs(_centroid(dark) - _centroid(mask > 0)).max() > 2
        if source_kind == "photo":  # the same draws, now with a new background: the mask moved with the square
            behind, _ = composited(photo, sketch, mask, source_kind, seed)
            assert behind[tuple(np.round(_centroid(dark)).astype(int))].min() == 255, f"seed {seed}: the square is not covered"
    assert moved >= 6, "most pairs are turned, scaled or shifted"


def test_where_the_geometry_moved_the_picture_away_the_sketch_is_paper_and_the_photo_backdrop() -> None:
    photo, sketch, mask = _studio()
    augmentation = RealWorldAugmentation(**{**STILL, **NO_SKETCH_CHANGES, "p_geometry": 1.0, "max_rotation": 15.0, "scale": (0.8, 0.8)})
    new_photo, new_sketch = augmentation(photo, sketch, mask, "sketch", 0)
    assert new_sketch[0, 0, 0] == 250, "the sketch's paper continues"
    assert np.abs(new_photo[0, 0].astype(int) - np.median(photo[mask < 128], axis=0)).max() <= 1, "the studio's backdrop continues"


def test_sketch_inputs_are_augmented_and_the_target_photo_is_not() -> None:
    photo, sketch, mask = _studio()
    augmentation = RealWorldAugmentation(**{**STILL, "p_line_drawing": 1.0})
    new_photo, new_sketch = augmentation(photo, sketch, mask, "sketch", 0)
    assert np.array_equal(new_photo, photo)
    assert not np.array_equal(new_sketch, sketch) and new_sketch.shape == sketch.shape
    # every photo stage on: still none of them reaches the target photo of an sk2f pair (the photo stages applied to the
    # target would teach the model to draw degraded photos)
    every_photo_stage = RealWorldAugmentation(
        **{**STILL, "p_background": 1.0, "p_camera": 1.0, "p_side_light": 1.0, "p_exposure": 1.0, "p_dark_background": 1.0}
    )
    for seed in range(4):
        assert np.array_equal(every_photo_stage(photo, sketch, mask, "sketch", seed)[0], photo), f"seed {seed}: the target photo changed"


def test_photo_inputs_are_augmented_and_the_target_sketch_is_not() -> None:
    """The symmetric case: every sketch stage on, none reaches the target sketch of an f2sk pair."""
    photo, sketch, mask = _studio()
    every_sketch_stage = RealWorldAugmentation(**{**STILL, **dict.fromkeys(NO_SKETCH_CHANGES, 1.0), "p_exposure": 1.0})
    for seed in range(4):
        new_photo, new_sketch = every_sketch_stage(photo, sketch, mask, "photo", seed)
        assert np.array_equal(new_sketch, sketch), f"seed {seed}: the target sketch changed"
        assert not np.array_equal(new_photo, photo)


# -- the input stages, recomputed from their draws; the target never touched -------------------------------------------------
PHOTO_STAGES = ("p_background", "p_camera", "p_side_light", "p_exposure")
SKETCH_STAGES = tuple(NO_SKETCH_CHANGES)
NO_INPUT_STAGES = dict.fromkeys(PHOTO_STAGES + SKETCH_STAGES, 0.0)
EVERY_STAGE = dict.fromkeys((*PHOTO_STAGES, *SKETCH_STAGES, "p_flip", "p_geometry", "p_dark_background"), 1.0)
STAGE_PROBABILITIES = st.fixed_dictionaries({name: st.floats(0.0, 1.0) for name in EVERY_STAGE})
SMALL_STUDIO = studio_pair(96, 80)
SMALL_PHOTO, SMALL_SKETCH, SMALL_MASK = SMALL_STUDIO[0], SMALL_STUDIO[1][..., None], foreground_mask(SMALL_STUDIO[0])


@settings(max_examples=40, deadline=None)
@given(source_kind=st.sampled_from(["photo", "sketch"]), probabilities=STAGE_PROBABILITIES, seed=st.integers(0, 2**31 - 1))
@example(source_kind="photo", probabilities=EVERY_STAGE, seed=0)
@example(source_kind="sketch", probabilities=EVERY_STAGE, seed=0)
def test_every_input_stage_leaves_the_target_as_the_geometry_left_it(source_kind: str, probabilities: dict, seed: int) -> None:
    """For any seed and any stage probabilities the target equals the target with every input stage off (same seed: the
    geometry is drawn first, so it is the same). Guards the photo stages applied to an sk2f target photo (e.g.
    ``self.photo_input(photo, ...)`` returned in the sketch branch) and the sketch stages to an f2sk target sketch."""
    augmentation = RealWorldAugmentation(**probabilities)
    geometry_only = RealWorldAugmentation(**{**probabilities, **NO_INPUT_STAGES})
    target = 1 if source_kind == "photo" else 0
    augmented = augmentation(SMALL_PHOTO, SMALL_SKETCH, SMALL_MASK, source_kind, seed)[target]
    assert np.array_equal(augmented, geometry_only(SMALL_PHOTO, SMALL_SKETCH, SMALL_MASK, source_kind, seed)[target]), "an input stage changed the target"


# the camera stage's pipeline as documented: (transform, probability, the settings this project chose), in order
CAMERA_STAGE = [
    ("OneOf", 0.5, [
        ("PlanckianJitter", 1.0, {"mode": "blackbody", "temperature_limit": (3000, 12000)}),
        ("RGBShift", 1.0, {"r_shift_limit": (-30, 30), "g_shift_limit": (-20, 20), "b_shift_limit": (-30, 30)}),
        ("HueSaturationValue", 1.0, {"hue_shift_limit": (-8, 8), "sat_shift_limit": (-40, 20), "val_shift_limit": (0, 0)}),
    ]),
    ("RandomGamma", 0.4, {"gamma_limit": (55, 180)}),
    ("RandomBrightnessContrast", 0.5, {"brightness_limit": (-0.35, 0.35), "contrast_limit": (-0.35, 0.35)}),
    ("OneOf", 0.4, [
        ("Illumination", 1.0, {"mode": "linear", "intensity_range": (0.05, 0.2), "effect_type": "both"}),
        ("Illumination", 1.0, {"mode": "corner", "intensity_range": (0.05, 0.2), "effect_type": "darken"}),
        ("Illumination", 1.0, {"mode": "gaussian", "intensity_range": (0.05, 0.2), "effect_type": "both"}),
    ]),
    ("ToGray", 0.2, {}),
    ("OneOf", 0.3, [
        ("GaussianBlur", 1.0, {"blur_limit": (3, 7)}),
        ("Defocus", 1.0, {"radius": (1, 3)}),
        ("MotionBlur", 1.0, {"blur_limit": (3, 7)}),
        ("Downscale", 1.0, {"scale_range": (0.3, 0.7)}),
    ]),
    ("OneOf", 0.35, [("GaussNoise", 1.0, {"std_range": (0.01, 0.06)}), ("ISONoise", 1.0, {})]),
    ("ImageCompression", 0.35, {"quality_range": (10, 90)}),
]  # fmt: skip


def _stage(transform: dict) -> tuple:
    """A transform of ``A.to_dict`` as (name, probability, its inner stages or its settings, ranges as tuples)."""
    name, p = transform["__class_fullname__"], transform["p"]
    if "transforms" in transform:
        return name, p, [_stage(inner) for inner in transform["transforms"]]
    return name, p, {key: tuple(value) if isinstance(value, list | tuple) else value for key, value in transform.items()}


def test_the_camera_stage_is_the_documented_pipeline_of_light_colour_blur_noise_and_jpeg() -> None:
    """Guards each range and probability of the camera stage (an albumentations pipeline, so only its settings are ours)."""
    stages = [_stage(transform) for transform in A.to_dict(photo_camera_transforms())["transform"]["transforms"]]
    flat = [inner for stage in stages for inner in (stage[2] if isinstance(stage[2], list) else [stage])]
    wanted = [inner for stage in CAMERA_STAGE for inner in (stage[2] if isinstance(stage[2], list) else [stage])]
    assert [(name, p) for name, p, _ in stages] == [(name, p) for name, p, _ in CAMERA_STAGE]
    assert [(name, p) for name, p, _ in flat] == [(name, p) for name, p, _ in wanted]
    for (name, _, options), (_, _, chosen) in zip(flat, wanted, strict=True):
        assert {key: options[key] for key in chosen} == chosen, name


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


def _brightness_ramp(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light from one side as documented: a logistic step from ``dark`` to ``bright`` across a random direction."""
    height, width = photo.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)  # the positions as fractions in float32, as the module has them
    angle = rng.uniform(0.0, 2 * math.pi)
    across = math.cos(angle) * (xs / np.float32(width) - np.float32(0.5)).astype(np.float64) + math.sin(angle) * (ys / np.float32(height) - np.float32(0.5))
    dark, bright = rng.uniform(0.3, 0.9), rng.uniform(1.0, 1.3)
    field = dark + (bright - dark) / (1.0 + np.exp(-across * rng.uniform(4.0, 14.0)))
    return photo * field[..., None]


def _exposure(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another exposure as documented: a gain and a gamma drawn log-uniformly, then the contrast scaled about the mean."""
    gain, gamma = math.exp(rng.uniform(math.log(0.3), math.log(1.7))), math.exp(rng.uniform(math.log(0.5), math.log(1.8)))
    toned = np.clip((photo.astype(np.float32) / np.float32(255.0)).astype(np.float64) * gain, 0.0, 1.0) ** gamma
    contrast = rng.uniform(0.5, 1.25)
    return (toned.mean() + (toned - toned.mean()) * contrast) * 255.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_side_light_and_the_exposure_are_their_documented_recipes(seed: int) -> None:
    """Guards each range and constant of the two photo stages: every pixel recomputed from the same draws."""
    ramped = brightness_ramp(SMALL_PHOTO, np.random.default_rng(seed))
    assert np.array_equal(ramped, _rounded(_brightness_ramp(SMALL_PHOTO, np.random.default_rng(seed))))
    exposed = exposure(SMALL_PHOTO, np.random.default_rng(seed))
    assert np.array_equal(exposed, _rounded(_exposure(SMALL_PHOTO, np.random.default_rng(seed))))


def test_a_bright_photo_s_exposure_saturates_at_white_before_the_gamma_and_the_contrast() -> None:
    """Guards the clip to [0, 1] before the tone curve: a gain above 1 on a bright photo saturates there, so the
    contrast turns about the mean of the saturated picture (unclipped, the mean and every pixel move)."""
    bright = np.random.default_rng(9).integers(200, 256, (8, 8, 3), dtype=np.uint8)
    gains = []
    for seed in range(8):
        draws = np.random.default_rng(seed)
        gains.append(np.exp(draws.uniform(np.log(0.3), np.log(1.7))))
        assert np.array_equal(exposure(bright, np.random.default_rng(seed)), _rounded(_exposure(bright, np.random.default_rng(seed)))), seed
    assert max(gains) > 255 / 200, "a seed whose gain saturates the photo"


def _geometry(
    augmentation: RealWorldAugmentation, images: list[np.ndarray], fills: list[float], rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The documented geometry: a mirror image, then about the centre a rotation by ``angle`` degrees (counter-clockwise
    on the screen) and a zoom, then a shift by a fraction of the width and height; its matrix written out by hand."""
    height, width = images[0].shape[:2]
    images = [image[:, ::-1] for image in images] if rng.uniform() < augmentation.p_flip else images
    if rng.uniform() >= augmentation.p_geometry:
        return [np.ascontiguousarray(image) for image in images], None
    angle, zoom = math.radians(rng.uniform(-augmentation.max_rotation, augmentation.max_rotation)), rng.uniform(*augmentation.scale)
    shift_x, shift_y = rng.uniform(-augmentation.max_shift, augmentation.max_shift, 2)
    a, b, centre_x, centre_y = zoom * math.cos(angle), zoom * math.sin(angle), width / 2, height / 2
    matrix = np.array([[a, b, (1 - a) * centre_x - b * centre_y + shift_x * width], [-b, a, b * centre_x + (1 - a) * centre_y + shift_y * height]])

    def warp(image: np.ndarray, fill: float) -> np.ndarray:
        warped = cv2.warpAffine(
            np.ascontiguousarray(image), matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(fill,) * 4
        )
        return warped.reshape(image.shape)

    return [warp(image, fill) for image, fill in zip(images, fills, strict=True)], warp(np.full((height, width), 255, np.uint8), 0.0)


def _photo_input(augmentation: RealWorldAugmentation, photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.uniform() < augmentation.p_background:
        photo = composite(photo, mask, random_background(rng, photo.shape[:2], augmentation.pictures, augmentation.p_dark_background))
    if rng.uniform() < augmentation.p_exposure:
        photo = _rounded(_exposure(photo, rng))
    if rng.uniform() < augmentation.p_side_light:
        photo = _rounded(_brightness_ramp(photo, rng))
    if rng.uniform() < augmentation.p_camera:
        augmentation.camera.set_random_seed(int(rng.integers(2**31)))
        photo = augmentation.camera(image=photo)["image"]
    return photo


def _sketch_input(augmentation: RealWorldAugmentation, sketch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.uniform() < augmentation.p_line_drawing:
        sketch = sketch_styles.line_drawing(sketch, rng)
    elif rng.uniform() < augmentation.p_pencil_weight:
        sketch = sketch_styles.pencil_weight(sketch, rng)
    if rng.uniform() < augmentation.p_sketch_paper:  # then each of toned paper (60 %), texture and fall-off (50 % each)
        for style, chance in ((sketch_styles.paper_tone, 0.6), (sketch_styles.paper_texture, 0.5), (sketch_styles.light_falloff, 0.5)):
            sketch = style(sketch, rng) if rng.uniform() < chance else sketch
    if rng.uniform() < augmentation.p_sketch_blur:
        sketch = cv2.GaussianBlur(sketch, (0, 0), rng.uniform(0.5, 1.5))
    if rng.uniform() < augmentation.p_sketch_jpeg:
        sketch = sketch_styles.jpeg(sketch, int(rng.integers(10, 90)))
    return sketch


def _augmented(
    augmentation: RealWorldAugmentation, photo: np.ndarray, sketch: np.ndarray, mask: np.ndarray, source_kind: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A training pair as the module documents it: the geometry on photo, sketch and mask (the sketch's paper and the
    studio's backdrop where the picture moved away), then the input stages of the input's kind."""
    rng = np.random.default_rng(seed)
    paper = float(np.median(np.concatenate([sketch[0].ravel(), sketch[-1].ravel()])))
    backdrop = np.median(photo[mask < 128], axis=0)
    (photo, sketch, mask), inside = _geometry(augmentation, [photo, sketch, mask], [0.0, paper, 0.0], rng)
    if inside is not None:
        photo = composite(photo, inside, np.broadcast_to(backdrop.astype(np.uint8), photo.shape).copy())
    if source_kind == "photo":
        return _photo_input(augmentation, photo, mask, rng), sketch
    return photo, _sketch_input(augmentation, np.ascontiguousarray(sketch[..., 0]), rng)[..., None]


@settings(max_examples=30, deadline=None)
@given(source_kind=st.sampled_from(["photo", "sketch"]), probabilities=STAGE_PROBABILITIES, seed=st.integers(0, 2**31 - 1))
@example(source_kind="photo", probabilities=EVERY_STAGE, seed=3)
@example(source_kind="sketch", probabilities=EVERY_STAGE, seed=3)
@example(source_kind="sketch", probabilities={**EVERY_STAGE, "p_line_drawing": 0.0}, seed=5)
def test_a_training_pair_is_the_geometry_then_the_input_stages_of_its_kind(source_kind: str, probabilities: dict, seed: int) -> None:
    """The whole pair recomputed from the documented order of draws, stages and ranges (geometry, then background,
    exposure, side light and camera on a photo; line drawing or pencil weight, paper, blur and JPEG on a sketch): a
    changed constant, a swapped range, a stage skipped or run in another order fails here."""
    augmentation, reference = RealWorldAugmentation(**probabilities), RealWorldAugmentation(**probabilities)
    augmentation.bind([SMALL_PHOTO[::-1]]), reference.bind([SMALL_PHOTO[::-1]])
    photo, sketch = augmentation(SMALL_PHOTO, SMALL_SKETCH, SMALL_MASK, source_kind, seed)
    expected_photo, expected_sketch = _augmented(reference, SMALL_PHOTO, SMALL_SKETCH, SMALL_MASK, source_kind, seed)
    assert np.array_equal(photo, expected_photo), "the photo"
    assert np.array_equal(sketch, expected_sketch), "the sketch"


# -- the real-conditions validation set and the checkpoint rule ----------------------------------------------------------------
class StudioSource:
    """Studio pairs (the first six train, the last two test), each a little different."""

    def check(self) -> None:
        return None

    def load(self) -> tuple[list[DecodedPair], list[SkippedFile]]:
        pairs = []
        for index in range(8):
            photo, sketch, _ = studio_pair()
            photo = np.roll(photo, 3 * index, axis=1)
            pairs.append(DecodedPair(f"s{index}", photo, np.roll(sketch, 3 * index, axis=1), "train" if index < 6 else "test"))
        return pairs, []


def _studio_module(**settings: Any) -> PairedDataModule:
    module = PairedDataModule(StudioSource(), image_size=32, sketch_channels=1, val_fraction=0.34, eval_batch_size=64, **settings)
    module.setup("fit")
    return module


def test_the_real_conditions_validation_set_is_every_validation_identity_under_every_condition() -> None:
    module = _studio_module(validation_conditions="real", augmentation=RealWorldAugmentation())
    clean, conditioned = module.val_dataloader()
    assert module.splits is not None and len(module.splits.val) == 2
    clean_batch, conditioned_batch = next(iter(clean)), next(iter(conditioned))
    conditions = condition_set("real", "photo")
    assert conditioned_batch["condition"] == [c for c in conditions for _ in range(2)]
    assert conditioned_batch["name"] == clean_batch["name"] * len(conditions)
    assert torch.equal(conditioned_batch["target"], clean_batch["target"].repeat(len(conditions), 1, 1, 1)), "targets stay clean"
    for position, condition in enumerate(conditioned_batch["condition"]):
        example = position % 2
        item = module.splits.val[example]
        stored = apply_condition(condition, conditions, item.full_resolution("photo"), item.full_resolution_mask(), module.seed, example)
        expected = torch.from_numpy(module.fit(stored, "photo")).permute(2, 0, 1).float() / 255.0
        assert torch.allclose(conditioned_batch["source"][position], expected), f"{condition}: the stored photo, changed, then fitted"
    assert (conditioned_batch["source"] != clean_batch["source"].repeat(len(conditions), 1, 1, 1)).any()


def test_without_validation_conditions_there_is_one_validation_loader_and_no_masks() -> None:
    module = _studio_module()
    assert not isinstance(module.val_dataloader(), list)
    assert module.splits is not None and module.splits.train[0].mask is None


def test_training_pairs_are_augmented_by_their_seed_and_validation_pairs_are_not() -> None:
    module = _studio_module(augmentation=RealWorldAugmentation(), validation_conditions="real")
    train = module.dataset("train")
    first, again, other = train[(0, 11)], train[(0, 11)], train[(0, 12)]
    assert torch.equal(first["source"], again["source"]) and not torch.equal(first["source"], other["source"])
    val = module.dataset("val")
    assert val.augmentation is None and torch.equal(val[0]["source"], val[0]["source"])


# -- settings -----------------------------------------------------------------------------------------------------------------
def test_every_stage_probability_of_the_augmentation_has_a_settings_rule() -> None:
    import inspect

    from face2sketch.training.validation import AUGMENTATION_PROBABILITIES

    assert set(AUGMENTATION_PROBABILITIES) == {name for name in inspect.signature(RealWorldAugmentation).parameters if name.startswith("p_")}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.augmentation.p_background=1.5", "data.augmentation.p_background=1.5 is not allowed: use a probability from 0 to 1"),
        ("data.augmentation.p_line_drawing=-0.1", "data.augmentation.p_line_drawing=-0.1 is not allowed: use a probability from 0 to 1"),
        ("data.augmentation.max_rotation=200", "data.augmentation.max_rotation=200 is not allowed: use a number of degrees from 0 to 180"),
        ("data.augmentation.max_shift=0.6", "data.augmentation.max_shift=0.6 is not allowed: use a fraction of the side from 0 to 0.5"),
        ("data.augmentation.scale=[1.2,0.8]", "data.augmentation.scale=[1.2, 0.8] is not allowed: use [smallest, largest] with 0 < smallest <= largest"),
        ("data.validation_conditions=indoors", "data.validation_conditions=indoors is not allowed: use null or a condition set: real"),
    ],
)
def test_augmentation_settings_are_refused_in_one_line_before_any_data_is_read(override: str, message: str, tmp_path: Path) -> None:
    from face2sketch.training.validation import validate_settings
    from tests.conftest import compose_train

    cfg = compose_train(tmp_path / "run", "experiment=default_f2sk", "data=synthetic", "data.image_size=32", override)
    with pytest.raises(ConfigError) as refused:
        validate_settings(cfg)
    assert str(refused.value) == message


def test_the_recipes_augmentation_settings_pass_the_rules(tmp_path: Path) -> None:
    from face2sketch.training.validation import validate_settings
    from tests.conftest import compose_train

    for direction in ("f2sk", "sk2f"):
        validate_settings(compose_train(tmp_path / direction, f"experiment=default_{direction}"))


def test_the_class_defaults_are_the_shipped_recipe_s_settings() -> None:
    """Guards each default a Python user gets from ``RealWorldAugmentation()``: the settings of
    ``conf/augmentation/real_world.yaml``, which training composes."""
    from omegaconf import OmegaConf

    recipe = OmegaConf.to_container(OmegaConf.load(PROJECT_ROOT / "conf" / "augmentation" / "real_world.yaml"))["augmentation"]
    recipe.pop("_target_")
    defaults = RealWorldAugmentation()
    assert {key: list(getattr(defaults, key)) if key == "scale" else getattr(defaults, key) for key in recipe} == recipe


def test_black_stays_black_under_the_side_light_and_the_exposure() -> None:
    """Guards the lower clip of both recipes: no light turns a black pixel grey."""
    black = np.zeros((8, 8, 3), np.uint8)
    for seed in range(3):
        assert not brightness_ramp(black, np.random.default_rng(seed)).any() and not exposure(black, np.random.default_rng(seed)).any()


def _moved_away() -> RealWorldAugmentation:
    """Only the geometry, shrinking the picture to half about its centre: every corner is filled."""
    return RealWorldAugmentation(**{**STILL, **NO_SKETCH_CHANGES, "p_flip": 0.0, "p_geometry": 1.0, "max_rotation": 0.0, "scale": (0.5, 0.5), "max_shift": 0.0})


def test_the_sketch_s_fill_is_the_median_of_its_top_and_bottom_rows() -> None:
    """Guards the rows the paper is read from (the first and the last, not their neighbours) and the fill reaching
    every channel of a three-channel sketch (the study's layout), not the first alone."""
    photo, mask = np.full((16, 16, 3), 100, np.uint8), np.full((16, 16), 255, np.uint8)
    sketch = np.full((16, 16, 3), 50, np.uint8)
    sketch[0], sketch[1], sketch[-2], sketch[-1] = 200, 10, 30, 220
    _, moved = _moved_away()(photo, sketch, mask, "photo", 0)
    assert moved[0, 0].tolist() == [210, 210, 210]


def test_the_photo_s_fill_is_the_median_backdrop_under_half_the_mask_or_white_without_backdrop() -> None:
    """Guards the backdrop's pixels (mask below 128, a pixel at 128 being the person's) and the white fill of a photo
    that is all person."""
    photo, sketch = np.full((16, 16, 3), 100, np.uint8), np.full((16, 16, 3), 250, np.uint8)
    mask = np.full((16, 16), 255, np.uint8)
    mask[0, :3], photo[0, :3] = 0, 10  # three backdrop pixels
    mask[1, :5], photo[1, :5] = 128, 240  # five on the person's side of the line
    moved, _ = _moved_away()(photo, sketch, mask, "photo", 0)
    assert moved[0, 0].tolist() == [10, 10, 10]
    all_person = np.full((16, 16), 255, np.uint8)
    all_person[4, 4] = 128  # the person's side of the line: still no backdrop
    moved, _ = _moved_away()(np.full((16, 16, 3), 100, np.uint8), sketch, all_person, "photo", 0)
    assert moved[0, 0].tolist() == [255, 255, 255]
