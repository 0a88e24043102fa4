"""No training step reads a tensor back to the host, except where Lightning writes the logs and at epoch ends.

On a GPU such a read makes the host wait until the device has finished the step, so that it can no longer queue the
next step while the device works. Here every way of reading a tensor's values is counted during 30 training batches
of each model on the CPU, with everything a run has around its steps (losses, logging, the progress bar refreshed
every batch, the callbacks, the NaN stop, the checkpoint schedule, validation) and attributed to the batch it
happened in.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from torch.optim import optimizer

from face2sketch.data.sampling import EpochShuffleSampler
from face2sketch.train import train
from tests.conftest import compose_train

READS = ("item", "__float__", "__bool__", "tolist", "cpu", "numpy")
# code that reads tensors which stay on the host whatever the training device: torch's optimisers read their step
# counters (kept on the CPU unless capturable=True), the sampler its permutation (drawn by a CPU generator)
HOST_SIDE = {optimizer._get_value.__code__, EpochShuffleSampler.__iter__.__code__}
EPOCHS, BATCHES_PER_EPOCH, LOG_EVERY = 3, 10, 4
AFTER_TRAINING = 10**9
# a narrow pix2pix, so that 30 batches and a full checkpoint every epoch take seconds
NARROW = {"pix2pix": ("model.ngf=8", "model.ndf=8")}


class BatchCounter(L.Callback):
    """The index of the training batch under way, counted over the run (-1 before the first, AFTER_TRAINING after the last)."""

    def __init__(self) -> None:
        self.batch = -1
        self.started = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self.batch = self.started
        self.started += 1

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.batch = AFTER_TRAINING


def count_reads(monkeypatch: pytest.MonkeyPatch, counter: BatchCounter) -> list[tuple[int, str, str]]:
    """Patch every way of reading a tensor's values; each read is recorded as (batch under way, method, caller)."""
    reads: list[tuple[int, str, str]] = []
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self: torch.Tensor, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            caller = sys._getframe(1)
            if caller.f_code not in HOST_SIDE:
                reads.append((counter.batch, _name, f"{caller.f_code.co_filename}:{caller.f_lineno} ({caller.f_code.co_name})"))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return reads


def allowed(batch: int) -> bool:
    """Reads may happen before and after training, in batches after which Lightning writes the logs, and in an epoch's
    last batch (its end, validation and the next epoch's start follow it before the next batch begins)."""
    return batch in (-1, AFTER_TRAINING) or (batch + 1) % LOG_EVERY == 0 or (batch + 1) % BATCHES_PER_EPOCH == 0


@pytest.mark.parametrize("model", ["sparse_ae", "conv_ae", "vgg_ae", "pix2pix"])
def test_training_reads_tensors_only_where_the_logs_are_written_and_at_epoch_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    cfg = compose_train(
        tmp_path / "run",
        f"model={model}",
        "data=synthetic",
        "data.image_size=32",
        "data.batch_size=2",
        "trainer=cpu",
        "++for_model.vgg_ae.weights=none",
        "++for_model.vgg_ae.finetune_epochs=1",  # vgg_ae: the last epoch fine-tunes, so the unfreezing runs too
        f"trainer.max_epochs={EPOCHS}",
        f"trainer.limit_train_batches={BATCHES_PER_EPOCH}",
        "trainer.limit_val_batches=1",
        f"trainer.log_every_n_steps={LOG_EVERY}",
        "callbacks.progress_bar.refresh_rate=1",
        "callbacks.last_checkpoint.every_minutes=0",
        "test=false",
        *NARROW.get(model, ()),
    )
    counter = BatchCounter()
    reads = count_reads(monkeypatch, counter)
    train(cfg, extra_callbacks=[counter])
    monkeypatch.undo()

    assert counter.started == EPOCHS * BATCHES_PER_EPOCH
    # the counting sees reads: the logger reads every logged value after the first batch it writes
    assert any(batch == LOG_EVERY - 1 for batch, _, _ in reads)
    stalls = sorted({(batch, name, where) for batch, name, where in reads if not allowed(batch)})
    assert not stalls, "\n".join(f"batch {batch}: Tensor.{name} from {where}" for batch, name, where in stalls[:20])
