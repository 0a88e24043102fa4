"""Evaluation protocols: which identities (or augmented copies) train, validate and test.

``standard`` is the honest default (the release's train/test identities, validation carved
from training identities). ``paper`` reproduces the study: all pairs augmented 8x by the
symmetries of the square *before* a random split, so copies of one face sit on both sides
of it. It is leaky and labelled so everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from face2sketch.core.errors import ConfigError, DataError
from face2sketch.pictures.images import dihedral
from face2sketch.realworld.foreground import foreground_mask

log = logging.getLogger(__name__)

PROTOCOLS = ("standard", "paper")
LEAKY = {"standard": False, "paper": True}
PAPER_TEST_FRACTION = 300 / 1504  # the study's 1204/300 split of 1504 augmented pairs


@dataclass(frozen=True)
class Item:
    """One example: identity key, the arrays at model resolution (HxWxC uint8), and how to get the originals.

    ``original`` holds the decoded full-resolution (photo, sketch) as stored; ``rotations``/``flip`` name the
    symmetry a paper-protocol copy applied, so metrics can be computed at the target's own resolution. ``mask`` and
    ``original_mask`` are the photo's foreground mask (uint8 HxW, 255 = person) at model and at stored resolution,
    where the data module computed them (for real-world augmentation and real-conditions validation).
    """

    key: str
    photo: np.ndarray
    sketch: np.ndarray
    rotations: int = 0
    flip: bool = False
    original: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)
    original_mask: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def variant(self) -> str:
        return "" if (self.rotations, self.flip) == (0, False) else f"r{90 * self.rotations}{'f' if self.flip else ''}"

    @property
    def name(self) -> str:
        return f"{self.key}_{self.variant}" if self.variant else self.key

    def full_resolution(self, kind: str) -> np.ndarray:
        """The stored 'photo' or 'sketch' at its original resolution, with this item's symmetry applied."""
        if self.original is None:
            return getattr(self, kind)
        image = self.original[0] if kind == "photo" else self.original[1]
        return dihedral(image, self.rotations, self.flip)

    def full_resolution_mask(self) -> np.ndarray:
        """The photo's foreground mask at its original resolution: the data module's, or computed now from the photo."""
        if self.original_mask is not None:
            return dihedral(self.original_mask, self.rotations, self.flip)
        return foreground_mask(self.full_resolution("photo"))


@dataclass
class Splits:
    train: list[Item]
    val: list[Item]
    test: list[Item]
    protocol: str

    @property
    def leaky(self) -> bool:
        return LEAKY[self.protocol]


DIHEDRAL_VARIANTS = [(r, f) for r in range(4) for f in (False, True)]


def _carve(items: list[Item], fraction: float, rng: np.random.Generator, by_key: bool) -> tuple[list[Item], list[Item]]:
    """Split items into (rest, carved), carving ``fraction`` of identities (by_key) or of items; 0 carves nothing."""
    if fraction == 0:
        return list(items), []
    units = sorted({i.key for i in items}) if by_key else list(range(len(items)))
    n = max(1, round(len(units) * fraction))
    if n >= len(units):
        raise ConfigError(f"cannot carve {fraction:.0%} of {len(units)} examples and keep any for training: lower the fraction")
    chosen = set(rng.permutation(len(units))[:n].tolist())
    if by_key:
        carved_keys = {units[i] for i in chosen}
        return [i for i in items if i.key not in carved_keys], [i for i in items if i.key in carved_keys]
    return [it for k, it in enumerate(items) if k not in chosen], [it for k, it in enumerate(items) if k in chosen]


def make_splits(items: list[Item], release_split: dict[str, str | None], protocol: str, val_fraction: float, test_fraction: float, seed: int) -> Splits:
    """Build train/val/test for a protocol; ``release_split`` maps key -> 'train'/'test'/None.

    ``val_fraction=0`` leaves the validation split empty: every training example trains, as in the study.
    """
    rng = np.random.default_rng(seed)
    if protocol == "standard":
        if any(release_split[i.key] is None for i in items):
            log.info("the data has no release split: carving %.0f%% of identities as the test set (seed %d)", 100 * test_fraction, seed)
            train_side, test = _carve(items, test_fraction, rng, by_key=True)
        else:
            train_side = [i for i in items if release_split[i.key] == "train"]
            test = [i for i in items if release_split[i.key] == "test"]
            for side, kept in (("train", train_side), ("test", test)):
                if not kept:
                    raise DataError(f"no usable pair is left in the {side} folders: every one was skipped (see skipped.json and the log)")
        train, val = _carve(train_side, val_fraction, rng, by_key=True)
        return Splits(train, val, test, protocol)
    augmented = [
        replace(i, photo=dihedral(i.photo, r, f), sketch=dihedral(i.sketch, r, f), mask=None if i.mask is None else dihedral(i.mask, r, f), rotations=r, flip=f)
        for i in items
        for r, f in DIHEDRAL_VARIANTS
    ]
    order = rng.permutation(len(augmented))
    n_test = round(len(augmented) * PAPER_TEST_FRACTION)
    test = [augmented[k] for k in order[:n_test]]
    train_side = [augmented[k] for k in order[n_test:]]
    train, val = _carve(train_side, val_fraction, rng, by_key=False)
    log.warning(
        "data.split=paper is LEAKY: %d pairs x 8 symmetries split %d/%d at random, so copies of one face are on "
        "both sides; use it only to compare with the study's tables",
        len(items),
        len(train_side),
        len(test),
    )
    return Splits(train, val, test, protocol)
