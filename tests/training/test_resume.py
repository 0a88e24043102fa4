"""Exact resume (``callbacks/resume.py``) through the data module's real training loaders: a checkpoint taken after any
batch of any epoch, at any batch size, continues with exactly the samples and augmentation seeds the run that never
stopped sees; and the random states it carries come back as they were. (Whole runs resumed by a real Trainer:
tests/training/test_callbacks.py.)"""

from __future__ import annotations

import random
import re
import warnings
from functools import cache
from types import SimpleNamespace
from typing import Any

import albumentations as A
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from face2sketch.data import SyntheticPairsDataModule
from face2sketch.data.sampling import EpochShuffleSampler
from face2sketch.training.callbacks.resume import ExactResume, capture_random_state, restore_random_state


@cache
def data_module(num_train: int, batch_size: int, in_memory: bool) -> SyntheticPairsDataModule:
    """A tiny synthetic module with the study's D4 augmentation, on the in-memory (whole batches) or per-sample path."""
    module = SyntheticPairsDataModule(
        num_train=num_train, num_test=1, image_size=8, batch_size=batch_size, paired_transforms=[A.D4(p=1.0)], seed=3, batched_augmentation=in_memory
    )
    module.setup()
    assert module.batched_augmentation == in_memory
    return module


def fake_trainer(epoch: int = 0, batches_done: int = 0, loader: DataLoader | None = None) -> Any:
    """The few attributes of a Trainer that ExactResume reads: the epoch, the batches done in it, the training loader."""
    progress = SimpleNamespace(current=SimpleNamespace(completed=batches_done))
    return SimpleNamespace(current_epoch=epoch, fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_progress=progress)), train_dataloader=loader)


def epoch_of(loader: DataLoader, epoch: int) -> tuple[list, list[dict]]:
    """The sampler's (index, augmentation seed) keys of ``epoch``, one per sample, and the loader's batches, as Lightning
    draws them (``set_epoch`` before the epoch)."""
    sampler = loader.sampler
    assert isinstance(sampler, EpochShuffleSampler)
    sampler.set_epoch(epoch)
    keys = [key for entry in sampler for key in (entry if sampler.batch_size else [entry])]
    return keys, list(loader)


def assert_same_batches(resumed: list[dict], expected: list[dict]) -> None:
    assert len(resumed) == len(expected), f"{len(resumed)} batches after the resume, {len(expected)} left in the uninterrupted epoch"
    for number, (got, want) in enumerate(zip(resumed, expected, strict=True)):
        assert got.keys() == want.keys()
        for name, value in want.items():
            same = torch.equal(got[name], value) if isinstance(value, torch.Tensor) else got[name] == value
            assert same, f"batch {number} after the resume differs in '{name}'"


def resumed_loader(module: SyntheticPairsDataModule, epoch: int, batches_done: int) -> DataLoader:
    """A new training loader after the callback saved at (epoch, batches_done) and a new one loaded that state and saw
    training start, as a resumed run's would be."""
    saving = ExactResume()
    saving.setup(fake_trainer(epoch, batches_done), None, "fit")  # type: ignore[arg-type]
    state = saving.state_dict()
    assert (state["epoch"], state["batches_done_in_epoch"]) == (epoch, batches_done)
    loader = module.train_dataloader()
    loading = ExactResume()
    loading.load_state_dict(state)
    loading.on_train_start(fake_trainer(loader=loader), None)  # type: ignore[arg-type]
    return loader


