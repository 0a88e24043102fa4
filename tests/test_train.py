"""The training entry point in process: runs, run folders, logging and resume (the command: tests/commands/)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

from face2sketch.train import train
from tests.conftest import SeenTestBatches, compose_train, rescored


class KeepModule(L.Callback):
    """Puts the trained module into ``kept`` once fitting ends."""

    def __init__(self, kept: list[L.LightningModule]) -> None:
        self.kept = kept

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.kept.append(pl_module)


FAST = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", "trainer=cpu")


@pytest.mark.parametrize("direction", ["f2sk", "sk2f"])
def test_fast_dev_run_writes_metrics(tmp_path: Path, direction: str) -> None:
    cfg = compose_train(tmp_path / "run", *FAST, f"direction={direction}", "debug=fdr")
    seen = SeenTestBatches()
    kept: list[L.LightningModule] = []
    summary = train(cfg, extra_callbacks=[seen, KeepModule(kept)])
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["direction"] == direction and written["model"] == "conv_ae"
    # one batch of each loop: 8 synthetic pairs, 1 carved for validation, 1 training step; the 4 test pairs in one batch
    assert (written["num_train"], written["num_val"], written["num_test"], written["global_step"]) == (7, 1, 4, 1)
    assert [len(target) for _, target in seen.batches] == [4]
    assert written["test_metrics"] == pytest.approx(rescored(kept[0], seen.batches), abs=1e-5)  # the tested weights' scores
    assert written["protocol"] == "standard" and written["leaky"] is False and written["image_size"] == 32
    assert summary["test_metrics"] == written["test_metrics"]
    assert (tmp_path / "run" / "config.yaml").is_file()


def test_run_folder_holds_checkpoints_events_and_metrics(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path / "run", *FAST, "trainer.max_epochs=2", "trainer.limit_train_batches=2")
    summary = train(cfg)
    run = tmp_path / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert summary["best_checkpoint"] and Path(summary["best_checkpoint"]).is_file()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert summary["epochs"] == 2
    assert all(isinstance(summary[key], float) and math.isfinite(summary[key]) for key in ("wall_seconds", "fit_seconds"))


def _logged_losses(run: Path) -> tuple[dict[int, dict[str, float]], list[dict[str, float]]]:
    """(step values by logged step, epoch values in order) of the training losses in a run's csv/metrics.csv."""
    steps: dict[int, dict[str, float]] = {}
    epochs: list[dict[str, float]] = []
    with open(run / "csv" / "metrics.csv", newline="") as table:
        for row in csv.DictReader(table):
            step_values = {k.removesuffix("_step"): float(v) for k, v in row.items() if k.startswith("train/") and k.endswith("_step") and v}
            epoch_values = {k.removesuffix("_epoch"): float(v) for k, v in row.items() if k.startswith("train/") and k.endswith("_epoch") and v}
            if step_values:
                steps[int(row["step"])] = step_values
            if epoch_values:
                epochs.append(epoch_values)
    return steps, epochs


@pytest.mark.parametrize("model", ["sparse_ae", "pix2pix"])
def test_each_step_loss_is_logged_and_each_epoch_gets_their_mean_weighted_by_batch_size(tmp_path: Path, model: str) -> None:
    # 18 training examples in batches of 8: 8, 8 and 2 per epoch
    overrides = ("data.num_train=20", "data.batch_size=8", "trainer.max_epochs=2", "trainer.log_every_n_steps=1", "logger=csv", "test=false")
    train(compose_train(tmp_path / "run", *FAST, f"model={model}", *overrides))
    steps, epochs = _logged_losses(tmp_path / "run")
    assert sorted(steps) == list(range(6)) and len(epochs) == 2
    terms = {"sparse_ae": {"loss", "reconstruction", "sparsity"}, "pix2pix": {"d_loss", "d_real", "d_fake", "g_loss", "g_adv", "l1"}}[model]
    assert {name.removeprefix("train/") for name in epochs[0]} == terms
    for epoch, means in enumerate(epochs):
        for name, mean in means.items():
            batch_values = [steps[3 * epoch + batch][name] for batch in range(3)]
            assert mean == pytest.approx((8 * batch_values[0] + 8 * batch_values[1] + 2 * batch_values[2]) / 18, rel=1e-5), name


