"""The fault suite (issue 9): bad files, bad settings, exact resume, SIGTERM/SIGINT, NaN losses, atomic outputs.

Every fault is tried the way a user meets it and the test asserts what the user then gets: the files that
remain, the values, and the one line printed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from face2sketch.data.sources import UnusableImage, decode_image
from face2sketch.data.synthetic import write_synthetic_dataset
from face2sketch.errors import ConfigError, DataError, TrainingDiverged, TrainingInterrupted, exit_on_user_error
from face2sketch.io import atomic_path, write_json_atomic
from face2sketch.train import train
from face2sketch.validation import check_writable, validate_settings
from tests.conftest import compose_train, run_cli

QUIET = ("trainer=cpu", "logger=csv", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
TINY = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", *QUIET)


# -- 1. bad data is skipped by name ---------------------------------------------------------------------------------
def write_png_header_only(path: Path, width: int, height: int) -> None:
    """A valid PNG header claiming width x height pixels, with almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _replace(path: Path, image: Image.Image, suffix: str) -> None:
    path.unlink()
    image.save(path.with_suffix(suffix))


def write_faulty_dataset(root: Path) -> dict[str, str]:
    """18 synthetic identities (12 train, 6 test) with one file of each kind of fault and of each convertible kind.

    Returns {file name: the problem skipped.json must give}; 11 pairs stay usable.
    """
    write_synthetic_dataset(root, num_train=12, num_test=6, layout="cuhk_release")
    train_photo, train_sketch = root / "Training photo", root / "Training sketch"
    test_photo, test_sketch = root / "Testing photo", root / "Testing sketch"
    truncated = train_photo / "f-001-01.jpg"
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    (train_sketch / "M2-002-01-sz1.jpg").write_bytes(b"")
    (train_photo / "f-003-01.jpg").write_text("this is not a photo\n")
    Image.open(train_photo / "m-004-01.jpg").save(train_photo / "m-004-01.png")  # a second photo with key m-004-01
    for folder, name in ((test_photo, "f-005-01.jpg"), (test_sketch, "f-005-01-sz1.jpg")):  # key f-005-01 in train and test
        Image.open((train_photo if folder is test_photo else train_sketch) / ("f-005-01.jpg" if folder is test_photo else "F2-005-01-sz1.jpg")).save(
            folder / name
        )
    Image.new("L", (20, 20), 128).save(train_sketch / "F2-099-01-sz1.jpg")  # a sketch without photo
    png = Image.open(test_photo / "f-013-01.jpg")
    _replace(test_photo / "f-013-01.jpg", png, ".png")
    data = bytearray((test_photo / "f-013-01.png").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # damaged compressed data inside a valid PNG
    (test_photo / "f-013-01.png").write_bytes(bytes(data))
    (test_sketch / "m-014-01-sz1.jpg").unlink()
    write_png_header_only(test_sketch / "m-014-01-sz1.png", 6000, 6000)
    # convertible images: must be used
    rgba = Image.open(train_photo / "m-006-01.jpg").convert("RGBA")
    _replace(train_photo / "m-006-01.jpg", rgba, ".png")
    _replace(train_photo / "f-007-01.jpg", Image.open(train_photo / "f-007-01.jpg").convert("P"), ".png")
    wide = (np.asarray(Image.open(train_photo / "m-008-01.jpg").convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    _replace(train_photo / "m-008-01.jpg", Image.fromarray(wide), ".png")
    _replace(train_photo / "f-009-01.jpg", Image.open(train_photo / "f-009-01.jpg").convert("L"), ".jpg")
    _replace(train_sketch / "M2-010-01-sz1.jpg", Image.open(train_sketch / "M2-010-01-sz1.jpg").convert("RGB").resize((100, 125)), ".jpg")
    _replace(test_sketch / "f-015-01-sz1.jpg", Image.open(test_sketch / "f-015-01-sz1.jpg").convert("LA"), ".png")
    expected = {
        "f-001-01.jpg": "corrupt image",
        "F2-001-01-sz1.jpg": "partner unusable",
        "M2-002-01-sz1.jpg": "empty file",
        "m-002-01.jpg": "partner unusable",
        "f-003-01.jpg": "not an image",
        "F2-003-01-sz1.jpg": "partner unusable",
        "m-004-01.jpg": "duplicate identity key",
        "m-004-01.png": "duplicate identity key",
        "M2-004-01-sz1.jpg": "unpaired",
        "F2-099-01-sz1.jpg": "unpaired",
        "f-013-01.png": "corrupt image",
        "f-013-01-sz1.jpg": "partner unusable",
        "m-014-01-sz1.png": "too large",
        "m-014-01.jpg": "partner unusable",
    }
    expected |= {name: "duplicate identity key" for name in ("f-005-01.jpg", "F2-005-01-sz1.jpg", "f-005-01-sz1.jpg")}
    return expected


@pytest.fixture(scope="module")
def faulty_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("faulty")
    return root, write_faulty_dataset(root)


def test_unusable_files_are_skipped_by_name_and_training_goes_on(
    faulty_data: tuple[Path, dict[str, str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, expected = faulty_data
    run = tmp_path / "run"
    cfg = compose_train(run, "data=cuhk", f"data.root={root}", "data.image_size=32", "data.batch_size=4", "data.min_pairs=5", *QUIET, "trainer.max_epochs=1")
    summary = train(cfg)
    skipped = json.loads((run / "skipped.json").read_text())
    # f-005-01 leaks across splits: its train photo, train sketch and test photo+sketch are all named (4 entries, 3 names)
    assert {Path(entry["file"]).name: entry["problem"] for entry in skipped} == expected
    assert len(skipped) == len(expected) + 1
    assert all(entry["detail"] for entry in skipped)
    assert summary["status"] == "completed" and summary["num_skipped_files"] == len(skipped)
    assert summary["num_train"] + summary["num_val"] == 7 and summary["num_test"] == 4  # the convertible images are used
    assert "m-014-01-sz1.png: too large: 6000x6000 = 36000000 pixels is over data.max_image_pixels=25000000" in caplog.text
    assert all(name in caplog.text for name in expected)


def test_too_few_usable_pairs_refuse_to_start_naming_counts_and_reasons(faulty_data: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = faulty_data
    result = run_cli("face2sketch.train", "data=cuhk", f"data.root={root}", "data.min_pairs=12", f"paths.output_root={tmp_path}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines[-1].startswith("face2sketch: error: only 11 usable pairs in FolderSource(") and "fewer than data.min_pairs=12" in lines[-1]
    assert "skipped 18 files: 6 duplicate identity key (" in lines[-1] and "2 corrupt image (f-001-01.jpg, f-013-01.png)" in lines[-1]
    assert "1 too large (m-014-01-sz1.png)" in lines[-1] and "1 empty file (M2-002-01-sz1.jpg)" in lines[-1]
    assert not list(tmp_path.glob("train/runs/*")), "a refused run leaves no folder"


def test_a_split_left_without_usable_pairs_is_named(tmp_path: Path) -> None:
    from face2sketch.data import FolderPairsDataModule

    write_synthetic_dataset(tmp_path, num_train=4, num_test=2, layout="cuhk_release")
    for photo in (tmp_path / "Testing photo").iterdir():
        photo.write_bytes(b"")
    with pytest.raises(DataError, match="no usable pair is left in the test folders"):
        FolderPairsDataModule(root=str(tmp_path), image_size=16, min_pairs=1).setup()


def test_convertible_images_are_converted_not_clipped(tmp_path: Path) -> None:
    wide = np.array([[0, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    assert Image.open(tmp_path / "wide.png").mode.startswith("I")
    assert decode_image(tmp_path / "wide.png", "L").tolist() == [[0, 128, 255]]
    transparent = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    transparent.putpixel((1, 0), (10, 20, 30, 255))
    transparent.save(tmp_path / "alpha.png")
    assert decode_image(tmp_path / "alpha.png", "RGB").tolist() == [[[255, 255, 255], [10, 20, 30]]]
    palette = Image.new("RGB", (1, 1), (200, 40, 40)).convert("P")
    palette.save(tmp_path / "palette.png")
    assert decode_image(tmp_path / "palette.png", "RGB").shape == (1, 1, 3)
    write_png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(UnusableImage, match="too large"):
        decode_image(tmp_path / "bomb.png", "L")


# -- 2. bad settings are refused before any data is read ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 is not allowed: use a whole number >= 1"),
        (["trainer.max_epochs=-1"], "trainer.max_epochs=-1 is not allowed: use a whole number >= 1"),
        (["data.batch_size=0"], "data.batch_size=0 is not allowed: use a whole number >= 1"),
        (["data.eval_batch_size=-2"], "data.eval_batch_size=-2 is not allowed"),
        (["model.optimizer.lr=-1"], "model.optimizer.lr=-1 is not allowed: use a learning rate > 0"),
        (["model.optimizer.lr=0"], "model.optimizer.lr=0 is not allowed: use a learning rate > 0"),
        (["model=pix2pix", "model.discriminator_optimizer.lr=-0.1"], "model.discriminator_optimizer.lr=-0.1 is not allowed"),
        (["model=vgg_ae", "model.finetune_lr=0"], "model.finetune_lr=0 is not allowed: use a learning rate > 0"),
        (["data.num_workers=-3"], "data.num_workers=-3 is not allowed: use a whole number >= 0"),
        (["data.val_fraction=1.5"], "data.val_fraction=1.5 is not allowed: use a number from 0 (no validation: the final weights are tested) to 1, 1 excluded"),
        (["data.val_fraction=-0.1"], "data.val_fraction=-0.1 is not allowed"),
        (["data.val_fraction=1"], "data.val_fraction=1 is not allowed"),
        (["data.test_fraction=1"], "data.test_fraction=1 is not allowed"),
        (
            ["callbacks.last_checkpoint.every_minutes=-1"],
            "callbacks.last_checkpoint.every_minutes=-1 is not allowed: use a number of minutes >= 0 (0: every epoch)",
        ),
        (["data.image_size=30"], "data.image_size=30 is not allowed for conv_ae: use a multiple of 8 of at least 8"),
        (["model=pix2pix", "data.image_size=24"], "data.image_size=24 is not allowed for pix2pix: use a multiple of 16 of at least 16"),
        (["model=pix2pix_paper", "data.image_size=16"], "data.image_size=16 is not allowed for pix2pix_paper: use a multiple of 4 of at least 24"),
        (["model.head=softmax"], "model.head=softmax is not allowed: use linear or sigmoid"),
        (["model=vgg_ae", "data.image_size=100"], "data.image_size=100 is not allowed for vgg_ae: use a multiple of 32 of at least 32"),
        (["data.image_size=4"], "data.image_size=4 is not allowed: use a whole number >= 8"),
        (["model.loss=l2"], "model.loss=l2 is not allowed: use one of mse, bce"),
        (["data.split=leaky"], "data.split=leaky is not allowed: use one of standard, paper"),
        (["data.interpolation=nearest"], "data.interpolation=nearest is not allowed"),
        (["data.min_pairs=0"], "data.min_pairs=0 is not allowed: use a whole number >= 1"),
        (["direction.sketch_channels=2"], "direction.sketch_channels=2 is not allowed: use 1 or 3"),
        (["seed=-1"], "seed=-1 is not allowed: use a whole number >= 0"),
        (["trainer.limit_train_batches=0"], "trainer.limit_train_batches=0 is not allowed"),
        (["model=vgg_ae", "trainer.max_epochs=10"], "model.finetune_epochs=10 is not allowed with trainer.max_epochs=10: use fewer"),
        (["model=pix2pix", "model.lr_constant_epochs=6"], "model.lr_constant_epochs=6 is not allowed with trainer.max_epochs=6"),
        (["cpu_threads=0"], "cpu_threads=0 is not allowed: use a whole number >= 1, or null (torch's default)"),
        (["compile_mode=fast"], "compile_mode=fast is not allowed: use one of default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs"),
    ],
)
def test_bad_settings_are_named_with_value_and_what_is_allowed(tmp_path: Path, overrides: list[str], message: str) -> None:
    cfg = compose_train(tmp_path / "run", "data=synthetic", *overrides)
    with pytest.raises(ConfigError) as err:
        validate_settings(cfg)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize("model", ["sparse_ae", "conv_ae", "pix2pix", "vgg_ae"])
def test_every_model_default_and_the_experiments_pass_the_check(tmp_path: Path, model: str) -> None:
    for extra in ([], ["experiment=demo"], ["experiment=paper_cpu"], ["debug=fdr"]):
        validate_settings(compose_train(tmp_path / "run", f"model={model}", *extra))


def test_a_bad_setting_is_one_line_exit_2_before_the_data_is_read(tmp_path: Path) -> None:
    result = run_cli("face2sketch.train", "data=cuhk", f"data.root={tmp_path / 'absent'}", "data.batch_size=0", f"paths.output_root={tmp_path}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["face2sketch: error: data.batch_size=0 is not allowed: use a whole number >= 1"]
    assert not list(tmp_path.glob("train/runs/*"))


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


# -- 6. outputs --------------------------------------------------------------------------------------------------------
def test_an_unwritable_output_folder_is_named_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="the output folder .* cannot be written .*'.*a_file' is a file"):
        check_writable(blocker / "runs" / "x")
    result = run_cli("face2sketch.train", *TINY, "debug=fdr", f"paths.output_root={blocker / 'out'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"face2sketch: error: the output folder '{blocker}/out/train/runs/")


def test_a_failed_write_leaves_the_previous_output_whole(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json_atomic(target, {"ssim": 0.5})
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        partial.write_text('{"ssim": 0.')
        raise RuntimeError("disk full")
    assert json.loads(target.read_text()) == {"ssim": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"], "no temporary file is left behind"


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
