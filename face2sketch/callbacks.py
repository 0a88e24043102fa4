"""Callbacks every training run gets: exact resume, a clean stop on SIGTERM/SIGINT, and a stop on NaN/Inf losses.

They are added by ``face2sketch.train`` itself rather than by the callbacks config group, because a run's
checkpoints and its exit status rely on them.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Checkpoint, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.plugins.io import AsyncCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from face2sketch.data.datamodule import EpochShuffleSampler
from face2sketch.errors import TrainingDiverged
from face2sketch.metrics import fsim, scoot
from face2sketch.models.base import logs_after_this_batch
from face2sketch.run_folder import BEST_CHECKPOINT_FILENAME, RunFolder


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


class LossProgressBar(TQDMProgressBar):
    """Lightning's console progress bar, showing the training losses as the logger writes them.

    Lightning's own bar shows values logged with ``prog_bar=True``, which it reads back to the host after every batch
    (on a GPU the host then waits for the step to finish). The losses are logged without it
    (``ImageTranslationModule.log_losses``): this bar reads their step values where the logger writes them, every
    ``log_every_n_steps`` batches, and shows them until the next; the epoch means come with the other epoch values.
    """

    def __init__(self, refresh_rate: int = 1) -> None:
        super().__init__(refresh_rate=refresh_rate)
        self._step_losses: dict[str, float] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._step_losses = {}

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if logs_after_this_batch(trainer):
            logged = trainer.callback_metrics
            self._step_losses = {name: float(value) for name, value in logged.items() if name.startswith("train/") and name.endswith("_step")}
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, int | str | float | dict[str, float]]:
        return {**self._step_losses, **super().get_metrics(trainer, pl_module)}


def progress_bar(refresh_rate: int, enabled: bool = True) -> TQDMProgressBar | None:
    """The console progress bar at ``refresh_rate`` batches, or None where ``trainer.enable_progress_bar`` is false
    (Lightning refuses a progress bar callback then)."""
    return LossProgressBar(refresh_rate=refresh_rate) if enabled else None


class ValidationFSIM(L.Callback):
    """Log ``val/fsim``, the mean FSIM (FSIMc where the targets are photos) of the validation images, every epoch;
    for sketches also ``val/scoot``. With a second validation loader (the validation identities under real-world
    conditions, ``data.validation_conditions``), the same on it as ``val/fsim_real`` (``val/scoot_real``), and
    ``val/quality``: the mean of all of them, so that a checkpoint chosen by it is good on clean inputs and on inputs
    as users bring them, in equal measure.

    SSIM, the metric every model validates with, rewards blur; a checkpoint chosen for a user's eyes is chosen by
    FSIM (``callbacks.model_checkpoint.monitor=val/fsim``) or by ``val/quality``. Validation steps return their predictions.
    """

    SUFFIXES = ("", "_real")

    def __init__(self, direction: str) -> None:
        self.chromatic = direction == "sk2f"
        self.sketches = direction == "f2sk"
        self._totals: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._totals, self._counts = {}, {}

    def _add(self, name: str, scores: torch.Tensor) -> None:
        self._totals[name] = self._totals.get(name, 0.0) + float(scores.sum())
        self._counts[name] = self._counts.get(name, 0) + scores.numel()

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        suffix = self.SUFFIXES[min(dataloader_idx, 1)]
        target = pl_module.to_unit_range(batch["target"])
        prediction = outputs.float()
        self._add(f"val/fsim{suffix}", fsim(prediction, target, chromatic=self.chromatic and target.shape[1] == 3))
        if self.sketches:
            self._add(f"val/scoot{suffix}", scoot(prediction.cpu(), target.cpu()))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        means = {name: self._totals[name] / self._counts[name] for name in self._totals if self._counts[name]}
        if any(name.endswith("_real") for name in means):
            means["val/quality"] = sum(means.values()) / len(means)
        for name, value in means.items():
            pl_module.log(name, value, prog_bar=name in ("val/fsim", "val/quality"), sync_dist=True, add_dataloader_idx=False)


class StopOnNonFiniteLoss(L.Callback):
    """Stops training when a training loss term is not finite, naming the step and the terms.

    It reads each step's loss terms (``ImageTranslationModule.last_losses``, scalars) and raises before any checkpoint
    of the diverged weights can be written, so the best and last checkpoints on disk are the last good ones. Reading a
    value back makes the host wait for the device, so the steps' verdicts are gathered on the device and read where
    the logger reads the losses anyway, every ``log_every_n_steps`` steps, and before validation and at the end of
    each epoch (all before any checkpoint is saved); the stop then names the steps since the last read.
    """

    def __init__(self) -> None:
        self._finite: torch.Tensor | None = None
        self._names: list[str] = []
        self._since: tuple[int, int, int] | None = None  # (global step, epoch, batch) of the first unread step
        self._unread_batches = 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        losses: dict[str, torch.Tensor] = getattr(pl_module, "last_losses", {})
        if not losses:
            return
        if list(losses) != self._names:
            self.check(trainer, pl_module)
            self._names = list(losses)
        finite = torch.isfinite(torch.stack(list(losses.values())))
        self._finite = finite if self._finite is None else self._finite.logical_and_(finite)
        self._since = self._since or (trainer.global_step, trainer.current_epoch, batch_idx)
        self._unread_batches += 1
        if logs_after_this_batch(trainer):
            self.check(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer, pl_module)

    def check(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Raise TrainingDiverged if a term was not finite in a step since the last check."""
        finite, since, batches = self._finite, self._since, self._unread_batches
        self._finite, self._since, self._unread_batches = None, None, 0
        if finite is None or since is None:
            return
        if trainer.world_size > 1:  # every process checks at the same steps; all stop if any one diverged
            finite = trainer.strategy.reduce(finite.float(), reduce_op="sum") == trainer.world_size
        if bool(finite.all()):
            return
        latest: dict[str, torch.Tensor] = getattr(pl_module, "last_losses", {})
        bad = ", ".join(
            f"{name}={float(latest[name].float().flatten()[0]) if name in latest else 'nan'}"
            for name, ok in zip(self._names, finite.tolist(), strict=True)
            if not ok
        )
        step, epoch, batch_idx = since
        where = (
            f"at global step {step} (epoch {epoch}, batch {batch_idx})"
            if batches == 1
            else f"between global step {step} (epoch {epoch}, batch {batch_idx}) and global step {trainer.global_step}"
        )
        raise TrainingDiverged(f"training diverged {where}: {bad}")


