"""Protocols, channel layouts, value ranges and paired augmentation of the data module."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.errors import ConfigError
from face2sketch.data import FolderPairsDataModule, SyntheticPairsDataModule
from face2sketch.data.datasets import ConditionedPairs, PairedImageDataset
from face2sketch.data.protocols import Item, make_splits
from face2sketch.data.sampling import EpochShuffleSampler, derive_seed, derive_seeds
from face2sketch.data.synthetic import studio_pair
from face2sketch.pictures.images import fit_to_model, resize_image
from face2sketch.pictures.tensors import to_tensor
from face2sketch.realworld.augmentation import RealWorldAugmentation
from face2sketch.realworld.conditions import apply_condition, condition_set
from face2sketch.realworld.foreground import foreground_mask


def _keys(items) -> set[str]:
    return {i.key for i in items}


def test_standard_protocol_on_real_data_is_88_100_without_shared_identities(cuhk_root: Path) -> None:
    dm = FolderPairsDataModule(root=str(cuhk_root), image_size=32, split="standard", seed=7)
    dm.setup()
    s = dm.splits
    assert len(s.train) + len(s.val) == 88 and len(s.test) == 100
    assert len(s.val) == 9
    assert not (_keys(s.train) & _keys(s.test)) and not (_keys(s.val) & _keys(s.test)) and not (_keys(s.train) & _keys(s.val))
    assert not s.leaky


def test_paper_protocol_on_real_data_is_1504_split_1204_300_and_leaky(cuhk_root: Path) -> None:
    dm = FolderPairsDataModule(root=str(cuhk_root), image_size=16, split="paper", seed=7)
    dm.setup()
    s = dm.splits
    assert len(s.train) + len(s.val) == 1204 and len(s.test) == 300
    assert len({i.name for i in s.train + s.val + s.test}) == 1504
    assert s.leaky and dm.describe()["leaky"] is True
    assert _keys(s.train) & _keys(s.test), "the paper protocol puts copies of one face on both sides"


def test_paper_protocol_variants_are_the_8_symmetries() -> None:
    """Each copy named ``a_rNNN[f]`` is exactly that many degrees of counter-clockwise turn, then the flip, of the original,
    for photo, sketch and mask alike: a copy turned the other way, flipped before its turn, misnamed, or a mask turned
    differently from its photo fails here; and 8 copies split 2 test (300/1504 of them), 1 validation, 5 training."""
    photo = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    sketch, mask = 255 - photo, np.arange(4 * 5, dtype=np.uint8).reshape(4, 5)
    items = [Item("a", photo, sketch, mask=mask)]
    s = make_splits(items, {"a": "train"}, "paper", val_fraction=0.2, test_fraction=0.2, seed=0)
    assert (len(s.train), len(s.val), len(s.test)) == (5, 1, 2)
    variants = s.train + s.val + s.test
    names = {"a": 0, "a_r90": 1, "a_r180": 2, "a_r270": 3, "a_r0f": 4, "a_r90f": 5, "a_r180f": 6, "a_r270f": 7}
    assert sorted(v.name for v in variants) == sorted(names)
    for variant in variants:
        element = names[variant.name]
        assert (variant.rotations, variant.flip) == (element % 4, element >= 4)
        assert np.array_equal(variant.photo, _symmetry(photo, element)), f"{variant.name}: the photo is another symmetry"
        assert np.array_equal(variant.sketch, _symmetry(sketch, element)), f"{variant.name}: the sketch is another symmetry"
        assert np.array_equal(variant.mask, _symmetry(mask, element)), f"{variant.name}: the mask is another symmetry"


def test_validation_is_carved_by_seed() -> None:
    a = SyntheticPairsDataModule(num_train=20, num_test=4, image_size=16, seed=1)
    b = SyntheticPairsDataModule(num_train=20, num_test=4, image_size=16, seed=1)
    c = SyntheticPairsDataModule(num_train=20, num_test=4, image_size=16, seed=2)
    for dm in (a, b, c):
        dm.setup()
    assert _keys(a.splits.val) == _keys(b.splits.val) != _keys(c.splits.val)


def _scaled(image: np.ndarray, value_range: tuple[float, float]) -> torch.Tensor:
    """An HxWxC uint8 array as the CxHxW float a model in ``value_range`` is fed: 0 -> low, 255 -> high."""
    low, high = value_range
    return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1) / 255 * (high - low) + low


def _symmetry(image: np.ndarray, element: int) -> np.ndarray:
    """D4 element ``element`` of an HxW[xC] array as the data module documents it: ``element % 4`` counter-clockwise
    quarter turns (each: transposed, then the rows in reverse order), then a left-right flip if ``element >= 4``."""
    for _ in range(element % 4):
        image = image.swapaxes(0, 1)[::-1]
    return np.ascontiguousarray(image[:, ::-1] if element >= 4 else image)


def _elements_by_name(dm, loader, batches: int | None = None) -> list[dict[str, int]]:
    """For each batch of an in-memory training ``loader``: each sample's name and its D4 element, ``seed % 8`` of the
    augmentation seed the sampler gave it."""
    train = dm.splits.train
    return [{train[index].name: seed % 8 for index, seed in keys} for keys in list(loader.sampler)[:batches]]


@pytest.mark.parametrize(
    ("direction", "value_range", "sketch_channels"), [("f2sk", (0.0, 1.0), 3), ("sk2f", (-1.0, 1.0), 3), ("f2sk", (0.0, 1.0), 1), ("sk2f", (-1.0, 1.0), 1)]
)
def test_batches_hold_each_pair_in_the_direction_layout_and_value_range(direction: str, value_range: tuple[float, float], sketch_channels: int) -> None:
    """Every value of a batch is its example's uint8 pixel scaled to the model's range: test batches as the examples
    are, training batches (the in-memory D4 path) as one of the 8 symmetries, the same one for input and target."""
    dm = SyntheticPairsDataModule(
        num_train=6,
        num_test=2,
        image_size=24,
        direction=direction,
        value_range=value_range,
        sketch_channels=sketch_channels,
        batch_size=4,
        paired_transforms=[A.D4(p=1.0)],
    )
    dm.setup()
    source_kind, target_kind = ("photo", "sketch") if direction == "f2sk" else ("sketch", "photo")
    channels = {"photo": 3, "sketch": sketch_channels}
    test = next(iter(dm.test_dataloader()))
    for k, item in enumerate(dm.splits.test):
        assert test["name"][k] == item.name
        source, target = (_scaled(getattr(item, kind), value_range) for kind in (source_kind, target_kind))
        assert source.shape[0] == channels[source_kind] and target.shape[0] == channels[target_kind]
        assert torch.allclose(test["source"][k], source, atol=1e-6, rtol=0) and torch.allclose(test["target"][k], target, atol=1e-6, rtol=0)
    loader = dm.train_dataloader()
    train, elements = dm.on_after_batch_transfer(next(iter(loader)), 0), _elements_by_name(dm, loader, 1)[0]
    items = {item.name: item for item in dm.splits.train}
    assert train["source"].shape == (4, channels[source_kind], 24, 24) and train["target"].shape == (4, channels[target_kind], 24, 24)
    assert sorted(train["name"]) == sorted(elements)
    for k, name in enumerate(train["name"]):  # each sample turned by its own element, input and target alike
        source, target = (_scaled(_symmetry(getattr(items[name], kind), elements[name]), value_range) for kind in (source_kind, target_kind))
        assert torch.allclose(train["source"][k], source, atol=1e-6, rtol=0), f"{name}: the input is not D4 element {elements[name]} of its example"
        assert torch.allclose(train["target"][k], target, atol=1e-6, rtol=0), f"{name}: the target is not D4 element {elements[name]} of its example"


def test_paired_augmentation_keeps_input_and_target_aligned() -> None:
    """Identical images in, identical images out, while the augmentation really changes them."""
    dm = SyntheticPairsDataModule(num_train=10, num_test=2, image_size=32, paired_transforms=[A.D4(p=1.0)], seed=3)
    dm.setup()
    marked = []
    for item in dm.splits.train:
        image = np.zeros((32, 32, 3), np.uint8)
        image[2, 5] = 255  # an asymmetric mark: every symmetry moves it somewhere else
        marked.append(type(item)(item.key, image, image.copy()))
    dm.splits.train = marked
    dataset = dm.dataset("train")
    positions = set()
    for _ in range(5):
        for k in range(len(dataset)):
            sample = dataset[k]
            assert torch.equal(sample["source"], sample["target"])
            positions.add(tuple(torch.nonzero(sample["source"][0]).flatten().tolist()))
    assert len(positions) > 2, "D4 should move the mark to several places"
    val = dm.dataset("val")
    assert val.paired_transform is None and dm.dataset("test").paired_transform is None


def test_synthetic_pairs_are_deterministic() -> None:
    a, b = SyntheticPairsDataModule(image_size=16, seed=5), SyntheticPairsDataModule(image_size=16, seed=5)
    a.setup(), b.setup()
    assert all(np.array_equal(x.photo, y.photo) and np.array_equal(x.sketch, y.sketch) for x, y in zip(a.splits.test, b.splits.test, strict=False))


def test_images_are_resized_with_opencv_bilinear_like_the_study() -> None:
    import cv2

    from face2sketch.pictures.images import resize_image

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (250, 200, 3), dtype=np.uint8)
    sketch = rng.integers(0, 256, (250, 200, 1), dtype=np.uint8)
    assert np.array_equal(resize_image(photo, 64), cv2.resize(photo, (64, 64), interpolation=cv2.INTER_LINEAR))
    assert resize_image(sketch, 64).shape == (64, 64, 1) and resize_image(sketch[..., 0], 64).shape == (64, 64)
    assert not np.array_equal(resize_image(photo, 64, "area"), resize_image(photo, 64))
    dm = SyntheticPairsDataModule(num_train=4, num_test=2, image_size=32, interpolation="area")
    dm.setup()
    assert dm.describe()["interpolation"] == "area"
    with pytest.raises(ConfigError, match="unknown data.interpolation 'nearest'"):
        SyntheticPairsDataModule(image_size=32, interpolation="nearest")


def _marked_module(**kwargs) -> SyntheticPairsDataModule:
    """A data module whose training images are black with one asymmetric white mark, identical on both sides."""
    dm = SyntheticPairsDataModule(num_train=24, num_test=2, image_size=16, batch_size=8, seed=3, **kwargs)
    dm.setup()
    marked = []
    for item in dm.splits.train:
        image = np.zeros((16, 16, 3), np.uint8)
        image[2, 5] = 255
        marked.append(type(item)(item.key, image, image.copy()))
    dm.splits.train = marked
    return dm


def _mark_after(element: int, row: int = 2, column: int = 5, side: int = 16) -> tuple[int, int]:
    """Where D4 ``element`` puts the pixel at (row, column) of a side x side image, by hand: a counter-clockwise quarter
    turn takes (r, c) to (side - 1 - c, r); the flip after the turns takes (r, c) to (r, side - 1 - c)."""
    for _ in range(element % 4):
        row, column = side - 1 - column, row
    return (row, side - 1 - column) if element >= 4 else (row, column)


def test_batched_dihedral_keeps_pairs_aligned_and_uses_all_eight_symmetries() -> None:
    """Each sample is turned by its own element, ``seed % 8`` of its augmentation seed, in the direction the paper
    protocol's copies turn: a turn the other way (``rot90(-rotations)``) or the flip before the turns moves the mark
    elsewhere; a batch turned by another sample's element, or input and target by different ones, fails too."""
    dm = _marked_module(paired_transforms=[A.D4(p=1.0)])
    assert dm.batched_augmentation
    assert [_mark_after(element) for element in range(8)] == [(2, 5), (10, 2), (13, 10), (5, 13), (2, 10), (10, 13), (13, 5), (5, 2)]
    seen = set()
    for epoch in range(3):
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(epoch)
        for raw, elements in zip(loader, _elements_by_name(dm, loader), strict=True):
            assert set(raw) == {"index", "keys"}, "in-memory batches travel as indices, not pixels"
            batch = dm.on_after_batch_transfer(raw, 0)
            assert torch.equal(batch["source"], batch["target"])
            for name, image in zip(batch["name"], batch["source"], strict=True):
                element = elements[name]
                expected = torch.zeros(3, 16, 16)
                expected[:, _mark_after(element)[0], _mark_after(element)[1]] = 1.0
                assert torch.equal(image, expected), f"{name}: the mark is not where D4 element {element} puts it"
                seen.add(element)
    assert seen == set(range(8)), "every symmetry is used"