@settings(max_examples=40, deadline=None)
@given(data=st.data(), num_train=st.integers(2, 14), batch_size=st.integers(1, 5), in_memory=st.booleans(), epoch=st.integers(0, 3))
def test_a_resume_after_any_batch_continues_with_the_samples_and_seeds_the_uninterrupted_run_sees(
    data: st.DataObject, num_train: int, batch_size: int, in_memory: bool, epoch: int
) -> None:
    """Guards against a resume skipping the wrong number of samples: the batches done, not batches x batch size (samples
    repeat after the resume when the batch holds more than one), or a wrong batch size for the in-memory loader, which
    takes whole batches from its sampler (``loader.batch_size`` is None there). The next epoch is untouched."""
    module = data_module(num_train, batch_size, in_memory)
    full = module.train_dataloader()
    keys, batches = epoch_of(full, epoch)
    next_keys, next_batches = epoch_of(full, epoch + 1)
    samples = len(module.splits.train)  # type: ignore[union-attr]
    assert len(keys) == samples and len(batches) == -(-samples // batch_size)
    batches_done = data.draw(st.integers(0, len(batches)), label="batches_done")
    loader = resumed_loader(module, epoch, batches_done)
    resumed_keys, resumed_batches = epoch_of(loader, epoch)
    assert resumed_keys == keys[batches_done * batch_size :], "the resumed epoch's (index, augmentation seed) keys"
    assert_same_batches(resumed_batches, batches[batches_done:])
    assert epoch_of(loader, epoch + 1)[0] == next_keys
    assert_same_batches(epoch_of(loader, epoch + 1)[1], next_batches)


@pytest.mark.parametrize("in_memory", [True, False], ids=["in_memory", "per_sample"])
def test_a_resume_after_two_batches_of_three_skips_six_samples_with_the_last_batch_short(in_memory: bool) -> None:
    """The property's example by hand: 13 training samples in batches of 3 (the last holds 1); after 2 batches of epoch
    1 the resumed epoch holds the 7 samples from the 7th on, in batches of 3, 3 and 1."""
    module = data_module(14, 3, in_memory)
    keys, _ = epoch_of(module.train_dataloader(), 1)
    loader = resumed_loader(module, 1, 2)
    resumed_keys, batches = epoch_of(loader, 1)
    assert len(keys) == 13 and resumed_keys == keys[6:]
    names = [batch["keys"].names if in_memory else batch["name"] for batch in batches]
    assert [len(n) for n in names] == [3, 3, 1]


def test_a_resume_without_a_checkpoint_leaves_the_loader_alone() -> None:
    """A fresh run (nothing loaded) starts every epoch from its first sample."""
    module = data_module(14, 3, True)
    keys, _ = epoch_of(module.train_dataloader(), 0)
    loader = module.train_dataloader()
    ExactResume().on_train_start(fake_trainer(loader=loader), None)  # type: ignore[arg-type]
    assert epoch_of(loader, 0)[0] == keys


def draws() -> tuple[list[float], list[float], list[float]]:
    return torch.rand(3).tolist(), np.random.random_sample(3).tolist(), [random.random() for _ in range(3)]


def test_the_random_states_come_back_when_training_starts_not_when_the_checkpoint_is_read() -> None:
    """torch, numpy and Python's random draws after the resume are the ones the uninterrupted run drew next (dropout
    masks, anything drawn from them); draws between reading the checkpoint and the start (the sanity check) are undone."""
    torch.manual_seed(11), np.random.seed(12), random.seed(13)
    np.random.standard_normal()  # numpy caches the second of a pair of normals: that is part of its state too
    saving = ExactResume()
    saving.setup(fake_trainer(), None, "fit")  # type: ignore[arg-type]
    state = saving.state_dict()
    expected = draws()
    loading = ExactResume()
    loading.load_state_dict(state)
    assert draws() != expected, "reading the checkpoint restores nothing yet"
    loading.on_train_start(fake_trainer(loader=None), None)  # type: ignore[arg-type]
    assert draws() == expected


def test_captured_random_states_round_trip_each_generator_exactly() -> None:
    """Each of the four generators is restored, not one of them left where it was (numpy's cached normal included)."""
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    np.random.standard_normal()
    numpy_keys = np.random.get_state()[1].tolist()
    state = capture_random_state()
    expected = (*draws(), np.random.standard_normal())
    torch.manual_seed(4), np.random.seed(5), random.seed(6)
    restore_random_state(state)
    assert (*draws(), np.random.standard_normal()) == expected
    assert state["numpy"]["has_gauss"] == 1
    # int64 as every torch this project supports stores it (torch.from_numpy takes uint32 only from torch 2.3 on)
    assert state["numpy"]["keys"].dtype == torch.int64 and state["numpy"]["keys"].tolist() == numpy_keys


def test_a_loaded_state_is_applied_once_so_a_second_start_of_training_leaves_the_loader_alone() -> None:
    module = data_module(14, 3, True)
    loader = module.train_dataloader()
    callback = ExactResume()
    saving = ExactResume()
    saving.setup(fake_trainer(0, 2), None, "fit")  # type: ignore[arg-type]
    callback.load_state_dict(saving.state_dict())
    callback.on_train_start(fake_trainer(loader=loader), None)  # type: ignore[arg-type]
    assert len(epoch_of(loader, 0)[0]) == 13 - 6
    fresh = module.train_dataloader()
    callback.on_train_start(fake_trainer(loader=fresh), None)  # type: ignore[arg-type]
    assert epoch_of(fresh, 0)[0] == epoch_of(module.train_dataloader(), 0)[0]


DDP_RESUME_WARNING = (
    "resumed in the middle of epoch 1 with a distributed sampler: the rest of that epoch repeats its first batches instead of "
    "the ones it had left (a resume at an epoch's end sees the same batches)"
)


class WrappedSampler:
    """Lightning's DistributedSamplerWrapper as the callback sees it under DDP: the sampler is ``.dataset._sampler``."""

    def __init__(self, sampler: EpochShuffleSampler) -> None:
        self.dataset = SimpleNamespace(_sampler=sampler)


def test_under_ddp_each_epoch_reaches_the_wrapped_sampler_and_a_mid_epoch_resume_is_warned_about() -> None:
    """Without the epoch passed on, every epoch would repeat epoch 0's order and augmentation; a wrapped sampler cannot
    skip within its shard, which the user is told (a resume at an epoch's end needs no skip and no warning)."""
    inner = EpochShuffleSampler(8, seed=1)
    trainer = SimpleNamespace(current_epoch=3, train_dataloader=SimpleNamespace(sampler=WrappedSampler(inner), batch_size=2))
    ExactResume().on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
    assert inner.epoch == 3
    for batches_done, warned in ((2, True), (0, False)):
        saving = ExactResume()
        saving.setup(fake_trainer(1, batches_done), None, "fit")  # type: ignore[arg-type]
        loading = ExactResume()
        loading.load_state_dict(saving.state_dict())
        with pytest.warns(UserWarning, match=re.escape(DDP_RESUME_WARNING)) if warned else warnings.catch_warnings():
            if not warned:
                warnings.simplefilter("error")
            loading.on_train_start(trainer, None)  # type: ignore[arg-type]


def test_a_gpus_random_states_are_saved_and_restored_where_there_is_a_gpu_and_left_alone_where_there_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropout on a GPU draws from CUDA's generators: a checkpoint made there holds them, a resume there restores them,
    and a resume of it on a CPU-only machine skips them instead of failing. torch.cuda is faked (no GPU here)."""
    gpu_states = [torch.tensor([1, 2, 3], dtype=torch.uint8), torch.tensor([4, 5, 6], dtype=torch.uint8)]
    restored: list[list[torch.Tensor]] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: gpu_states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    state = capture_random_state()
    assert state["cuda"] is gpu_states
    restore_random_state(state)
    assert restored == [gpu_states]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restore_random_state(state)
    assert restored == [gpu_states], "no GPU: CUDA's states are not set"
    assert capture_random_state()["cuda"] == []
