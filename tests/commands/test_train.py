"""The train command as a user runs it: --help and --cfg job, one-line errors for missing data, a wrong checkpoint,
bad settings, an unwritable folder, too few pairs or missing VGG weights, and SIGTERM from outside."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from face2sketch.core.errors import ConfigError
from face2sketch.train import train
from face2sketch.training.validation import check_writable
from tests.conftest import compose_train, run_cli
from tests.test_train import FAST
from tests.training.test_callbacks import TINY


# -- SIGTERM from outside ----------------------------------------------------------------------------------------------
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


def test_missing_vgg_weights_on_the_command_line_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    result = run_cli(
        "face2sketch.train", "model=vgg_ae", "model.download=false", "data=synthetic", "data.image_size=32", f"paths.output_root={tmp_path / 'out'}"
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1 and "vgg16-397923af.pth" in lines[0], result.stderr


def test_too_few_usable_pairs_refuse_to_start_naming_counts_and_reasons(faulty_data: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = faulty_data
    result = run_cli("face2sketch.train", "data=cuhk", f"data.root={root}", "data.min_pairs=12", f"paths.output_root={tmp_path}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines[-1].startswith("face2sketch: error: only 11 usable pairs in FolderSource(") and "fewer than data.min_pairs=12" in lines[-1]
    assert "skipped 18 files: 6 duplicate identity key (" in lines[-1] and "2 corrupt image (f-001-01.jpg, f-013-01.png)" in lines[-1]
    assert "1 too large (m-014-01-sz1.png)" in lines[-1] and "1 empty file (M2-002-01-sz1.jpg)" in lines[-1]
    assert not list(tmp_path.glob("train/runs/*")), "a refused run leaves no folder"


def test_missing_data_is_one_line_and_non_zero_exit(tmp_path: Path) -> None:
    result = run_cli("face2sketch.train", "data=cuhk", f"data.root={tmp_path / 'absent'}", f"paths.output_root={tmp_path / 'out'}")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("face2sketch: error: data root"), result.stderr
    assert "data=synthetic" in lines[0] and "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("train/runs/*")), "no half-written run folder is left behind"


def test_wrong_checkpoint_is_one_line(tmp_path: Path) -> None:
    first = compose_train(tmp_path / "first", *FAST, "debug=limit")
    train(first)
    ckpt = tmp_path / "first" / "checkpoints" / "last.ckpt"
    result = run_cli("face2sketch.train", *FAST, "model.widths=[8,8,8]", f"ckpt_path={ckpt}", f"paths.output_root={tmp_path / 'out'}")
    assert result.returncode != 0 and "different model" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("face2sketch.train", *FAST, f"ckpt_path={tmp_path / 'nope.ckpt'}", f"paths.output_root={tmp_path / 'out'}")
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_help_and_cfg_job_show_the_composed_config() -> None:
    help_result = run_cli("face2sketch.train", "--help")
    assert help_result.returncode == 0 and "model: conv_ae" in help_result.stdout and "direction: f2sk, sk2f" in help_result.stdout
    cfg_result = run_cli("face2sketch.train", "--cfg", "job", "direction=sk2f")
    assert cfg_result.returncode == 0 and "name: sk2f" in cfg_result.stdout and "_target_: face2sketch.models.ConvAE" in cfg_result.stdout


# -- settings as the train command meets them ----------------------------------------------------------------------
def test_a_bad_setting_is_one_line_exit_2_before_the_data_is_read(tmp_path: Path) -> None:
    result = run_cli("face2sketch.train", "data=cuhk", f"data.root={tmp_path / 'absent'}", "data.batch_size=0", f"paths.output_root={tmp_path}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["face2sketch: error: data.batch_size=0 is not allowed: use a whole number >= 1"]
    assert not list(tmp_path.glob("train/runs/*"))


def test_an_unwritable_output_folder_is_named_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="the output folder .* cannot be written .*'.*a_file' is a file"):
        check_writable(blocker / "runs" / "x")
    result = run_cli("face2sketch.train", *TINY, "debug=fdr", f"paths.output_root={blocker / 'out'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"face2sketch: error: the output folder '{blocker}/out/train/runs/")
