"""The training losses' log: each step's loss terms kept on the device, summed over the epoch, and handed to
Lightning's log only at the batches its loggers write.

``self.log`` in every step costs host time for each value, and with ``prog_bar=True`` Lightning reads each value back
to the host after every batch, which on a GPU makes the host wait for the step. So the terms are summed on the device
and logged as ``<name>_step`` at Lightning's log steps (``log_every_n_steps``) and as ``<name>_epoch`` (the mean
weighted by batch size) at the epoch's end: the names and values that ``self.log(on_step=True, on_epoch=True)``
gave them.
"""

from __future__ import annotations

import lightning as L
import torch


def logs_after_this_batch(trainer: L.Trainer) -> bool:
    """Whether Lightning writes the logs after the current training batch: every ``trainer.log_every_n_steps`` batches
    (counted over the run, resumes included), when training stops, and after every batch of a ``fast_dev_run``. Reading
    a value back from the device costs nothing more at these points, since the logger reads every logged value then.

    The batch's number in the run is the fit loop's progress counter (a resumed run restores it): every batch steps the
    optimisers, since face2sketch does not accumulate gradients.
    """
    if trainer.fast_dev_run:
        return True
    if trainer.log_every_n_steps == 0:
        return False
    batch_number = trainer.fit_loop.epoch_loop.batch_progress.total.ready
    return batch_number % trainer.log_every_n_steps == 0 or trainer.should_stop


class EpochLosses:
    """One training epoch's loss terms on the device: the latest step's, and their sums weighted by batch size."""

    def __init__(self) -> None:
        # the latest step's terms, detached, under their logged names (StopOnNonFiniteLoss reads them)
        self.latest: dict[str, torch.Tensor] = {}
        self.sums: torch.Tensor | None = None
        self.examples = 0

    def add(self, losses: dict[str, torch.Tensor], batch_size: int) -> None:
        """Keep a step's terms as the latest and add them, times ``batch_size``, to the epoch's sums."""
        self.latest = {name: value.detach() for name, value in losses.items()}
        values = torch.stack(list(self.latest.values())).float()
        if self.sums is None or len(self.sums) != len(values):
            self.sums, self.examples = values * batch_size, 0
        else:
            self.sums.add_(values, alpha=batch_size)
        self.examples += batch_size

    def step_values(self) -> dict[str, torch.Tensor]:
        """The latest step's terms as Lightning's ``on_step`` logging names them."""
        return {f"{name}_step": value for name, value in self.latest.items()}

    def epoch_means(self) -> dict[str, torch.Tensor]:
        """The epoch's mean of each term as ``on_epoch`` logging names it (none before the first step), then a new epoch."""
        means = {}
        if self.sums is not None and self.examples:
            means = {f"{name}_epoch": mean for name, mean in zip(self.latest, (self.sums / self.examples).unbind(), strict=True)}
        self.sums, self.examples = None, 0
        return means