def test_step_losses_are_logged_every_log_every_n_steps_and_shown_in_the_progress_bar(tmp_path: Path) -> None:
    shown: list[str] = []

    class LastPostfix(L.Callback):
        def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            shown.append(str(trainer.progress_bar_callback.train_progress_bar.postfix))

    overrides = ("data.num_train=20", "data.batch_size=8", "trainer.max_epochs=2", "trainer.log_every_n_steps=2", "logger=csv", "test=false")
    train(compose_train(tmp_path / "run", *FAST, *overrides), extra_callbacks=[LastPostfix()])
    steps, epochs = _logged_losses(tmp_path / "run")
    assert sorted(steps) == [1, 3, 5] and len(epochs) == 2
    # the bar shows the last logged step's value, as Lightning's bar formats numbers
    assert f"train/loss_step={Tqdm.format_num(steps[5]['train/loss'])}" in shown[0] and "train/loss_epoch=" in shown[0]


def test_tensorboard_holds_every_logged_step_without_a_flush_at_each_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lightning saves the logger after every write of the logs; the run's TensorBoard logger flushes the event file
    once (with hparams.yaml) and at the end, and still every logged step's value reaches the file."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    flushes = []
    flush = SummaryWriter.flush
    monkeypatch.setattr(SummaryWriter, "flush", lambda writer: (flushes.append(1), flush(writer))[1])
    # 7 training examples in batches of 2: 4 batches an epoch, each logged
    overrides = ("trainer.max_epochs=3", "trainer.log_every_n_steps=1", "test=false", "trainer.limit_val_batches=0")
    train(compose_train(tmp_path / "run", *FAST, *overrides))
    assert len(flushes) == 2, "once at the first save, once when training ends"
    assert (tmp_path / "run" / "tensorboard" / "hparams.yaml").is_file()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert [event.step for event in events.Scalars("train/loss_step")] == list(range(12))
    assert len(events.Scalars("train/loss_epoch")) == 3


def test_tensorboard_gets_an_image_grid(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = compose_train(tmp_path / "run", *FAST, "trainer.max_epochs=1")
    train(cfg)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert "val/input_prediction_target" in events.Tags()["images"]
    image = events.Images("val/input_prediction_target")[0]
    # one row per validation example (1 of the 8 pairs is carved for validation), three 32 px columns: input | prediction
    # | target, with make_grid's 2 px padding around each
    assert (image.width, image.height) == (3 * (32 + 2) + 2, 1 * (32 + 2) + 2)


def test_resume_continues_at_the_right_epoch_with_optimiser_state(tmp_path: Path) -> None:
    first = compose_train(tmp_path / "first", *FAST, "trainer.max_epochs=2", "trainer.limit_train_batches=2")
    train(first)
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["optimizer_states"][0]["state"][0]["step"] == 4
    # the best checkpoint is tested and exported, never resumed: weights only, with the checkpoint format
    (best,) = (tmp_path / "first" / "checkpoints").glob("best-*.ckpt")
    saved_best = torch.load(best, weights_only=False)
    assert "optimizer_states" not in saved_best and saved_best["face2sketch_checkpoint_format"] == 2 and saved_best["state_dict"]

    resumed = compose_train(tmp_path / "second", *FAST, "trainer.max_epochs=3", "trainer.limit_train_batches=2", f"ckpt_path={last}")
    summary = train(resumed)
    assert summary["start_epoch"] == 2 and summary["epochs"] == 3
    state = torch.load(tmp_path / "second" / "checkpoints" / "last.ckpt", weights_only=False)
    assert state["epoch"] == 2
    assert state["optimizer_states"][0]["state"][0]["step"] == 6  # 4 restored + 2 new, not 2 from scratch
