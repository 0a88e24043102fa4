"""The run's checkpoints: the best by validation, last.ckpt for resume on a schedule, and writes in the background."""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Checkpoint, ModelCheckpoint
from lightning.pytorch.plugins.io import AsyncCheckpointIO

from face2sketch.core.run_folder import BEST_CHECKPOINT_FILENAME, RunFolder


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
