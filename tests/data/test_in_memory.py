"""In-memory training pairs (``data/in_memory.py``): which augmentations batches can apply as tensor operations, the
split held as one uint8 tensor (input channels first), and a batch's indices grouped into runs of one D4 element."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
import torch

from face2sketch.data.in_memory import BatchKeys, InMemoryPairs, is_dihedral_only
from face2sketch.data.protocols import Item


class _D4Twin(A.D4):
    """A D4 that is not the D4 class itself: the batched path must not take it for the study's augmentation."""


@pytest.mark.parametrize(
    ("paired", "inputs", "expected"),
    [
        ([], [], True),
        ([A.D4(p=1.0)], [], True),
        ([A.D4(p=0.99)], [], False),
        ([A.D4(p=1.0), A.D4(p=1.0)], [], False),
        ([A.HorizontalFlip(p=1.0)], [], False),
        ([_D4Twin(p=1.0)], [], False),
        ([A.D4(p=1.0)], [A.GaussNoise(p=0.5)], False),
        ([], [A.GaussNoise(p=0.5)], False),
    ],
    ids=["none", "d4", "d4-sometimes", "d4-twice", "hflip", "d4-subclass", "d4-and-input-noise", "input-noise"],
)
def test_only_the_studys_augmentation_or_none_runs_as_tensor_operations(paired: list, inputs: list, expected: bool) -> None:
    """Guards each condition of the rule: anything but D4 at p=1 alone (or nothing) must go through albumentations."""
    assert is_dihedral_only(paired, inputs) is expected


def _items(count: int = 4) -> list[Item]:
    rng = np.random.default_rng(0)
    return [Item(f"n{k}", rng.integers(0, 256, (3, 5, 3), dtype=np.uint8), rng.integers(0, 256, (3, 5, 1), dtype=np.uint8)) for k in range(count)]


@pytest.mark.parametrize(("direction", "source", "target"), [("f2sk", "photo", "sketch"), ("sk2f", "sketch", "photo")])
def test_the_split_is_one_uint8_tensor_with_the_input_channels_first(direction: str, source: str, target: str) -> None:
    """Guards the channel order (input, then target) and ``source_channels``, where a batch is cut into input and target."""
    items = _items()
    pairs = InMemoryPairs(items, direction, augment=True)
    assert pairs.source_channels == getattr(items[0], source).shape[2] and len(pairs) == 4 and pairs.names == ["n0", "n1", "n2", "n3"]
    expected = torch.stack([torch.from_numpy(np.concatenate([getattr(i, source), getattr(i, target)], axis=2)).permute(2, 0, 1) for i in items])
    assert pairs.pairs.dtype == torch.uint8 and torch.equal(pairs.pairs, expected)


def test_a_batch_is_its_indices_grouped_by_d4_element_in_runs() -> None:
    """Elements are ``seed % 8``: seeds 3, 8, 11, 16, 13 are elements 3, 0, 3, 0, 5; the samples are ordered by element,
    stably, and each run is (element, start, end). A wrong modulus, an unstable order or an off-by-one run fails here."""
    pairs = InMemoryPairs(_items(), "f2sk", augment=True)
    batch = pairs[[(0, 3), (1, 8), (2, 11), (3, 16), (1, 13)]]
    assert batch["index"].tolist() == [1, 3, 0, 2, 1]
    assert batch["keys"] == BatchKeys(["n1", "n3", "n0", "n2", "n1"], [(0, 0, 2), (3, 2, 4), (5, 4, 5)])


def test_without_augmentation_a_batch_is_one_run_of_the_identity_in_the_samplers_order() -> None:
    batch = InMemoryPairs(_items(), "sk2f", augment=False)[[(2, 7), (0, 5), (3, 1)]]
    assert batch["index"].tolist() == [2, 0, 3] and batch["keys"] == BatchKeys(["n2", "n0", "n3"], [(0, 0, 3)])


def test_batch_keys_compare_by_names_and_runs_and_are_not_hashable() -> None:
    keys = BatchKeys(["a", "b"], [(0, 0, 2)])
    assert keys == BatchKeys(["a", "b"], [(0, 0, 2)])
    assert keys != BatchKeys(["a", "b"], [(0, 0, 1), (1, 1, 2)]) and keys != BatchKeys(["b", "a"], [(0, 0, 2)])
    assert keys != (["a", "b"], [(0, 0, 2)])
    with pytest.raises(TypeError):
        hash(keys)
