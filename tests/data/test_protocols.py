"""Evaluation protocols (``data/protocols.py``): which identities, or which symmetric copies, train, validate and
test, in exact numbers and exact members for a seed; and how an item names its copy and finds its stored pictures."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from face2sketch.core.errors import ConfigError, DataError
from face2sketch.data.protocols import LEAKY, PAPER_TEST_FRACTION, PROTOCOLS, Item, make_splits
from face2sketch.data.synthetic import studio_pair
from face2sketch.realworld.foreground import foreground_mask


def _items(keys: list[str], copies: int = 1) -> list[Item]:
    """Tiny items, ``copies`` per identity key, each picture different."""
    pictures = np.arange(len(keys) * copies * 12, dtype=np.uint8).reshape(-1, 2, 2, 3)
    return [Item(key, pictures[k * copies + c], pictures[k * copies + c][..., :1].copy()) for k, key in enumerate(keys) for c in range(copies)]


def _carved(units: list[str], fraction: float, rng: np.random.Generator) -> set[str]:
    """The units ``_carve`` takes for ``fraction``: at least one, ``round(len * fraction)`` of them, the first of a
    permutation drawn from ``rng``."""
    count = max(1, round(len(units) * fraction))
    return {units[i] for i in rng.permutation(len(units))[:count]}


def test_the_protocols_and_which_is_leaky() -> None:
    assert PROTOCOLS == ("standard", "paper") and LEAKY == {"standard": False, "paper": True}
    assert PAPER_TEST_FRACTION == 300 / 1504


def test_the_paper_protocol_splits_188_pairs_into_1204_training_and_300_test_copies_like_the_study(caplog: pytest.LogCaptureFixture) -> None:
    """Guards the study's split (``PAPER_TEST_FRACTION``, 300 of 1504) without the real data: 188 pairs, 8 copies each;
    validation is carved from the training copies by item (10 % of 1204: 120), the test fraction is not used; the
    warning says it is leaky, with those numbers."""
    items = _items([f"k{n:03d}" for n in range(188)])
    with caplog.at_level(logging.WARNING, logger="face2sketch.data.protocols"):
        splits = make_splits(items, dict.fromkeys((i.key for i in items), "train"), "paper", val_fraction=0.1, test_fraction=0.5, seed=3)
    assert caplog.messages == [
        "data.split=paper is LEAKY: 188 pairs x 8 symmetries split 1204/300 at random, so copies of one face are on both sides; "
        "use it only to compare with the study's tables"
    ]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1084, 120, 300)
    every = splits.train + splits.val + splits.test
    assert len({item.name for item in every}) == 1504 and splits.leaky
    assert sorted((item.key, item.rotations, item.flip) for item in every) == sorted((i.key, r, f) for i in items for r in range(4) for f in (False, True))
    # the members, for this seed: a permutation of the 1504 copies (test first), then one of the 1204 training ones
    rng = np.random.default_rng(3)
    copies = [(i.key, r, f) for i in items for r in range(4) for f in (False, True)]
    order = rng.permutation(1504)
    assert [(i.key, i.rotations, i.flip) for i in splits.test] == [copies[k] for k in order[:300]]
    rest = [copies[k] for k in order[300:]]
    chosen = set(rng.permutation(1204)[:120].tolist())
    assert [(i.key, i.rotations, i.flip) for i in splits.val] == [c for k, c in enumerate(rest) if k in chosen]


def test_the_standard_protocol_keeps_the_release_split_and_carves_validation_identities_by_seed() -> None:
    """Guards the release's sides (train folders train, test folders test) and the validation carve: by identity (both
    pictures of one person on one side), ``round(10 * 0.2) = 2`` identities, those the seed's permutation picks."""
    keys = [f"t{n}" for n in range(10)] + ["x0", "x1", "x2"]
    items = _items(keys, copies=2)
    release = {key: "test" if key.startswith("x") else "train" for key in keys}
    splits = make_splits(items, release, "standard", val_fraction=0.2, test_fraction=0.9, seed=5)
    validation = _carved(sorted(keys[:10]), 0.2, np.random.default_rng(5))
    assert len(validation) == 2 and {i.key for i in splits.val} == validation
    assert [i.key for i in splits.val] == [key for key in keys[:10] if key in validation for _ in range(2)]
    assert [i.key for i in splits.train] == [key for key in keys[:10] if key not in validation for _ in range(2)]
    assert [i.key for i in splits.test] == ["x0", "x0", "x1", "x1", "x2", "x2"] and not splits.leaky


