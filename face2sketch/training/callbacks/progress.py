"""The console progress bar, showing the losses where they are read anyway."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar

from face2sketch.models.loss_log import logs_after_this_batch


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
