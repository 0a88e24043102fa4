"""The callbacks every run gets, each fault tried the way a user meets it: exact resume at an epoch boundary and
mid-epoch, SIGINT saving a checkpoint and printing the resume command (SIGTERM from outside: tests/commands/test_train.py), a NaN loss stopping with the
good checkpoints kept, and the best checkpoint carried into a new folder on resume; then the NaN stop on its deferred
schedule (verdicts read where Lightning writes the logs, every log_every_n_steps, and at the epoch's end) and under
several processes (every rank stops if one diverged)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from torch import nn

from face2sketch.core.errors import TrainingDiverged, TrainingInterrupted, exit_on_user_error
from face2sketch.train import train
from face2sketch.training.callbacks.guards import StopOnNonFiniteLoss
from tests.conftest import compose_train

QUIET = ("trainer=cpu", "logger=csv", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
TINY = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", *QUIET)


# -- exact resume --------------------------------------------------------------------------------------------------------
RESUME = (
    "model=conv_ae",
    "model.head=sigmoid",
    "model.loss=bce",
    "data=synthetic",
    "data.image_size=32",
    "trainer.deterministic=true",
    "data.num_train=16",
    "data.num_test=8",
    *QUIET,
)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def _assert_same_run_end(full: dict, resumed: dict, full_dir: Path, resumed_dir: Path) -> None:
    assert resumed["start_epoch"] > 0 and resumed["epochs"] == full["epochs"] and resumed["global_step"] == full["global_step"]
    for name, value in full["test_metrics"].items():
        assert resumed["test_metrics"][name] == pytest.approx(value, abs=1e-6), name
    full_weights, resumed_weights = _weights(full_dir), _weights(resumed_dir)
    assert all(torch.equal(full_weights[k], resumed_weights[k]) for k in full_weights)


def test_resume_at_an_epoch_boundary_ends_like_the_uninterrupted_run(tmp_path: Path) -> None:
    """The issue's reproducer (6 epochs vs 3 + resume), with ``ckpt_path=last`` in the run's own folder."""
    full = train(compose_train(tmp_path / "full", *RESUME, "trainer.max_epochs=6"))
    first = train(compose_train(tmp_path / "split", *RESUME, "trainer.max_epochs=3", "ckpt_path=last"))  # no checkpoint yet: fresh
    assert first["resumed_from"] is None and first["epochs"] == 3
    resumed = train(compose_train(tmp_path / "split", *RESUME, "trainer.max_epochs=6", "ckpt_path=last"))
    assert resumed["resumed_from"] == str(tmp_path / "split" / "checkpoints" / "last.ckpt")
    _assert_same_run_end(full, resumed, tmp_path / "full", tmp_path / "split")


class SignalAtBatch(L.Callback):
    """Test-only: sends ``signum`` to this process after batch ``batch_idx`` of ``epoch``, as a scheduler or Ctrl+C would."""

    def __init__(self, epoch: int, batch_idx: int, signum: int) -> None:
        self.epoch, self.batch_idx, self.signum = epoch, batch_idx, signum

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch_idx):
            os.kill(os.getpid(), self.signum)


def test_sigint_mid_epoch_saves_and_the_resumed_pix2pix_ends_like_the_uninterrupted_run(tmp_path: Path) -> None:
    """pix2pix draws dropout masks from the global RNG, and the stop falls mid-epoch: both must be in the checkpoint."""
    settings = (
        "model=pix2pix",
        "model.ngf=8",
        "model.ndf=8",
        "data=synthetic",
        "data.image_size=32",
        "data.batch_size=1",
        "trainer.deterministic=true",
        "data.num_train=6",
        "data.num_test=4",
        *QUIET,
        "trainer.max_epochs=2",
    )
    handler_before = signal.getsignal(signal.SIGINT)
    full = train(compose_train(tmp_path / "full", *settings))
    with pytest.raises(TrainingInterrupted) as stopped:
        train(compose_train(tmp_path / "split", *settings), extra_callbacks=[SignalAtBatch(epoch=1, batch_idx=2, signum=signal.SIGINT)])
    assert stopped.value.exit_status == 130 and str(stopped.value).startswith("SIGINT received: stopped at epoch 1, global step 24")  # 8 batches x 3 updates
    assert signal.getsignal(signal.SIGINT) is handler_before, "the SIGINT handler is given back"
    assert json.loads((tmp_path / "split" / "metrics.json").read_text())["status"] == "interrupted"
    resumed = train(compose_train(tmp_path / "split", *settings, "ckpt_path=last"))
    _assert_same_run_end(full, resumed, tmp_path / "full", tmp_path / "split")


class TrainedNames(L.Callback):
    """Test-only: the examples of every training batch, in the order the model was given them."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: dict, batch_idx: int) -> None:
        self.names += list(batch["name"])


def test_sigint_mid_epoch_with_four_samples_a_batch_resumes_with_the_samples_the_uninterrupted_run_trained_next(tmp_path: Path) -> None:
    """Guards against a resume that skips one sample per batch done instead of batch-size samples (the rest of the epoch
    repeats samples), here on the in-memory loader that takes whole batches from its sampler (both loaders, any batch
    and batch size: tests/training/test_resume.py): 14 training examples in batches of 4, 4, 4 and 2, stopped after the second
    batch of epoch 1; the resumed run trains on the 6 examples the uninterrupted one trained on after them."""
    settings = (*RESUME, "data.batch_size=4", "trainer.max_epochs=2")
    full_names, resumed_names = TrainedNames(), TrainedNames()
    full = train(compose_train(tmp_path / "full", *settings), extra_callbacks=[full_names])
    assert len(full_names.names) == 28 and full["global_step"] == 8
    with pytest.raises(TrainingInterrupted, match=r"^SIGINT received: stopped at epoch 1, global step 6"):
        train(compose_train(tmp_path / "split", *settings), extra_callbacks=[SignalAtBatch(epoch=1, batch_idx=1, signum=signal.SIGINT)])
    resumed = train(compose_train(tmp_path / "split", *settings, "ckpt_path=last"), extra_callbacks=[resumed_names])
    assert resumed_names.names == full_names.names[14 + 8 :], "the resumed run's examples are the uninterrupted run's after 2 batches of 4"
    _assert_same_run_end(full, resumed, tmp_path / "full", tmp_path / "split")