def test_batched_path_serves_the_same_pixels_as_the_per_sample_path() -> None:
    """Without augmentation both paths give bit-identical batches, in the same order."""
    batched = SyntheticPairsDataModule(num_train=20, num_test=2, image_size=16, batch_size=4, paired_transforms=[], value_range=(-1.0, 1.0), seed=2)
    per_sample = SyntheticPairsDataModule(
        num_train=20, num_test=2, image_size=16, batch_size=4, paired_transforms=[], value_range=(-1.0, 1.0), seed=2, batched_augmentation=False
    )
    assert batched.batched_augmentation and not per_sample.batched_augmentation
    pairs = list(zip(batched.train_dataloader(), per_sample.train_dataloader(), strict=True))
    assert len(pairs) == 5
    for raw, expected in pairs:
        got = batched.on_after_batch_transfer(raw, 0)
        assert got["name"] == list(expected["name"])
        assert torch.equal(got["source"], expected["source"]) and torch.equal(got["target"], expected["target"])


def test_other_augmentations_fall_back_to_albumentations_per_sample() -> None:
    dm = SyntheticPairsDataModule(num_train=8, num_test=2, image_size=16, paired_transforms=[A.HorizontalFlip(p=0.5)])
    assert not dm.batched_augmentation
    batch = next(iter(dm.train_dataloader()))
    assert batch["source"].dtype == torch.float32 and "keys" not in batch
    assert dm.on_after_batch_transfer(batch, 0) is batch


