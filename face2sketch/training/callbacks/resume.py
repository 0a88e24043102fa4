"""Exact resume: a run continued from last.ckpt draws the same random numbers and batches as the run that never stopped."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn

from face2sketch.data.sampling import EpochShuffleSampler


def capture_random_state() -> dict[str, Any]:
    """torch (CPU and CUDA), numpy and Python random states, as tensors and plain values (``weights_only`` loads them)."""
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": random.getstate(),
    }


def restore_random_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy = state["numpy"]
    np.random.set_state((numpy["name"], numpy["keys"].numpy().astype(np.uint32), numpy["position"], numpy["has_gauss"], numpy["cached_gaussian"]))
    random.setstate(state["python"])


class ExactResume(L.Callback):
    """Puts what Lightning's checkpoint lacks for an exact resume into it: random states and the place in the epoch.

    The global random states (dropout masks, anything drawn from torch/numpy/random) are restored when training
    starts rather than when the checkpoint is read, so that the sanity-check validation in between cannot shift
    them. Data order and augmentation are derived from seed and epoch (:class:`EpochShuffleSampler`); a checkpoint
    saved mid-epoch (on SIGTERM) also records how many batches of that epoch were done, and the sampler skips them.
    """

    def __init__(self) -> None:
        self._trainer: L.Trainer | None = None
        self._to_restore: dict[str, Any] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def state_dict(self) -> dict[str, Any]:
        assert self._trainer is not None
        return {
            "random_state": capture_random_state(),
            "epoch": self._trainer.current_epoch,
            "batches_done_in_epoch": self._trainer.fit_loop.epoch_loop.batch_progress.current.completed,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._to_restore = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._to_restore is None:
            return
        restore_random_state(self._to_restore["random_state"])
        loader = trainer.train_dataloader
        sampler = getattr(loader, "sampler", None)
        if isinstance(sampler, EpochShuffleSampler):
            batch_size = loader.batch_size or sampler.batch_size  # the latter when the loader takes whole batches from the sampler
            sampler.resume_within_epoch(self._to_restore["epoch"], self._to_restore["batches_done_in_epoch"] * batch_size)
        elif self._to_restore["batches_done_in_epoch"]:
            # under DDP Lightning's DistributedSamplerWrapper shards the order, and the sampler cannot skip within a shard
            rank_zero_warn(
                f"resumed in the middle of epoch {self._to_restore['epoch']} with a distributed sampler: the rest of that epoch "
                "repeats its first batches instead of the ones it had left (a resume at an epoch's end sees the same batches)"
            )
        self._to_restore = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # under DDP Lightning wraps the sampler in a DistributedSamplerWrapper, which passes set_epoch on only from
        # Lightning 2.6.x (PR 21456): without this, every epoch would repeat epoch 0's order and augmentation
        wrapped = getattr(getattr(getattr(trainer.train_dataloader, "sampler", None), "dataset", None), "_sampler", None)
        if isinstance(wrapped, EpochShuffleSampler):
            wrapped.set_epoch(trainer.current_epoch)