# -- numerical faults --------------------------------------------------------------------------------------------------
class PoisonWeightsAt(L.Callback):
    """Test-only fault injection: sets every weight to NaN before batch ``batch_idx`` of ``epoch``."""

    def __init__(self, epoch: int, batch_idx: int) -> None:
        self.epoch, self.batch_idx = epoch, batch_idx

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch_idx):
            with torch.no_grad():
                for parameter in pl_module.parameters():
                    parameter.fill_(float("nan"))


@pytest.mark.parametrize(("model", "terms"), [("conv_ae", ["train/loss=nan"]), ("pix2pix", ["train/d_loss=nan", "train/g_loss=nan", "train/l1=nan"])])
def test_a_nan_loss_stops_naming_step_and_term_and_keeps_the_good_checkpoints(
    tmp_path: Path, model: str, terms: list[str], capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    extra = ["model.ngf=8", "model.ndf=8"] if model == "pix2pix" else []
    every_epoch = "callbacks.last_checkpoint.every_minutes=0"  # so that a last.ckpt of epoch 0 exists to be kept
    # the losses are read back where the logs are written: here after every batch, so the stop names the step itself
    cfg = compose_train(run, *TINY, f"model={model}", *extra, "trainer.max_epochs=2", "trainer.log_every_n_steps=1", every_epoch)
    with pytest.raises(TrainingDiverged) as diverged:
        train(cfg, extra_callbacks=[PoisonWeightsAt(epoch=1, batch_idx=1)])
    steps_per_batch = 3 if model == "pix2pix" else 1  # pix2pix: two discriminator updates and one generator update
    message = str(diverged.value)
    assert message.startswith(f"training diverged at global step {6 * steps_per_batch} (epoch 1, batch 1): ")  # 4 batches an epoch
    assert all(term in message for term in terms) and str(run / "checkpoints") in message
    for checkpoint in (run / "checkpoints").glob("*.ckpt"):
        saved = torch.load(checkpoint, weights_only=True)
        assert saved["epoch"] == 0 and all(torch.isfinite(v).all() for v in saved["state_dict"].values() if v.is_floating_point())
    assert {p.name for p in (run / "checkpoints").glob("*.ckpt")} == {"last.ckpt", "best-epoch000.ckpt"}
    record = json.loads((run / "metrics.json").read_text())
    assert record["status"] == "diverged" and record["diverged"].startswith("training diverged at global step")
    with pytest.raises(SystemExit) as exit_info:
        exit_on_user_error(diverged.value)
    assert exit_info.value.code == 3
    assert capsys.readouterr().err == f"face2sketch: stopped: {message}\n"


class WreckWeightsBeforeEachEpoch(L.Callback):
    """Test-only: zeroes every weight as an epoch starts, so the epochs of the resumed run validate far worse."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        with torch.no_grad():
            for parameter in pl_module.parameters():
                parameter.zero_()


def test_resuming_into_a_new_folder_carries_the_best_checkpoint_over(tmp_path: Path) -> None:
    """A run resumed from another run's last.ckpt into a new folder keeps that run's best checkpoint as the one to beat:
    when its own epochs validate worse, the carried best is what it tests."""
    first = train(compose_train(tmp_path / "first", *RESUME, "trainer.max_epochs=2"))
    best = Path(first["best_checkpoint"])
    resumed = train(
        compose_train(tmp_path / "second", *RESUME, "trainer.max_epochs=4", f"ckpt_path={tmp_path / 'first' / 'checkpoints' / 'last.ckpt'}"),
        extra_callbacks=[WreckWeightsBeforeEachEpoch()],
    )
    carried = tmp_path / "second" / "checkpoints" / best.name
    assert resumed["best_checkpoint"] == str(carried) and carried.is_file()
    assert resumed["tested_weights"] == f"best by validation SSIM ({best.name})"
    assert resumed["test_metrics"]["ssim"] == pytest.approx(first["test_metrics"]["ssim"], abs=1e-6)
    assert not list((tmp_path / "second" / "checkpoints").glob("best-epoch00[23].ckpt"))  # no worse epoch took its place


# -- the NaN stop's schedule, on a tiny regression -------------------------------------------------------------------------
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
    third_batch = SimpleNamespace(epoch_loop=SimpleNamespace(batch_progress=SimpleNamespace(total=SimpleNamespace(ready=3))))
    trainer = SimpleNamespace(
        world_size=2,
        strategy=SumOverRanks(other_rank),
        global_step=3,
        current_epoch=0,
        fast_dev_run=False,
        log_every_n_steps=1,
        should_stop=False,
        fit_loop=third_batch,
    )
    module = SimpleNamespace(device=torch.device("cpu"), last_losses={"train/loss": torch.tensor(0.25), "train/l1": torch.tensor(0.5)})
    if stops:
        with pytest.raises(TrainingDiverged, match=r"^training diverged at global step 3 \(epoch 0, batch 2\): train/loss=0.25$"):
            callback.on_train_batch_end(trainer, module, None, None, 2)
    else:
        callback.on_train_batch_end(trainer, module, None, None, 2)
