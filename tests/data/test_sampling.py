"""The training order and augmentation seeds (``data/sampling.py``) as values: each epoch's order is torch's permutation
seeded by derive_seed(seed, epoch), each example's seed derive_seed(seed, epoch, index), batches cut in order, and a
resume leaves out exactly the samples it is told, in its epoch alone (through the loaders and ExactResume:
tests/training/test_resume.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from face2sketch.data.sampling import EpochShuffleSampler, derive_seed


def expected_epoch(size: int, seed: int, epoch: int) -> list[tuple[int, int]]:
    """The (index, augmentation seed) pairs of an epoch, worked out from the documented recipe."""
    order = torch.randperm(size, generator=torch.Generator().manual_seed(derive_seed(seed, epoch))).tolist()
    return [(index, derive_seed(seed, epoch, index)) for index in order]


def test_derive_seed_is_numpys_seed_sequence_of_the_numbers() -> None:
    """A seed is SeedSequence's first 32-bit word for the numbers in their order: another order is another seed."""
    assert derive_seed(42, 7) == int(np.random.SeedSequence([42, 7]).generate_state(1)[0])
    assert derive_seed(42, 7, 3) == int(np.random.SeedSequence([42, 7, 3]).generate_state(1)[0])
    assert derive_seed(42, 7) != derive_seed(7, 42)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 40), seed=st.integers(0, 2**40), epoch=st.integers(0, 50))
def test_an_epoch_is_the_seeded_permutation_with_each_examples_own_seed(size: int, seed: int, epoch: int) -> None:
    """Guards against the seed and epoch swapped or left out of either derivation, or an index's seed taken from its
    place in the order instead of the index itself."""
    sampler = EpochShuffleSampler(size, seed)
    sampler.set_epoch(epoch)
    assert list(sampler) == expected_epoch(size, seed, epoch)
    assert len(sampler) == size


@pytest.mark.parametrize(("size", "batch_size", "lengths"), [(10, 4, [4, 4, 2]), (8, 4, [4, 4]), (3, 5, [3]), (7, 1, [1] * 7)])
def test_batches_cut_the_epoch_in_order_with_the_last_one_short(size: int, batch_size: int, lengths: list[int]) -> None:
    sampler = EpochShuffleSampler(size, seed=5, batch_size=batch_size)
    sampler.set_epoch(2)
    batches = list(sampler)
    assert [len(b) for b in batches] == lengths and len(sampler) == len(lengths)
    assert [key for batch in batches for key in batch] == expected_epoch(size, 5, 2)


@pytest.mark.parametrize("batch_size", [None, 3])
def test_a_resume_leaves_out_the_samples_done_in_its_epoch_and_no_other(batch_size: int | None) -> None:
    sampler = EpochShuffleSampler(10, seed=9, batch_size=batch_size)
    sampler.resume_within_epoch(1, 6)
    for epoch, skipped in ((0, 0), (1, 6), (2, 0)):
        sampler.set_epoch(epoch)
        keys = [key for entry in sampler for key in (entry if batch_size else [entry])]
        assert keys == expected_epoch(10, 9, epoch)[skipped:], epoch
    sampler.set_epoch(1)
    if batch_size:
        assert [len(b) for b in sampler] == [3, 1], "the rest of the epoch in whole batches from the resume on"


@settings(max_examples=40, deadline=None)
@given(
    prefix=st.lists(st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32, 2**96)), min_size=1, max_size=3),
    last=st.lists(st.integers(0, 2**32 - 1), max_size=6),
)
def test_an_epochs_seeds_at_once_are_seed_sequences_for_prefixes_of_any_width(prefix: list[int], last: list[int]) -> None:
    """The vectorised hash splits a number of 2**32 or more into 32-bit words as SeedSequence does: a word cut at another
    width (``>>= 33``) would give a 64-bit run seed other seeds than :func:`derive_seed`."""
    from face2sketch.data.sampling import derive_seeds

    assert derive_seeds(prefix, last).tolist() == [derive_seed(*prefix, n) for n in last]


def test_seeds_for_numbers_outside_32_bits_are_worked_out_one_by_one_with_the_same_dtype() -> None:
    """Numbers wider than 32 bits take SeedSequence itself; the result is uint32 either way, as the array path's."""
    from face2sketch.data.sampling import derive_seeds

    for last in ([2**32, 5], [5, 2**40], [0, 2**32 - 1]):
        seeds = derive_seeds((3, 1), last)
        assert seeds.dtype == np.uint32 and seeds.tolist() == [derive_seed(3, 1, n) for n in last]
