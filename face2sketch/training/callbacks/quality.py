"""The validation quality a checkpoint is chosen by: FSIM (and SCOOT for sketches) on clean and real-world inputs."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from face2sketch.metrics.per_image import fsim
from face2sketch.metrics.scoot import scoot


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
