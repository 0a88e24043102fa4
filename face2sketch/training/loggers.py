"""The loggers a run writes through (conf/logger/): Lightning's, kept off the training loop's critical path."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only


class BackgroundTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoard logger, without the training loop waiting for the event file.

    Lightning calls ``save()`` after every write of the logs (every ``log_every_n_steps`` batches and at each epoch's
    end), and its ``save()`` flushes the event file: the loop waits for TensorBoard's writer thread and the disk. Here
    only the first ``save()`` does so (it also writes ``hparams.yaml``); later events reach the file when the writer
    flushes them itself, every ``flush_secs`` seconds, and when training ends.
    """

    def __init__(self, *args: Any, flush_secs: int = 30, **kwargs: Any) -> None:
        super().__init__(*args, flush_secs=flush_secs, **kwargs)
        self._saved_once = False

    @rank_zero_only
    def save(self) -> None:
        if not self._saved_once:
            super().save()
            self._saved_once = True
