"""StopOnNonFiniteLoss on its deferred schedule (verdicts read where Lightning writes the logs, every log_every_n_steps,
and at the epoch's end) and under several processes (every rank stops if one diverged), on the CPU."""

from __future__ import annotations

from types import SimpleNamespace

import lightning as L
import pytest
import torch
from torch import nn

from face2sketch.callbacks.guards import StopOnNonFiniteLoss
from face2sketch.errors import TrainingDiverged


class LossTurnsNaN(L.LightningModule):
    """A tiny regression whose loss is NaN at the batches in ``nan_batches``."""

    def __init__(self, nan_batches: set[int]) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.nan_batches = nan_batches
        self.trained_batches: list[int] = []

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        self.trained_batches.append(batch_idx)
        loss = self.layer(batch).pow(2).mean()
        if batch_idx in self.nan_batches:
            loss = loss * float("nan")
        self.last_losses = {"train/loss": loss.detach(), "train/other": torch.ones(())}
        # a NaN step is not applied, so the weights stay finite and later losses are finite again
        return None if batch_idx in self.nan_batches else loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def fit(module: LossTurnsNaN, batches: int, log_every_n_steps: int) -> None:
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=batches,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        log_every_n_steps=log_every_n_steps,
        callbacks=[StopOnNonFiniteLoss()],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader(torch.rand(32, 2), batch_size=2))


def test_with_logs_written_every_step_every_step_is_checked() -> None:
    module = LossTurnsNaN({5})
    with pytest.raises(TrainingDiverged, match=r"^training diverged at global step 6 \(epoch 0, batch 5\): train/loss=nan$"):
        fit(module, batches=12, log_every_n_steps=1)
    assert module.trained_batches == [0, 1, 2, 3, 4, 5]


def test_deferred_verdicts_are_read_every_log_every_n_steps_and_name_the_unread_steps() -> None:
    module = LossTurnsNaN({5})  # NaN at one step only: the verdicts since the last read are combined
    with pytest.raises(TrainingDiverged) as diverged:
        fit(module, batches=12, log_every_n_steps=4)
    # read after batches 3 (all finite) and 7: the stop names the steps since the read after batch 3 and the term that
    # was not finite (its value is the latest step's, finite again here)
    assert str(diverged.value).startswith("training diverged between global step 5 (epoch 0, batch 4) and global step 8: train/loss=")
    assert "train/other" not in str(diverged.value)
    assert module.trained_batches == list(range(8))  # stopped at the read, not at the end


def test_deferred_verdicts_are_read_at_the_end_of_the_epoch() -> None:
    module = LossTurnsNaN({5})
    with pytest.raises(TrainingDiverged, match=r"^training diverged between global step 5 \(epoch 0, batch 4\) and global step 6: train/loss=nan$"):
        fit(module, batches=6, log_every_n_steps=4)  # the epoch ends before the next read at batch 7


def test_a_finite_run_on_the_deferred_schedule_completes() -> None:
    module = LossTurnsNaN(set())
    fit(module, batches=6, log_every_n_steps=4)
    assert module.trained_batches == list(range(6))


class SumOverRanks:
    """A two-process strategy's reduce: this process's verdicts plus the other's."""

    def __init__(self, other: list[float]) -> None:
        self.other = torch.tensor(other)

    def reduce(self, tensor: torch.Tensor, reduce_op: str) -> torch.Tensor:
        assert reduce_op == "sum"
        return tensor + self.other


@pytest.mark.parametrize(("other_rank", "stops"), [([0.0, 1.0], True), ([1.0, 1.0], False)], ids=["other_rank_diverged", "all_finite"])
def test_under_ddp_every_rank_stops_if_any_rank_diverged(other_rank: list[float], stops: bool) -> None:
    callback = StopOnNonFiniteLoss()
    logs_now = SimpleNamespace(should_update_logs=True)
    trainer = SimpleNamespace(world_size=2, strategy=SumOverRanks(other_rank), global_step=3, current_epoch=0, fast_dev_run=False, _logger_connector=logs_now)
    module = SimpleNamespace(device=torch.device("cpu"), last_losses={"train/loss": torch.tensor(0.25), "train/l1": torch.tensor(0.5)})
    if stops:
        with pytest.raises(TrainingDiverged, match=r"^training diverged at global step 3 \(epoch 0, batch 2\): train/loss=0.25$"):
            callback.on_train_batch_end(trainer, module, None, None, 2)
    else:
        callback.on_train_batch_end(trainer, module, None, None, 2)
