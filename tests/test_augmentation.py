"""Real-world augmentation: compositing, geometry on both sides, each sketch-input transform, the named condition sets,
the real-conditions validation set and the checkpoint rule that uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from face2sketch.callbacks.quality import ValidationFSIM
from face2sketch.data import sketch_styles
from face2sketch.data.augmentation import RealWorldAugmentation
from face2sketch.data.conditions import CONDITION_SETS, apply_condition, condition_set
from face2sketch.data.datamodule import PairedDataModule
from face2sketch.data.foreground import foreground_mask
from face2sketch.data.pairing import SkippedFile
from face2sketch.data.sources import DecodedPair
from face2sketch.errors import ConfigError
from face2sketch.metrics import fsim, scoot
from tests.studio import studio_pair

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


# -- sketch inputs ---------------------------------------------------------------------------------------------------------
def _page() -> np.ndarray:
    page = np.full((120, 100), 255, np.uint8)
    page[40:80, 20:24] = 0  # a black stroke
    page[40:80, 60:64] = 155  # a mid-grey stroke (darkness 100)
    return page


def test_paper_tone_greys_the_paper_and_keeps_black_strokes_black() -> None:
    level = np.random.default_rng(7).uniform(0.62, 0.95)
    toned = sketch_styles.paper_tone(_page(), np.random.default_rng(7))
    assert toned[0, 0] == int(255 * level + 0.5) and toned[50, 21] == 0


def test_pencil_weight_scales_every_strokes_darkness_by_one_factor() -> None:
    factor = np.exp(np.random.default_rng(1).uniform(np.log(0.3), np.log(2.5)))
    weighted = sketch_styles.pencil_weight(_page(), np.random.default_rng(1))
    assert weighted[0, 0] == 255, "paper stays white"
    assert weighted[50, 61] == int(np.clip(255 - 100 * factor, 0, 255) + 0.5)


def test_light_falloff_darkens_the_sheet_towards_one_side_within_its_range() -> None:
    lit = sketch_styles.light_falloff(np.full((120, 100), 255, np.uint8), np.random.default_rng(2), darkest=(0.5, 0.5))
    assert lit.min() >= int(255 * 0.5), "never darker than the darkest fall-off"
    assert lit.max() - lit.min() > 30 and lit.shape == (120, 100)


def test_paper_texture_adds_grain_around_the_paper_tone() -> None:
    textured = sketch_styles.paper_texture(np.full((120, 100), 200, np.uint8), np.random.default_rng(3))
    assert textured.std() > 1.0 and abs(float(textured.mean()) - 200) < 6


@pytest.mark.parametrize("detector", range(sketch_styles.LINE_DETECTORS))
def test_a_line_drawing_keeps_the_lines_and_drops_the_shading(detector: int) -> None:
    page = np.full((160, 140), 250, np.uint8)
    page[20:90, 20:90] = 150  # a shaded area
    page[130:133, 10:130] = 30  # a line
    drawing = sketch_styles.line_drawing(page, np.random.default_rng(0), detector=detector, coverage=0.03, width=0, broken=False)
    ink = drawing < 128
    assert not ink[32:78, 32:78].any(), "no ink inside the flat shading"
    assert ink[126:137, 10:130].any(axis=0).mean() > 0.9, "the line is drawn along its length"
    assert 0.01 < ink.mean() < 0.08


def test_jpeg_keeps_a_picture_close_at_high_quality_and_not_at_low() -> None:
    page = _page()
    close = np.abs(sketch_styles.jpeg(page, 95).astype(int) - page).mean()
    coarse = np.abs(sketch_styles.jpeg(page, 10).astype(int) - page).mean()
    assert close < coarse and close < 2.0


def test_sketch_inputs_are_augmented_and_the_target_photo_is_not() -> None:
    photo, sketch, mask = _studio()
    augmentation = RealWorldAugmentation(**{**STILL, "p_line_drawing": 1.0})
    new_photo, new_sketch = augmentation(photo, sketch, mask, "sketch", 0)
    assert np.array_equal(new_photo, photo)
    assert not np.array_equal(new_sketch, sketch) and new_sketch.shape == sketch.shape


# -- named condition sets --------------------------------------------------------------------------------------------------
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


def test_an_unknown_condition_set_is_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown condition set 'indoors': use one of real"):
        condition_set("indoors", "photo")


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
    module = _studio_module(validation_conditions="real", conditions=RealWorldAugmentation())
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
    module = _studio_module(conditions=RealWorldAugmentation(), validation_conditions="real")
    train = module.dataset("train")
    first, again, other = train[(0, 11)], train[(0, 11)], train[(0, 12)]
    assert torch.equal(first["source"], again["source"]) and not torch.equal(first["source"], other["source"])
    val = module.dataset("val")
    assert val.conditions is None and torch.equal(val[0]["source"], val[0]["source"])


class _Recorder:
    """The parts of a LightningModule that ValidationFSIM uses: [0, 1] images and a log."""

    def __init__(self) -> None:
        self.logged: dict[str, float] = {}

    def to_unit_range(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def log(self, name: str, value: float, **kwargs: Any) -> None:
        self.logged[name] = value


def test_validation_quality_is_the_mean_of_the_clean_and_the_real_condition_scores() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(3, 1, 48, 48, generator=generator)
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1)
    callback, module = ValidationFSIM("f2sk"), _Recorder()
    callback.on_validation_epoch_start(None, module)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, target, {"target": target}, 0, 0)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, blurred, {"target": target}, 0, 1)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(None, module)  # type: ignore[arg-type]
    logged = module.logged
    assert logged["val/fsim"] == pytest.approx(1.0) and logged["val/scoot"] == pytest.approx(1.0)
    assert logged["val/fsim_real"] == pytest.approx(float(fsim(blurred, target, chromatic=False).mean()))
    assert logged["val/scoot_real"] == pytest.approx(float(scoot(blurred, target).mean()))
    parts = [logged[name] for name in ("val/fsim", "val/scoot", "val/fsim_real", "val/scoot_real")]
    assert logged["val/quality"] == pytest.approx(sum(parts) / 4) and logged["val/quality"] < 1.0


def test_without_a_real_conditions_loader_there_is_no_quality() -> None:
    target = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    callback, module = ValidationFSIM("sk2f"), _Recorder()
    callback.on_validation_epoch_start(None, module)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, target, {"target": target}, 0, 0)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(None, module)  # type: ignore[arg-type]
    assert module.logged == {"val/fsim": pytest.approx(1.0)}


# -- settings -----------------------------------------------------------------------------------------------------------------
def test_every_stage_probability_of_the_augmentation_has_a_settings_rule() -> None:
    import inspect

    from face2sketch.validation import AUGMENTATION_PROBABILITIES

    assert set(AUGMENTATION_PROBABILITIES) == {name for name in inspect.signature(RealWorldAugmentation).parameters if name.startswith("p_")}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.conditions.p_background=1.5", "data.conditions.p_background=1.5 is not allowed: use a probability from 0 to 1"),
        ("data.conditions.p_line_drawing=-0.1", "data.conditions.p_line_drawing=-0.1 is not allowed: use a probability from 0 to 1"),
        ("data.conditions.max_rotation=200", "data.conditions.max_rotation=200 is not allowed: use a number of degrees from 0 to 180"),
        ("data.conditions.max_shift=0.6", "data.conditions.max_shift=0.6 is not allowed: use a fraction of the side from 0 to 0.5"),
        ("data.conditions.scale=[1.2,0.8]", "data.conditions.scale=[1.2, 0.8] is not allowed: use [smallest, largest] with 0 < smallest <= largest"),
        ("data.validation_conditions=indoors", "data.validation_conditions=indoors is not allowed: use null or a condition set: real"),
    ],
)
def test_augmentation_settings_are_refused_in_one_line_before_any_data_is_read(override: str, message: str, tmp_path: Path) -> None:
    from face2sketch.validation import validate_settings
    from tests.conftest import compose_train

    cfg = compose_train(tmp_path / "run", "experiment=default_f2sk", "data=synthetic", "data.image_size=32", override)
    with pytest.raises(ConfigError) as refused:
        validate_settings(cfg)
    assert str(refused.value) == message


def test_the_recipes_augmentation_settings_pass_the_rules(tmp_path: Path) -> None:
    from face2sketch.validation import validate_settings
    from tests.conftest import compose_train

    for direction in ("f2sk", "sk2f"):
        validate_settings(compose_train(tmp_path / direction, f"experiment=default_{direction}"))