def test_a_resumed_epoch_of_in_memory_batches_continues_where_it_stopped() -> None:
    dm = _marked_module(paired_transforms=[A.D4(p=1.0)])
    full = list(dm.train_dataloader())
    resumed_loader = dm.train_dataloader()
    resumed_loader.sampler.resume_within_epoch(0, 8)
    resumed = list(resumed_loader)
    assert len(resumed) == len(full) - 1
    for a, b in zip(full[1:], resumed, strict=True):
        assert a["keys"] == b["keys"] and torch.equal(a["index"], b["index"])


def test_the_training_order_and_augmentation_seeds_are_new_each_epoch_and_the_same_on_a_repeat() -> None:
    def epoch(sampler: EpochShuffleSampler, number: int) -> list:
        sampler.set_epoch(number)
        return list(sampler)

    sampler = EpochShuffleSampler(10, seed=5)
    first, again, second = epoch(sampler, 0), epoch(sampler, 0), epoch(sampler, 1)
    assert first == again == epoch(EpochShuffleSampler(10, seed=5), 0)  # a function of (seed, epoch) alone
    assert sorted(i for i, _ in first) == sorted(i for i, _ in second) == list(range(10))  # each epoch: every example once
    assert [i for i, _ in first] != [i for i, _ in second]
    seeds, next_seeds = dict(first), dict(second)
    assert len(set(seeds.values())) == 10 and all(seeds[i] != next_seeds[i] for i in range(10))  # each example, each epoch: its own
    assert [i for i, _ in epoch(EpochShuffleSampler(10, seed=6), 0)] != [i for i, _ in first]
    batched = epoch(EpochShuffleSampler(10, seed=5, batch_size=4), 1)
    assert [len(b) for b in batched] == [4, 4, 2] and [key for b in batched for key in b] == second


