"""Stops that keep a run's files good: a clean stop on SIGTERM/SIGINT that saves where it stopped, and a stop on a
NaN/Inf loss before any checkpoint of the diverged weights is written."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from face2sketch.core.errors import TrainingDiverged
from face2sketch.models.loss_log import logs_after_this_batch


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