class CheckpointOnSignal(L.Callback):
    """SIGTERM or SIGINT during fitting: finish the current batch, save ``checkpoint_path``, stop.

    Lightning already turns SIGTERM into a stop after the current batch (``SIGTERMException``); SIGINT (Ctrl+C) is
    routed the same way instead of raising KeyboardInterrupt in the middle of an optimiser step. A second SIGINT
    stops at once. ``received`` names the signal after a stop.
    """

    def __init__(self, checkpoint_path: str | Path) -> None:
        self.checkpoint_path = Path(checkpoint_path)
        self.received: signal.Signals | None = None
        self.saved = False
        self._previous_sigint: Any = None

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.received = signal.SIGINT
        signal.raise_signal(signal.SIGTERM)  # Lightning's SIGTERM handler stops the loops after this batch

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # not on_fit_start: Lightning records the handlers it finds after that and would put ours back at its teardown
        self.received, self.saved = None, False
        self._previous_sigint = signal.signal(signal.SIGINT, self._on_sigint)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._restore_sigint()
        losses: dict[str, torch.Tensor] = getattr(pl_module, "last_losses", {})
        diverged = any(not bool(torch.isfinite(value).all()) for value in losses.values())
        if isinstance(exception, SIGTERMException) and trainer.state.fn == TrainerFn.FITTING and not diverged:
            self.received = self.received or signal.SIGTERM
            trainer.save_checkpoint(self.checkpoint_path)
            self.saved = True

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._restore_sigint()

    def _restore_sigint(self) -> None:
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None


