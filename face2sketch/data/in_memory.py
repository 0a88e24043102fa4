"""The study's augmentation without a per-sample pipeline: training pairs held in memory as uint8 tensors, a batch
sliced from them and turned by its D4 element on the training device."""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset

from face2sketch.core.directions import DIRECTIONS
from face2sketch.data.protocols import Item


def is_dihedral_only(paired_transforms: Sequence[A.BasicTransform], input_transforms: Sequence[A.BasicTransform]) -> bool:
    """Whether the augmentation is the study's (D4 with p=1, or none), which batches can apply as tensor operations."""
    if input_transforms:
        return False
    return not paired_transforms or (len(paired_transforms) == 1 and type(paired_transforms[0]) is A.D4 and paired_transforms[0].p == 1.0)


class BatchKeys:
    """The host-side part of an in-memory batch: its examples' names and its runs of D4 elements.

    One object rather than lists: the DataLoader and Lightning walk every batch before it reaches the model,
    descending into each list and tuple item by item, and pass an object of their unknown kind whole.
    """

    __slots__ = ("names", "runs")

    def __init__(self, names: list[str], runs: list[tuple[int, int, int]]) -> None:
        self.names, self.runs = names, runs

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BatchKeys) and (self.names, self.runs) == (other.names, other.runs)

    __hash__ = None  # type: ignore[assignment]


class InMemoryPairs(Dataset):
    """A split held as one uint8 Nx(Cs+Ct)xHxW tensor (source channels, then target channels), served as indices.

    A key is a list of (index, augmentation seed) pairs, as :class:`EpochShuffleSampler` yields with a batch size.
    A batch holds no pixels: the sample indices, ordered so that samples with the same D4 element (``seed % 8``)
    are neighbours, and (:class:`BatchKeys`) the names and those runs as (element, start, end).
    :meth:`PairedDataModule.on_after_batch_transfer`
    gathers the pixels on the training device, where the whole split is copied once, and turns each run with one
    tensor operation; no step waits for the host.
    """

    def __init__(self, items: Sequence[Item], direction: str, augment: bool) -> None:
        source_kind, target_kind = DIRECTIONS[direction]
        self.source_channels = getattr(items[0], source_kind).shape[2]
        self.pairs = torch.stack([torch.from_numpy(np.concatenate([getattr(i, source_kind), getattr(i, target_kind)], axis=2)).permute(2, 0, 1) for i in items])
        self.names = [i.name for i in items]
        self.augment = augment

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, keys: list[tuple[int, int]]) -> dict:
        elements = [seed % 8 if self.augment else 0 for _, seed in keys]
        order = sorted(range(len(keys)), key=elements.__getitem__)  # stable: without augmentation, the sampler's order
        runs: list[tuple[int, int, int]] = []
        for position, i in enumerate(order):
            if runs and runs[-1][0] == elements[i]:
                runs[-1] = (elements[i], runs[-1][1], position + 1)
            else:
                runs.append((elements[i], position, position + 1))
        indices = [keys[i][0] for i in order]
        return {"index": torch.tensor(indices), "keys": BatchKeys([self.names[i] for i in indices], runs)}


# numpy.random.SeedSequence's hash constants (numpy/random/bit_generator.pyx)
