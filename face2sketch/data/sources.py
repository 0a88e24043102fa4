"""Where pairs come from: image folders on disk or the procedural generator.

A source returns decoded pairs at their stored resolution; the data module resizes and
caches them, so every file is decoded once per process. Files that cannot be used (unpaired,
ambiguous, empty, corrupt, truncated, not an image, too large) are returned by name with the
reason, so that one bad file never stops a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from face2sketch.data.pairing import Pair, SkippedFile, list_pairs
from face2sketch.data.synthetic import synthetic_key, synthetic_pair
from face2sketch.pictures.images import UnusableImage, decode_image


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

    def load(self) -> tuple[list[DecodedPair], list[SkippedFile]]:
        """All usable pairs, decoded, and the files that were left out with the reason."""


# 25 megapixels: far above any face photo or sketch (CUHK's are 200x250 = 0.05 MP), far below what exhausts memory.
DEFAULT_MAX_IMAGE_PIXELS = 25_000_000


class FolderSource:
    """Pairs found by identity key under a folder in any supported layout; the folder is listed once, each file decoded once."""

    def __init__(self, root: str | Path, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
        self.root = Path(root).expanduser()
        self.max_image_pixels = max_image_pixels

    @cached_property
    def listing(self) -> tuple[list[Pair], list[SkippedFile]]:
        return list_pairs(self.root)

    def check(self) -> None:
        self.listing  # noqa: B018 - listing the folder raises the user's data error early

    def load(self) -> tuple[list[DecodedPair], list[SkippedFile]]:
        pairs, skipped = self.listing
        decoded: list[DecodedPair] = []
        skipped = list(skipped)
        for pair in pairs:
            images: dict[Path, np.ndarray] = {}
            for path, mode in ((pair.photo, "RGB"), (pair.sketch, "L")):
                try:
                    images[path] = decode_image(path, mode, self.max_image_pixels, "data.max_image_pixels")
                except UnusableImage as err:
                    skipped.append(SkippedFile(path, err.problem, err.detail))
            if len(images) == 2:
                decoded.append(DecodedPair(pair.key, images[pair.photo], images[pair.sketch], pair.split))
            else:
                skipped += [SkippedFile(path, "partner unusable", f"the other image of identity '{pair.key}' cannot be used") for path in images]
        return decoded, skipped

    def __repr__(self) -> str:
        return f"FolderSource(root='{self.root}')"


class SyntheticSource:
    """Deterministic procedural pairs; the first ``num_train`` are the training split."""

    def __init__(self, num_train: int = 48, num_test: int = 16, seed: int = 0) -> None:
        self.num_train, self.num_test, self.seed = num_train, num_test, seed

    def check(self) -> None:
        return None

    def load(self) -> tuple[list[DecodedPair], list[SkippedFile]]:
        pairs = []
        for index in range(self.num_train + self.num_test):
            photo, sketch = synthetic_pair(self.seed, index)
            pairs.append(DecodedPair(synthetic_key(index), photo, sketch, "train" if index < self.num_train else "test"))
        return pairs, []

    def __repr__(self) -> str:
        return f"SyntheticSource(num_train={self.num_train}, num_test={self.num_test}, seed={self.seed})"
