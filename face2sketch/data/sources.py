"""Where pairs come from: image folders on disk or the procedural generator.

A source returns decoded pairs at their stored resolution; the data module resizes and
caches them, so every file is decoded once per process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError

from face2sketch.data.pairing import Pair, find_pairs
from face2sketch.data.synthetic import synthetic_key, synthetic_pair
from face2sketch.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class DecodedPair:
    """One identity in memory: photo HxWx3 and sketch HxW, uint8, and its release split."""

    key: str
    photo: np.ndarray
    sketch: np.ndarray
    split: str | None


class PairSource(Protocol):
    def check(self) -> None:
        """Raise a DataError now if the pairs cannot be had, before any run folder fills up."""

    def load(self) -> list[DecodedPair]:
        """All pairs, decoded."""


def decode_image(path: Path, mode: str) -> np.ndarray:
    """Read an image file into a uint8 array in PIL ``mode`` ('RGB' or 'L'), converting explicitly.

    CUHK stores some testing sketches as RGB and some as L, so the mode is never taken from the file.
    """
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert(mode))
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"cannot decode image '{path}' ({err}): replace or remove the file") from err


class FolderSource:
    """Pairs found by identity key under a folder in any supported layout; the folder is listed once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    @cached_property
    def pairs(self) -> list[Pair]:
        return find_pairs(self.root)

    def check(self) -> None:
        self.pairs  # noqa: B018 - listing the folder raises the user's data error early

    def load(self) -> list[DecodedPair]:
        return [DecodedPair(p.key, decode_image(p.photo, "RGB"), decode_image(p.sketch, "L"), p.split) for p in self.pairs]

    def __repr__(self) -> str:
        return f"FolderSource(root='{self.root}')"


class SyntheticSource:
    """Deterministic procedural pairs; the first ``num_train`` are the training split."""

    def __init__(self, num_train: int = 48, num_test: int = 16, seed: int = 0) -> None:
        if num_train < 2 or num_test < 1:
            raise DataError(f"synthetic data needs num_train >= 2 and num_test >= 1, got {num_train} and {num_test}")
        self.num_train, self.num_test, self.seed = num_train, num_test, seed

    def check(self) -> None:
        return None

    def load(self) -> list[DecodedPair]:
        pairs = []
        for index in range(self.num_train + self.num_test):
            photo, sketch = synthetic_pair(self.seed, index)
            pairs.append(DecodedPair(synthetic_key(index), photo, sketch, "train" if index < self.num_train else "test"))
        return pairs

    def __repr__(self) -> str:
        return f"SyntheticSource(num_train={self.num_train}, num_test={self.num_test}, seed={self.seed})"