class BestCheckpoint(ModelCheckpoint):
    """The best-by-validation checkpoint (``callbacks.model_checkpoint``), carried over when a run resumes from another
    run's ``last.ckpt`` into a new folder.

    Lightning's ModelCheckpoint forgets the best score when its folder changes, so the resumed run would keep its own
    first epoch as "best" even when the earlier run's best was better, and test that. Here the earlier best file is
    copied into the new folder and its score restored, so later epochs must beat it.

    It writes into the run folder's ``checkpoints/`` as ``best-epochNNN.ckpt`` (:class:`RunFolder`), where evaluate,
    export and predict look for it; the rest of ModelCheckpoint's settings pass through.
    """

    def __init__(self, run_dir: str | Path, **settings: Any) -> None:
        super().__init__(dirpath=RunFolder(Path(run_dir)).checkpoints_dir, filename=BEST_CHECKPOINT_FILENAME, auto_insert_metric_name=False, **settings)

    @property
    def state_key(self) -> str:
        """Lightning's key for ModelCheckpoint's state, so checkpoints written before this class resume its record."""
        return super().state_key.replace(type(self).__qualname__, "ModelCheckpoint", 1)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        earlier_dir, earlier_best = state_dict.get("dirpath", self.dirpath), state_dict.get("best_model_path")
        if earlier_dir == self.dirpath or not earlier_best or not Path(earlier_best).is_file() or state_dict.get("monitor") != self.monitor:
            super().load_state_dict(state_dict)
            return
        assert self.dirpath is not None
        carried = Path(self.dirpath) / Path(earlier_best).name
        carried.parent.mkdir(parents=True, exist_ok=True)
        if not carried.exists():  # every process of a DDP run gets here: each copies to its own name, then renames
            partial = carried.with_name(f".{carried.name}.{os.getpid()}")
            shutil.copy2(earlier_best, partial)
            os.replace(partial, carried)
        score = state_dict["best_model_score"]
        carried_state = {"dirpath": self.dirpath, "best_model_path": str(carried), "best_k_models": {str(carried): score}}
        carried_state |= {"kth_best_model_path": str(carried), "kth_value": score, "last_model_path": ""}
        super().load_state_dict({**state_dict, **carried_state})


class LastCheckpoint(Checkpoint):
    """Keeps the run folder's ``checkpoints/last.ckpt``, the full checkpoint a run resumes from, without paying for it every epoch.

    A full checkpoint holds the optimiser's state too (pix2pix at 128 px: 535 MB, seconds to write on a CPU), and
    short epochs (79 batch-1 steps on the standard protocol) would spend a tenth of their time writing it. So it is
    written at an epoch's end only once ``every_minutes`` of training have passed since the previous one (0: every
    epoch), and always when training ends. Every save is at an epoch's end (or at a signal's stop, by
    :class:`CheckpointOnSignal`), so a resume from any of them is exact; a hard kill loses at most ``every_minutes``.
    """

    def __init__(self, run_dir: str | Path, every_minutes: float = 10.0) -> None:
        self.path = RunFolder(Path(run_dir)).last_checkpoint
        self.every_seconds = 60.0 * every_minutes
        self._saved_at = time.monotonic()
        self._saved_step: int | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._saved_at, self._saved_step = time.monotonic(), None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if time.monotonic() - self._saved_at >= self.every_seconds or self._last_epoch(trainer):
            self.save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._saved_step != trainer.global_step:  # stopped inside an epoch (max_steps, max_time)
            self.save(trainer)

    @staticmethod
    def _last_epoch(trainer: L.Trainer) -> bool:
        """Whether training ends with this epoch, so that its end is saved as the epoch boundary it is."""
        max_epochs, max_steps = trainer.max_epochs, trainer.max_steps
        return (
            trainer.should_stop
            or (max_epochs is not None and max_epochs >= 0 and trainer.current_epoch + 1 >= max_epochs)
            or (max_steps >= 0 and trainer.global_step >= max_steps)
        )

    def save(self, trainer: L.Trainer) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking:
            return
        trainer.save_checkpoint(self.path)  # every rank calls it; rank 0 writes
        self._saved_at, self._saved_step = time.monotonic(), trainer.global_step


class BackgroundCheckpointIO(AsyncCheckpointIO):
    """Writes checkpoints in a background thread, from a copy taken when they are saved, so training goes on.

    Lightning's ``AsyncCheckpointIO`` waits for the writes when ``fit`` ends; this one lets the last write run on into
    what follows (the test, the next command's set-up) until :meth:`wait` (``face2sketch.train`` calls it before it
    reports the run, and before anything reads a checkpoint back). Loading a checkpoint waits for pending writes first.
    """

    def __init__(self, checkpoint_io: CheckpointIO | None = None) -> None:
        super().__init__(checkpoint_io)  # None: the strategy's own, set by the trainer
        self._pending: list[ThreadPoolExecutor] = []
        # AsyncCheckpointIO's own state, declared for the type checker
        self._executor: ThreadPoolExecutor | None
        self._error: BaseException | None

    def teardown(self) -> None:
        if self._executor is not None:
            self._pending.append(self._executor)
            self._executor = None

    def load_checkpoint(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.wait()
        return super().load_checkpoint(*args, **kwargs)

    def wait(self) -> float:
        """Finish every pending write; returns the seconds waited. A write that failed is raised here."""
        started = time.perf_counter()
        self.teardown()
        while self._pending:
            self._pending.pop().shutdown(wait=True)
        if self._error:
            error, self._error = self._error, None
            raise error
        return time.perf_counter() - started
