"""The datasets a data module hands its loaders: one split's pairs as tensors, augmented for training, and the
validation pairs again under every condition of a named set."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import albumentations as A
import numpy as np
from torch.utils.data import Dataset

from face2sketch.core.directions import DIRECTIONS
from face2sketch.data.protocols import Item
from face2sketch.pictures.tensors import to_tensor
from face2sketch.realworld.augmentation import RealWorldAugmentation
from face2sketch.realworld.conditions import condition_set, input_under_condition


class PairedImageDataset(Dataset):
    """Items of one split as (source, target) tensors, with paired augmentation applied identically to both."""

    def __init__(
        self,
        items: Sequence[Item],
        direction: str,
        value_range: tuple[float, float],
        paired_transform: A.Compose | None = None,
        input_transform: A.Compose | None = None,
        augmentation: RealWorldAugmentation | None = None,
    ) -> None:
        self.items = list(items)
        self.source_kind, self.target_kind = DIRECTIONS[direction]
        self.value_range = value_range
        self.paired_transform = paired_transform
        self.input_transform = input_transform
        self.augmentation = augmentation
        self._draws = np.random.default_rng()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """``key`` is an index, or (index, augmentation seed) as :class:`EpochShuffleSampler` yields it."""
        index, augmentation_seed = key if isinstance(key, tuple) else (key, None)
        if augmentation_seed is not None:
            self.reseed(augmentation_seed)
        item = self.items[index]
        if self.augmentation is not None:
            assert item.mask is not None, "the data module computes masks for real-world augmentation"
            seed = int(self._draws.integers(2**31)) if augmentation_seed is None else augmentation_seed
            photo, sketch = self.augmentation(item.photo, item.sketch, item.mask, self.source_kind, seed)
            source, target = (photo, sketch) if self.source_kind == "photo" else (sketch, photo)
        else:
            source, target = getattr(item, self.source_kind), getattr(item, self.target_kind)
        if self.paired_transform is not None:
            out = self.paired_transform(image=source, target_image=target)
            source, target = out["image"], out["target_image"]
        if self.input_transform is not None:
            source = self.input_transform(image=source)["image"]
        return {"source": to_tensor(source, self.value_range), "target": to_tensor(target, self.value_range), "name": item.name}

    def reseed(self, seed: int) -> None:
        """Restart the augmentation pipelines' random streams from ``seed``."""
        for offset, transform in enumerate((self.paired_transform, self.input_transform)):
            if transform is not None:
                transform.set_random_seed(seed + offset)


class ConditionedPairs(Dataset):
    """The validation pairs again, each input under every condition of a named set (``face2sketch.realworld.conditions``),
    made once: the "real conditions" validation images that, with the clean ones, choose a checkpoint.

    A condition changes the stored input (at its stored resolution, as a user's picture would be) before it is fitted
    to the model; the target stays the clean one. Items are (condition, example) in that order.
    """

    def __init__(
        self,
        items: Sequence[Item],
        direction: str,
        value_range: tuple[float, float],
        condition_set_name: str,
        fit: Callable[[np.ndarray, str], np.ndarray],
        seed: int,
    ) -> None:
        self.source_kind, self.target_kind = DIRECTIONS[direction]
        self.value_range = value_range
        conditions = condition_set(condition_set_name, self.source_kind)
        self.entries: list[tuple[str, str, np.ndarray, np.ndarray]] = []
        for condition in conditions:
            for example, item in enumerate(items):
                changed = input_under_condition(item, self.source_kind, condition, conditions, seed, example)
                self.entries.append((condition, item.name, fit(changed, self.source_kind), getattr(item, self.target_kind)))
        self.conditions = list(conditions)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict:
        condition, name, source, target = self.entries[index]
        return {"source": to_tensor(source, self.value_range), "target": to_tensor(target, self.value_range), "name": name, "condition": condition}