@pytest.mark.parametrize("prefix", [(42, 7), (0, 0), (2**40, 3), (1, 2, 3, 4, 5), ()], ids=["seed_epoch", "zeros", "two_word_seed", "past_the_pool", "empty"])
def test_an_epochs_seeds_at_once_are_the_seeds_one_at_a_time(prefix: tuple[int, ...]) -> None:
    """derive_seeds hashes (prefix, n) for many n as SeedSequence does one at a time: the same augmentation, cheaper."""
    for indices in ([*range(120), 2**31, 2**32 - 1], [5, 2**32, 2**40]):  # one word each; then two-word numbers
        assert derive_seeds(prefix, indices).tolist() == [derive_seed(*prefix, n) for n in indices]


# -- real-world augmentation and conditions: the input changes, the target never ----------------------------------------
INPUT_STAGES = (
    "p_background",
    "p_camera",
    "p_side_light",
    "p_exposure",
    "p_sketch_paper",
    "p_line_drawing",
    "p_pencil_weight",
    "p_sketch_jpeg",
    "p_sketch_blur",
)
NO_INPUT_STAGES = dict.fromkeys(INPUT_STAGES, 0.0)
EVERY_STAGE = dict.fromkeys((*INPUT_STAGES, "p_flip", "p_geometry", "p_dark_background"), 1.0)
STAGE_PROBABILITIES = st.fixed_dictionaries({name: st.floats(0.0, 1.0) for name in EVERY_STAGE})


