"""The callbacks every run gets, each fault tried the way a user meets it: exact resume at an epoch boundary and
mid-epoch, SIGINT and SIGTERM saving a checkpoint and printing the resume command, a NaN loss stopping with the
good checkpoints kept, and the best checkpoint carried into a new folder on resume."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from face2sketch.errors import TrainingDiverged, TrainingInterrupted, exit_on_user_error
from face2sketch.train import train
from tests.conftest import compose_train, run_cli

QUIET = ("trainer=cpu", "logger=csv", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
TINY = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", *QUIET)


# -- 3. exact resume -----------------------------------------------------------------------------------------------------
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


# -- 4. SIGTERM from outside -------------------------------------------------------------------------------------------
def test_sigterm_saves_prints_the_resume_command_and_exits_143(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [*TINY, "trainer.max_epochs=400", "callbacks.last_checkpoint.every_minutes=0", f"hydra.run.dir={run}"]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen([sys.executable, "-m", "face2sketch.train", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "training ended before the signal could be sent"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143 and "Traceback" not in stderr
    ours = [line for line in stderr.splitlines() if line.startswith("face2sketch:")]
    assert len(ours) == 1 and ours[0] == stderr.strip().splitlines()[-1]
    assert ours[0].startswith("face2sketch: stopped: SIGTERM received: stopped at epoch ") and f"saved {last}" in ours[0]
    command = ours[0].split("resume with: ", 1)[1]
    assert command == shlex.join(["python", "-m", "face2sketch.train", *args[:-1], f"hydra.run.dir={run}", "ckpt_path=last"])
    stopped_at = torch.load(last, weights_only=True)
    assert stopped_at["global_step"] > 0 and json.loads((run / "metrics.json").read_text())["status"] == "interrupted"

    # the printed command, run as printed (only the epoch budget shortened), continues the run in its folder
    resume_args = [a if not a.startswith("trainer.max_epochs=") else f"trainer.max_epochs={stopped_at['epoch'] + 2}" for a in shlex.split(command)[3:]]
    result = run_cli("face2sketch.train", *resume_args)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["status"] == "completed" and summary["resumed_from"] == str(last) and summary["start_epoch"] >= stopped_at["epoch"]
    assert summary["global_step"] > stopped_at["global_step"]


# -- 5. numerical faults -----------------------------------------------------------------------------------------------
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