def test_without_a_release_split_the_test_identities_are_carved_first_then_validation(caplog: pytest.LogCaptureFixture) -> None:
    """Guards the order of the two carves and the fractions each uses: 20 identities, 25 % test (5), then 10 % of the 15
    left (round(1.5) = 2) for validation, both from the one generator of the seed; and the log line that says so."""
    keys = [f"p{n:02d}" for n in range(20)]
    with caplog.at_level(logging.INFO, logger="face2sketch.data.protocols"):
        splits = make_splits(_items(keys), dict.fromkeys(keys), "standard", val_fraction=0.1, test_fraction=0.25, seed=8)
    assert caplog.messages == ["the data has no release split: carving 25% of identities as the test set (seed 8)"]
    rng = np.random.default_rng(8)
    test = _carved(keys, 0.25, rng)
    validation = _carved([key for key in keys if key not in test], 0.1, rng)
    assert (len(test), len(validation)) == (5, 2)
    assert [i.key for i in splits.test] == [k for k in keys if k in test] and [i.key for i in splits.val] == [k for k in keys if k in validation]
    assert [i.key for i in splits.train] == [k for k in keys if k not in test | validation]


def test_a_fraction_carves_at_least_one_identity_and_never_all_of_them() -> None:
    """Guards ``max(1, ...)``, the ``>=`` that keeps one identity to train on, and zero carving nothing."""
    items, release = _items(["a", "b", "c", "t"]), {"a": "train", "b": "train", "c": "train", "t": "test"}
    assert len(make_splits(items, release, "standard", val_fraction=0.1, test_fraction=0.2, seed=0).val) == 1, "round(0.3) is 0: one anyway"
    assert len(make_splits(items, release, "standard", val_fraction=0.6, test_fraction=0.2, seed=0).val) == 2, "round(1.8): two of three"
    nothing = make_splits(items, release, "standard", val_fraction=0.0, test_fraction=0.2, seed=0)
    assert nothing.val == [] and [i.key for i in nothing.train] == ["a", "b", "c"]
    with pytest.raises(ConfigError, match="^cannot carve 84% of 3 examples and keep any for training: lower the fraction$"):
        make_splits(items, release, "standard", val_fraction=0.84, test_fraction=0.2, seed=0)


@pytest.mark.parametrize("side", ["train", "test"])
def test_a_release_side_left_without_pairs_is_named_in_one_line(side: str) -> None:
    other = "test" if side == "train" else "train"
    with pytest.raises(DataError, match=f"^no usable pair is left in the {side} folders: every one was skipped \\(see skipped.json and the log\\)$"):
        make_splits(_items(["a", "b"]), {"a": other, "b": other}, "standard", val_fraction=0.0, test_fraction=0.2, seed=0)


@pytest.mark.parametrize(
    ("rotations", "flip", "name"), [(0, False, "k"), (0, True, "k_r0f"), (1, False, "k_r90"), (2, True, "k_r180f"), (3, False, "k_r270"), (3, True, "k_r270f")]
)
def test_a_copy_is_named_by_its_key_and_its_symmetry(rotations: int, flip: bool, name: str) -> None:
    item = Item("k", np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 1), np.uint8), rotations=rotations, flip=flip)
    assert item.name == name and item.variant == name[2:]


def test_a_copy_finds_its_stored_pictures_and_mask_turned_as_it_was() -> None:
    """Guards ``full_resolution``: the stored photo or sketch (not the other, not the model-size one) under the copy's
    own symmetry (one quarter turn counter-clockwise, then the flip); the stored mask likewise, or, when the data module
    kept none, the mask computed from the turned stored photo."""
    photo, sketch, _ = studio_pair(48, 40)
    mask = foreground_mask(photo)
    small = Item("k", photo[::4, ::4], sketch[::4, ::4, None], rotations=1, flip=True, original=(photo, sketch), original_mask=mask)
    turned = {name: np.ascontiguousarray(np.swapaxes(image, 0, 1)[::-1, ::-1]) for name, image in (("photo", photo), ("sketch", sketch), ("mask", mask))}
    assert np.array_equal(small.full_resolution("photo"), turned["photo"]) and np.array_equal(small.full_resolution("sketch"), turned["sketch"])
    assert np.array_equal(small.full_resolution_mask(), turned["mask"])
    computed = Item("k", photo[::4, ::4], sketch[::4, ::4, None], rotations=1, flip=True, original=(photo, sketch))
    assert np.array_equal(computed.full_resolution_mask(), foreground_mask(turned["photo"]))
    unstored = Item("k", photo, sketch[..., None])
    assert unstored.full_resolution("photo") is photo and unstored.full_resolution("sketch").shape == (48, 40, 1)
    upright = Item("k", photo[::4, ::4], sketch[::4, ::4, None], original=(photo, sketch))  # an item is no copy unless told
    assert (upright.name, upright.rotations, upright.flip) == ("k", 0, False)
    assert np.array_equal(upright.full_resolution("photo"), photo) and np.array_equal(upright.full_resolution("sketch"), sketch)