def _fit(image: np.ndarray, kind: str) -> np.ndarray:
    return fit_to_model(image, kind, 32, "bilinear", 3)


def _studio_items(count: int = 2) -> list[Item]:
    """Studio pairs (photo, sketch and the photo's mask), each shifted a little, as the data module stores them when
    masks are needed: at model resolution (32 px) and at their stored resolution."""
    photo, sketch, _ = studio_pair(96, 80)
    items = []
    for index in range(count):
        stored_photo, stored_sketch = np.roll(photo, 3 * index, axis=1), np.roll(sketch, 3 * index, axis=1)
        mask = foreground_mask(stored_photo)
        items.append(
            Item(
                f"s{index}",
                _fit(stored_photo, "photo"),
                _fit(stored_sketch, "sketch"),
                original=(stored_photo, stored_sketch),
                mask=resize_image(mask, 32),
                original_mask=mask,
            )
        )
    return items


STUDIO_ITEMS = _studio_items()


@settings(max_examples=25, deadline=None)
@given(direction=st.sampled_from(sorted(DIRECTIONS)), probabilities=STAGE_PROBABILITIES, seed=st.integers(0, 2**31 - 1))
@example(direction="f2sk", probabilities=EVERY_STAGE, seed=0)
@example(direction="sk2f", probabilities=EVERY_STAGE, seed=0)
def test_a_training_pairs_target_follows_the_geometry_alone_whatever_the_input_stages(direction: str, probabilities: dict, seed: int) -> None:
    """Through the dataset: the target of any seed and any stage probabilities is the target with every input stage
    off (the geometry is drawn first, so it is the same). Guards the input stages applied to the target (the sketch
    stages to an f2sk target sketch, the photo stages to an sk2f target photo, e.g. the augmentation called for the
    target's kind), so that a model would learn to draw degraded pictures."""
    augmented = PairedImageDataset(STUDIO_ITEMS[:1], direction, (0.0, 1.0), augmentation=RealWorldAugmentation(**probabilities))
    geometry_only = PairedImageDataset(STUDIO_ITEMS[:1], direction, (0.0, 1.0), augmentation=RealWorldAugmentation(**{**probabilities, **NO_INPUT_STAGES}))
    assert torch.equal(augmented[(0, seed)]["target"], geometry_only[(0, seed)]["target"]), "an input stage changed the target"


