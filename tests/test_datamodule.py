"""Protocols, channel layouts, value ranges and paired augmentation of the data module."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch

from face2sketch.data import FolderPairsDataModule, SyntheticPairsDataModule
from face2sketch.data.protocols import Item, make_splits
from face2sketch.data.sampling import EpochShuffleSampler, derive_seed, derive_seeds
from face2sketch.errors import ConfigError


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
    photo = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    items = [Item("a", photo, photo.copy())]
    s = make_splits(items, {"a": "train"}, "paper", val_fraction=0.2, test_fraction=0.2, seed=0)
    variants = s.train + s.val + s.test
    assert len(variants) == 8
    assert len({v.photo.tobytes() for v in variants}) == 8
    assert all(np.array_equal(v.photo, v.sketch) for v in variants)


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


def _d4(image: torch.Tensor) -> list[torch.Tensor]:
    turns = [torch.rot90(image, k, dims=(-2, -1)) for k in range(4)]
    return turns + [t.flip(-1) for t in turns]


@pytest.mark.parametrize(
    ("direction", "value_range", "sketch_channels"), [("f2sk", (0.0, 1.0), 3), ("sk2f", (-1.0, 1.0), 3), ("f2sk", (0.0, 1.0), 1), ("sk2f", (-1.0, 1.0), 1)]
)
def test_batches_hold_each_pair_in_the_direction_layout_and_value_range(direction: str, value_range: tuple[float, float], sketch_channels: int) -> None:
    """Every value of a batch is its example's uint8 pixel scaled to the model's range: test batches as the examples
    are, training batches (the in-memory D4 path) as one of the 8 symmetries, the same one for input and target."""
    dm = SyntheticPairsDataModule(
        num_train=6, num_test=2, image_size=24, direction=direction, value_range=value_range, sketch_channels=sketch_channels, batch_size=4
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
    train = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    items = {item.name: item for item in dm.splits.train}
    assert train["source"].shape == (4, channels[source_kind], 24, 24) and train["target"].shape == (4, channels[target_kind], 24, 24)
    for k, name in enumerate(train["name"]):
        source, target = (_scaled(getattr(items[name], kind), value_range) for kind in (source_kind, target_kind))
        matches = [
            e
            for e, (s, t) in enumerate(zip(_d4(source), _d4(target), strict=True))
            if torch.allclose(train["source"][k], s, atol=1e-6, rtol=0) and torch.allclose(train["target"][k], t, atol=1e-6, rtol=0)
        ]
        assert matches, f"{name}: the training sample is no symmetry of its example scaled to {value_range}"


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

    from face2sketch.data.images import resize_image

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


def test_batched_dihedral_keeps_pairs_aligned_and_uses_all_eight_symmetries() -> None:
    dm = _marked_module(paired_transforms=[A.D4(p=1.0)])
    assert dm.batched_augmentation
    positions = set()
    for epoch in range(3):
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(epoch)
        for raw in loader:
            assert set(raw) == {"index", "keys"}, "in-memory batches travel as indices, not pixels"
            batch = dm.on_after_batch_transfer(raw, 0)
            assert torch.equal(batch["source"], batch["target"])
            for image in batch["source"]:
                positions.add(tuple(torch.nonzero(image[0]).flatten().tolist()))
    # the mark at (2, 5) of a 16x16 image has exactly 8 images under D4
    assert len(positions) == 8


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