@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
def test_with_every_stage_off_a_training_pair_is_its_items_source_and_target(direction: str) -> None:
    """Anchors the test above: input and target are not swapped, and with nothing drawn nothing changes; with every
    stage on, the input does change."""
    source_kind, target_kind = DIRECTIONS[direction]
    item = STUDIO_ITEMS[0]
    still = PairedImageDataset([item], direction, (-1.0, 1.0), augmentation=RealWorldAugmentation(**{**NO_INPUT_STAGES, "p_flip": 0.0, "p_geometry": 0.0}))
    sample = still[(0, 5)]
    assert torch.equal(sample["source"], to_tensor(getattr(item, source_kind), (-1.0, 1.0)))
    assert torch.equal(sample["target"], to_tensor(getattr(item, target_kind), (-1.0, 1.0)))
    changed = PairedImageDataset([item], direction, (-1.0, 1.0), augmentation=RealWorldAugmentation(**{**EVERY_STAGE, "p_flip": 0.0, "p_geometry": 0.0}))
    assert not torch.equal(changed[(0, 5)]["source"], sample["source"]) and torch.equal(changed[(0, 5)]["target"], sample["target"])


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
def test_a_condition_changes_the_models_input_and_never_its_target(direction: str, seed: int) -> None:
    """Every condition of the real set, for both directions: the target is the clean item's target, the input is the
    stored input changed by the condition (seeded by seed, condition, example) and then fitted, and differs from the
    clean fitted input. Guards a condition applied to the target, or a condition that changes nothing."""
    source_kind, target_kind = DIRECTIONS[direction]
    conditions = condition_set("real", source_kind)
    pairs = ConditionedPairs(STUDIO_ITEMS, direction, (0.0, 1.0), "real", _fit, seed)
    assert len(pairs) == 2 * len(conditions)
    for index in range(len(pairs)):
        sample, condition, example = pairs[index], list(conditions)[index // 2], index % 2
        item = STUDIO_ITEMS[example]
        assert (sample["condition"], sample["name"]) == (condition, item.name)
        assert torch.equal(sample["target"], to_tensor(getattr(item, target_kind), (0.0, 1.0))), f"{condition}: the target is not the clean one"
        stored, mask = item.full_resolution(source_kind), item.full_resolution_mask() if source_kind == "photo" else None
        expected = _fit(apply_condition(condition, conditions, stored, mask, seed, example), source_kind)
        assert torch.equal(sample["source"], to_tensor(expected, (0.0, 1.0))), f"{condition}: the input is not the stored input changed, then fitted"
        assert not np.array_equal(expected, _fit(stored, source_kind)), f"{condition}: the input is the clean one"


# -- per-sample augmentation, loaders and what a run records ------------------------------------------------------------------
def test_per_sample_augmentation_moves_input_and_target_alike_and_changes_the_input_alone() -> None:
    """Guards the per-sample path: the paired transform on input and target (not swapped, not one side only), the input
    transform on the input only, and neither on validation or test examples."""
    dm = SyntheticPairsDataModule(
        num_train=6, num_test=2, image_size=16, paired_transforms=[A.HorizontalFlip(p=1.0)], input_transforms=[A.InvertImg(p=1.0)], seed=1
    )
    dm.setup()
    assert not dm.batched_augmentation
    train, test = dm.dataset("train"), dm.dataset("test")
    for k, item in enumerate(dm.splits.train):
        sample = train[(k, 5)]
        assert torch.equal(sample["source"], to_tensor(np.ascontiguousarray(255 - item.photo[:, ::-1]), (0.0, 1.0))), f"{item.name}: input"
        assert torch.equal(sample["target"], to_tensor(np.ascontiguousarray(item.sketch[:, ::-1]), (0.0, 1.0))), f"{item.name}: target"
    for k, item in enumerate(dm.splits.test):
        assert torch.equal(test[k]["source"], to_tensor(item.photo, (0.0, 1.0))) and torch.equal(test[k]["target"], to_tensor(item.sketch, (0.0, 1.0)))


def test_evaluation_loaders_keep_the_split_order_in_batches_of_eval_batch_size() -> None:
    """Guards the batch sizes (training ``batch_size``, validation and test ``eval_batch_size``, the last batch kept) and
    the order of evaluation batches (the split's, unshuffled)."""
    dm = SyntheticPairsDataModule(num_train=10, num_test=7, image_size=8, batch_size=4, eval_batch_size=3, val_fraction=0.2, seed=2)
    dm.setup()
    assert (len(dm.splits.train), len(dm.splits.val), len(dm.splits.test)) == (8, 2, 7)
    test_batches = list(dm.test_dataloader())
    assert [len(batch["name"]) for batch in test_batches] == [3, 3, 1]
    assert [name for batch in test_batches for name in batch["name"]] == [item.name for item in dm.splits.test]
    assert [len(batch["name"]) for batch in dm.val_dataloader()] == [2]
    assert [len(batch["keys"].names) for batch in dm.train_dataloader()] == [4, 4]


def test_a_run_records_its_data_and_its_examples_by_name() -> None:
    """Guards ``describe`` (a run's metrics.json) and ``example_names`` (its examples.json), value by value."""
    dm = SyntheticPairsDataModule(num_train=10, num_test=4, image_size=8, val_fraction=0.2, interpolation="area", sketch_channels=1, seed=2)
    dm.setup()
    assert dm.describe() == {
        "source": repr(dm.source),
        "protocol": "standard",
        "leaky": False,
        "image_size": 8,
        "interpolation": "area",
        "sketch_channels": 1,
        "num_train": 8,
        "num_val": 2,
        "num_test": 4,
        "num_skipped_files": 0,
        "augmentation": None,
        "validation_conditions": None,
    }
    assert dm.example_names() == {side: [item.name for item in getattr(dm.splits, side)] for side in ("train", "val", "test")}
    assert sum(len(names) for names in dm.example_names().values()) == 14


def test_without_a_validation_split_there_is_nothing_to_validate() -> None:
    dm = SyntheticPairsDataModule(num_train=6, num_test=2, image_size=8, val_fraction=0.0)
    assert not dm.has_validation and dm.val_dataloader() == [] and len(dm.splits.train) == 6
